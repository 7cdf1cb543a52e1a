from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("sign-up/", views.sign_up_view, name="sign_up"),
    path("sign-up/done/", views.sign_up_done_view, name="sign_up_done"),
    path("verify/resend/", views.resend_verification_view, name="resend_verification"),
    path("verify/<str:uidb64>/<str:token>/", views.verify_email_view, name="verify_email"),
    path("2fa/", views.two_factor_view, name="two_factor"),
    path("language/", views.set_language_view, name="set_language"),
    path("profile/", views.profile_view, name="profile"),
    path("notifications/", views.notifications_view, name="notifications"),
    path("identity/", include("accounts.identity.urls")),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]
