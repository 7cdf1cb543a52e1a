"""Routes of the casework API (staff), mounted under /api/v1/ in config/urls.py."""

from django.urls import path

from applications.casework.api import retention, views

urlpatterns = [
    path("queue/", views.QueueView.as_view(), name="api-queue"),
    path("queue/claim-next/", views.ClaimNextView.as_view(), name="api-queue-claim-next"),
    path("queue/assign/", views.BulkAssignView.as_view(), name="api-queue-bulk-assign"),
    path("queue/<int:pk>/", views.CaseView.as_view(), name="api-queue-case"),
    path("queue/<int:pk>/actions/", views.ActionView.as_view(), name="api-queue-action"),
    path("queue/<int:pk>/assign/", views.AssignView.as_view(), name="api-queue-assign"),
    path("queue/<int:pk>/notes/", views.NotesView.as_view(), name="api-queue-notes"),
    path("queue/<int:pk>/holds/", retention.CaseHoldsView.as_view(), name="api-queue-holds"),
    path(
        "queue/<int:pk>/attachments/<str:public_id>/",
        views.AttachmentView.as_view(),
        name="api-queue-attachment",
    ),
    path(
        "queue/<int:pk>/documents/<int:document_id>/",
        views.DocumentView.as_view(),
        name="api-queue-document",
    ),
    path("retention/", retention.RetentionView.as_view(), name="api-retention"),
    path(
        "retention/holds/<int:pk>/release/",
        retention.HoldReleaseView.as_view(),
        name="api-retention-hold-release",
    ),
]
