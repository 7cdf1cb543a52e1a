"""Routes of the payments API, mounted under /api/v1/ in config/urls.py."""

from django.urls import path, re_path

from payments.api import views

PUBLIC_ID = r"(?P<public_id>[0-9a-f]{32})"

urlpatterns = [
    path("payments/", views.PaymentListView.as_view(), name="api-payment-list"),
    path(
        "payments/webhooks/<slug:provider>/",
        views.WebhookView.as_view(),
        name="api-payment-webhook",
    ),
    path(
        "payments/reconciliation/issues/",
        views.ReconciliationIssueListView.as_view(),
        name="api-payment-reconciliation-issues",
    ),
    path(
        "payments/reconciliation/runs/",
        views.ReconciliationRunListView.as_view(),
        name="api-payment-reconciliation-runs",
    ),
    re_path(
        rf"^payments/{PUBLIC_ID}/$", views.PaymentDetailView.as_view(), name="api-payment-detail"
    ),
    re_path(
        rf"^payments/{PUBLIC_ID}/refresh/$",
        views.PaymentRefreshView.as_view(),
        name="api-payment-refresh",
    ),
    re_path(
        rf"^payments/{PUBLIC_ID}/cancel/$",
        views.PaymentCancelView.as_view(),
        name="api-payment-cancel",
    ),
    re_path(
        rf"^payments/{PUBLIC_ID}/refunds/$", views.RefundView.as_view(), name="api-payment-refunds"
    ),
]
