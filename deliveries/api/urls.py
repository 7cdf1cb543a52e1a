from django.urls import path

from deliveries.api import views

urlpatterns = [
    path(
        "manage/procedures/<slug:code>/delivery-targets/",
        views.TargetListView.as_view(),
        name="api-delivery-target-list",
    ),
    path(
        "manage/procedures/<slug:code>/delivery-targets/<int:pk>/",
        views.TargetDetailView.as_view(),
        name="api-delivery-target-detail",
    ),
    path(
        "manage/procedures/<slug:code>/delivery-targets/<int:pk>/rotate-secret/",
        views.TargetSecretView.as_view(),
        name="api-delivery-target-rotate-secret",
    ),
    path("deliveries/", views.DeliveryListView.as_view(), name="api-delivery-list"),
    path(
        "deliveries/<int:pk>/replay/",
        views.DeliveryReplayView.as_view(),
        name="api-delivery-replay",
    ),
]
