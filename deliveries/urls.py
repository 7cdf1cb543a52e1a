from django.urls import path

from deliveries import views

app_name = "deliveries"

urlpatterns = [
    path("files/<str:token>/", views.file_view, name="file"),
    path("procedures/<slug:code>/", views.targets_view, name="targets"),
    path("procedures/<slug:code>/targets/<int:pk>/", views.target_view, name="target"),
    path("procedures/<slug:code>/targets/<int:pk>/rotate/", views.rotate_view, name="rotate"),
    path("dead-letters/", views.dead_letters_view, name="dead_letters"),
    path("<int:pk>/replay/", views.replay_view, name="replay"),
]
