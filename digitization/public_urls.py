"""The public open-data page, under /open-data/ (no login)."""

from django.urls import path

from digitization import views

app_name = "open_data"

urlpatterns = [
    path("", views.open_data_view, name="index"),
]
