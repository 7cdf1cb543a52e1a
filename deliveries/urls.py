from django.urls import path

from deliveries import views

app_name = "deliveries"

urlpatterns = [
    path("files/<str:token>/", views.file_view, name="file"),
]
