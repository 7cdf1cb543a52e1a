from django.urls import path

from digitization.api import views

urlpatterns = [
    path("digitization/summary/", views.SummaryView.as_view(), name="api-digitization-summary"),
    path(
        "digitization/departments/",
        views.DepartmentListView.as_view(),
        name="api-digitization-departments",
    ),
    path(
        "digitization/departments.csv",
        views.DepartmentCSVView.as_view(),
        name="api-digitization-departments-csv",
    ),
    path(
        "digitization/procedures/",
        views.ProcedureListView.as_view(),
        name="api-digitization-procedures",
    ),
    path(
        "digitization/procedures.csv",
        views.ProcedureCSVView.as_view(),
        name="api-digitization-procedures-csv",
    ),
    path(
        "digitization/procedures.json",
        views.ProcedureJSONView.as_view(),
        name="api-digitization-procedures-json",
    ),
    path(
        "digitization/procedures/import/",
        views.ProcedureImportView.as_view(),
        name="api-digitization-procedures-import",
    ),
    path(
        "digitization/procedures/<slug:code>/",
        views.ProcedureDetailView.as_view(),
        name="api-digitization-procedure",
    ),
    path("digitization/gap/", views.GapView.as_view(), name="api-digitization-gap"),
    path(
        "digitization/snapshots/",
        views.SnapshotListView.as_view(),
        name="api-digitization-snapshots",
    ),
    path(
        "digitization/exemptions/",
        views.ExemptionReviewView.as_view(),
        name="api-digitization-exemptions",
    ),
    path(
        "digitization/case-reports/",
        views.CaseReportListView.as_view(),
        name="api-digitization-case-reports",
    ),
    path(
        "digitization/case-reports/import/",
        views.CaseReportImportView.as_view(),
        name="api-digitization-case-reports-import",
    ),
    path(
        "digitization/audit-log/", views.AuditLogView.as_view(), name="api-digitization-audit-log"
    ),
    path(
        "digitization/audit-log/verification/",
        views.AuditVerificationView.as_view(),
        name="api-digitization-audit-verification",
    ),
    path("open-data/summary/", views.OpenSummaryView.as_view(), name="api-open-data-summary"),
    path(
        "open-data/procedures/",
        views.OpenProcedureListView.as_view(),
        name="api-open-data-procedures",
    ),
    path(
        "open-data/procedures.csv",
        views.OpenProcedureCSVView.as_view(),
        name="api-open-data-procedures-csv",
    ),
    path(
        "open-data/departments/",
        views.OpenDepartmentListView.as_view(),
        name="api-open-data-departments",
    ),
]
