"""The auditors' and departments' pages, under /digitization/."""

from django.urls import path

from digitization import views

app_name = "digitization"

urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("organizations/<slug:code>/", views.dashboard_view, name="organization"),
    path("gap/", views.gap_view, name="gap"),
    path("report.pdf", views.report_pdf_view, name="report_pdf"),
    path("inventory/", views.inventory_view, name="inventory"),
    path("inventory/new/", views.entry_create_view, name="entry_create"),
    path("inventory/import/", views.inventory_import_view, name="inventory_import"),
    path("inventory/<slug:code>/", views.entry_view, name="entry"),
    path("inventory/<slug:code>/edit/", views.entry_edit_view, name="entry_edit"),
    path("reports/", views.reports_view, name="reports"),
    path("templates/<slug:kind>.csv", views.csv_template_view, name="csv_template"),
    path("exemptions/", views.exemptions_view, name="exemptions"),
    path("exemptions/<int:pk>/", views.exemption_decide_view, name="exemption"),
    path("audit-log/", views.audit_log_view, name="audit_log"),
    path("audit-log/verify/", views.audit_log_verify_view, name="audit_log_verify"),
]
