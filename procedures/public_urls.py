from django.urls import path

from procedures import views

app_name = "catalogue"

urlpatterns = [
    path("", views.catalogue_view, name="list"),
    path("<slug:code>/", views.procedure_view, name="detail"),
]
