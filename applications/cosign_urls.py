"""The co-signer's pages, under /cosign/ (applications.cosign_views)."""

from django.urls import path

from applications import cosign_views

app_name = "cosign"

urlpatterns = [
    path("requests/<slug:request_id>/", cosign_views.request_view, name="request"),
    path("requests/<slug:request_id>/sign/", cosign_views.sign_view, name="sign"),
    path("requests/<slug:request_id>/decline/", cosign_views.decline_view, name="decline"),
    # Last: a token is letters, digits, "-" and "_" (never "requests/...").
    path("<slug:token>/", cosign_views.link_view, name="link"),
]
