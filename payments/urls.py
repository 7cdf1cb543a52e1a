"""The payment pages under /payments/ (config/urls.py)."""

from django.urls import path, re_path

from payments import sandbox_views as views_sandbox
from payments import views

app_name = "payments"

PUBLIC_ID = r"(?P<public_id>[0-9a-f]{32})"

urlpatterns = [
    path("applications/<int:application_id>/", views.application_view, name="application"),
    path("reconciliation/", views.reconciliation_view, name="reconciliation"),
    re_path(rf"^{PUBLIC_ID}/$", views.detail_view, name="detail"),
    re_path(rf"^{PUBLIC_ID}/return/$", views.return_view, name="return"),
    re_path(rf"^{PUBLIC_ID}/refresh/$", views.refresh_view, name="refresh"),
    re_path(rf"^{PUBLIC_ID}/cancel/$", views.cancel_view, name="cancel"),
    re_path(rf"^{PUBLIC_ID}/refund/$", views.refund_view, name="refund"),
]

# The sandbox gateway's pages; config/urls.py mounts them only with the sandbox on.
sandbox_urlpatterns = [
    path("checkout/<slug:reference>/", views_sandbox.checkout_view, name="checkout"),
    path("deferred/<slug:reference>/", views_sandbox.deferred_view, name="deferred"),
]
