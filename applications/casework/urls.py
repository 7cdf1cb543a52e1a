from django.urls import path

from applications.casework import retention_views, views

app_name = "casework"

urlpatterns = [
    path("", views.queue_view, name="queue"),
    path("claim-next/", views.claim_next_view, name="claim_next"),
    path("assign/", views.bulk_assign_view, name="bulk_assign"),
    path("retention/", retention_views.retention_view, name="retention"),
    path("holds/<int:pk>/release/", retention_views.hold_release_view, name="hold_release"),
    path("<int:pk>/", views.case_view, name="case"),
    path("<int:pk>/act/", views.act_view, name="act"),
    path("<int:pk>/notes/", views.note_view, name="note"),
    path("<int:pk>/assign/", views.assign_view, name="assign"),
    path("<int:pk>/hold/", retention_views.hold_place_view, name="hold_place"),
    path("<int:pk>/attachments/<str:public_id>/", views.attachment_view, name="attachment"),
    path("<int:pk>/documents/<int:document_id>/", views.document_view, name="document"),
]
