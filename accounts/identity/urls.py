"""`urlpatterns`: the resident's pages, included by accounts/urls.py (so their names
are `accounts:identity`, ...). `sandbox_urlpatterns`: the test identity provider,
mounted by config/urls.py under IDENTITY_SANDBOX_PREFIX only when the sandbox is on."""

from django.urls import path

from accounts.identity import sandbox, views

urlpatterns = [
    path("", views.identity_view, name="identity"),
    path("start/", views.identity_start_view, name="identity_start"),
    path("callback/", views.identity_callback_view, name="identity_callback"),
]

sandbox_urlpatterns = [
    path(
        ".well-known/openid-configuration",
        sandbox.discovery_view,
        name="discovery",
    ),
    path("authorize/", sandbox.authorize_view, name="authorize"),
    path("token/", sandbox.token_view, name="token"),
    path("userinfo/", sandbox.userinfo_view, name="userinfo"),
    path("jwks/", sandbox.jwks_view, name="jwks"),
]
