from django.urls import path

from applications import views

app_name = "applications"

urlpatterns = [
    path("", views.list_view, name="list"),
    path("start/<slug:code>/", views.start_view, name="start"),
    path("my-data/", views.my_data_view, name="my_data"),
    path("close-account/", views.close_account_view, name="close_account"),
    path("<int:pk>/", views.detail_view, name="detail"),
    path("<int:pk>/steps/<slug:step_key>/", views.step_view, name="step"),
    path("<int:pk>/check/", views.check_view, name="check"),
    path("<int:pk>/cosigners/", views.cosigners_view, name="cosigners"),
    path("<int:pk>/cosigners/<slug:role>/", views.cosigner_replace_view, name="cosigner_replace"),
    path("<int:pk>/attachments/<str:public_id>/", views.attachment_view, name="attachment"),
    path("<int:pk>/documents/<int:document_id>/", views.document_view, name="document"),
    path("<int:pk>/withdraw/", views.withdraw_view, name="withdraw"),
    path("<int:pk>/delete/", views.discard_view, name="discard"),
]
