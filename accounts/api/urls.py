from django.urls import path

from accounts.api import views

urlpatterns = [
    path("auth/token/", views.TokenObtainView.as_view(), name="api-token-obtain"),
    path("auth/tokens/", views.TokenListView.as_view(), name="api-token-list"),
    path("auth/tokens/<str:token_key>/", views.TokenRevokeView.as_view(), name="api-token-revoke"),
    path("auth/me/", views.MeView.as_view(), name="api-me"),
    path("auth/identity/", views.IdentityStatusView.as_view(), name="api-identity"),
]
