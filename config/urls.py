from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.identity.urls import sandbox_urlpatterns
from applications.verify_views import verify_view
from core import views as core_views
from payments.urls import sandbox_urlpatterns as payments_sandbox_urlpatterns

admin.site.site_header = "CityProc"

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("procedures.api.urls")),
    path("", include("applications.api.urls")),
    path("", include("applications.casework.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("digitization.api.urls")),
    path("", include("deliveries.api.urls")),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    # Browsers and crawlers ask for /favicon.ico whatever the page links: no 404 in the logs.
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("verify/", verify_view, name="verify"),
    path("accounts/", include("accounts.urls")),
    path("procedures/", include("procedures.public_urls")),
    path("applications/", include("applications.urls")),
    path("casework/", include("applications.casework.urls")),
    path("cosign/", include("applications.cosign_urls")),
    path("payments/", include("payments.urls")),
    path("manage/procedures/", include("procedures.urls")),
    path("digitization/", include("digitization.urls")),
    path("open-data/", include("digitization.public_urls")),
    path("deliveries/", include("deliveries.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

if settings.IDENTITY_SANDBOX_ENABLED:
    # The test identity provider lets anyone assert any identity: local and test only.
    urlpatterns.append(
        path(
            f"{settings.IDENTITY_SANDBOX_PREFIX.strip('/')}/",
            include((sandbox_urlpatterns, "sandbox_idp")),
        )
    )

if settings.PAYMENTS_SANDBOX_ENABLED:
    # The sandbox payment gateway's own pages: local and test only.
    urlpatterns.append(
        path(
            f"{settings.PAYMENTS_SANDBOX_PREFIX.strip('/')}/",
            include((payments_sandbox_urlpatterns, "payments_sandbox")),
        )
    )

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
