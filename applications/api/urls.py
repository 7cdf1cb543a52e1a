from django.urls import path

from applications.api import views

urlpatterns = [
    path("applications/", views.ApplicationListView.as_view(), name="api-application-list"),
    path(
        "applications/<int:pk>/",
        views.ApplicationDetailView.as_view(),
        name="api-application-detail",
    ),
    path(
        "applications/<int:pk>/steps/<slug:step_key>/",
        views.ApplicationStepView.as_view(),
        name="api-application-step",
    ),
    path(
        "applications/<int:pk>/check/",
        views.ApplicationCheckView.as_view(),
        name="api-application-check",
    ),
    path(
        "applications/<int:pk>/submit/",
        views.ApplicationSubmitView.as_view(),
        name="api-application-submit",
    ),
    path(
        "applications/<int:pk>/cosigners/",
        views.ApplicationCosignersView.as_view(),
        name="api-application-cosigners",
    ),
    path(
        "applications/<int:pk>/cosigners/<slug:role>/",
        views.ApplicationCosignerView.as_view(),
        name="api-application-cosigner",
    ),
    path(
        "applications/<int:pk>/withdraw/",
        views.ApplicationWithdrawView.as_view(),
        name="api-application-withdraw",
    ),
    path(
        "applications/<int:pk>/resubmit/",
        views.ApplicationResubmitView.as_view(),
        name="api-application-resubmit",
    ),
    path(
        "applications/<int:pk>/attachments/",
        views.ApplicationAttachmentListView.as_view(),
        name="api-application-attachments",
    ),
    path(
        "applications/<int:pk>/attachments/<str:public_id>/",
        views.ApplicationAttachmentView.as_view(),
        name="api-application-attachment",
    ),
    path(
        "applications/<int:pk>/documents/<int:document_id>/",
        views.ApplicationDocumentView.as_view(),
        name="api-application-document",
    ),
    path("me/data/", views.MyDataView.as_view(), name="api-my-data"),
]
