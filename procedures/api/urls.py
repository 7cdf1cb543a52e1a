from django.urls import path

from procedures.api import views

urlpatterns = [
    path("procedures/", views.CatalogueListView.as_view(), name="api-procedure-list"),
    path("postal-codes/<str:code>/", views.PostalCodeView.as_view(), name="api-postal-code"),
    path(
        "procedures/<slug:code>/", views.CatalogueDetailView.as_view(), name="api-procedure-detail"
    ),
    path(
        "schemas/procedure-definition.json",
        views.DefinitionSchemaView.as_view(),
        name="api-procedure-definition-schema",
    ),
    path(
        "manage/procedures/",
        views.ManagedProcedureListView.as_view(),
        name="api-managed-procedure-list",
    ),
    # Before the <code> routes; "import" is a reserved code (services.RESERVED_CODES).
    path(
        "manage/procedures/import/",
        views.ProcedureImportView.as_view(),
        name="api-procedure-import",
    ),
    path(
        "manage/procedures/<slug:code>/",
        views.ManagedProcedureDetailView.as_view(),
        name="api-managed-procedure-detail",
    ),
    path(
        "manage/procedures/<slug:code>/retire/",
        views.ProcedureRetireView.as_view(),
        name="api-procedure-retire",
    ),
    path(
        "manage/procedures/<slug:code>/export/",
        views.ProcedureExportView.as_view(),
        name="api-procedure-export",
    ),
    path(
        "manage/procedures/<slug:code>/versions/",
        views.VersionListView.as_view(),
        name="api-procedure-version-list",
    ),
    path(
        "manage/procedures/<slug:code>/versions/<int:number>/",
        views.VersionDetailView.as_view(),
        name="api-procedure-version-detail",
    ),
    path(
        "manage/procedures/<slug:code>/versions/<int:number>/policy/",
        views.VersionPolicyView.as_view(),
        name="api-procedure-version-policy",
    ),
    path(
        "manage/procedures/<slug:code>/versions/<int:number>/publish/",
        views.VersionPublishView.as_view(),
        name="api-procedure-version-publish",
    ),
    path(
        "manage/procedures/<slug:code>/exemptions/",
        views.ProcedureExemptionListView.as_view(),
        name="api-procedure-exemption-list",
    ),
    path("exemptions/", views.AuditorExemptionListView.as_view(), name="api-exemption-list"),
    path(
        "exemptions/<int:pk>/decide/",
        views.ExemptionDecideView.as_view(),
        name="api-exemption-decide",
    ),
]
