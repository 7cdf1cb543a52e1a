"""The procedure builder pages, under /manage/procedures/."""

from django.urls import path

from procedures import builder_views as views

app_name = "procedures"

# Fixed words after a code contain a hyphen ("add-step", "check-answers"), so they
# never clash with a step or field key (letters, digits and underscores only).

urlpatterns = [
    path("", views.procedure_list_view, name="builder_list"),
    path("new/", views.procedure_create_view, name="create"),
    path("import/", views.procedure_import_view, name="import"),
    path("<slug:code>/", views.editor_view, name="editor"),
    path("<slug:code>/draft/", views.draft_start_view, name="draft_start"),
    path("<slug:code>/details/", views.procedure_edit_view, name="details_edit"),
    path("<slug:code>/add-step/", views.step_edit_view, name="step_add"),
    path("<slug:code>/steps/<slug:step_key>/", views.step_edit_view, name="step_edit"),
    path("<slug:code>/steps/<slug:step_key>/move/", views.step_move_view, name="step_move"),
    path("<slug:code>/steps/<slug:step_key>/remove/", views.step_remove_view, name="step_remove"),
    path("<slug:code>/steps/<slug:step_key>/add-field/", views.field_add_view, name="field_add"),
    path("<slug:code>/fields/<slug:field_key>/", views.field_edit_view, name="field_edit"),
    path("<slug:code>/fields/<slug:field_key>/move/", views.field_move_view, name="field_move"),
    path(
        "<slug:code>/fields/<slug:field_key>/remove/",
        views.field_remove_view,
        name="field_remove",
    ),
    path(
        "<slug:code>/fields/<slug:group>/add-field/",
        views.subfield_add_view,
        name="subfield_add",
    ),
    path(
        "<slug:code>/fields/<slug:group>/fields/<slug:field_key>/",
        views.field_edit_view,
        name="subfield_edit",
    ),
    path(
        "<slug:code>/fields/<slug:group>/fields/<slug:field_key>/move/",
        views.field_move_view,
        name="subfield_move",
    ),
    path(
        "<slug:code>/fields/<slug:group>/fields/<slug:field_key>/remove/",
        views.field_remove_view,
        name="subfield_remove",
    ),
    path("<slug:code>/fee/", views.fee_edit_view, name="fee_edit"),
    path("<slug:code>/workflow/", views.workflow_edit_view, name="workflow_edit"),
    path("<slug:code>/json/", views.definition_json_view, name="json_edit"),
    path("<slug:code>/exemptions/request/", views.exemption_request_view, name="exemption_request"),
    path("<slug:code>/export/", views.export_view, name="export"),
    path("<slug:code>/publish/", views.publish_view, name="publish"),
    path("<slug:code>/retire/", views.retire_view, name="retire"),
    path("<slug:code>/preview/", views.preview_start_view, name="preview"),
    path("<slug:code>/preview-reset/", views.preview_reset_view, name="preview_reset"),
    path(
        "<slug:code>/preview/check-answers/",
        views.preview_check_view,
        name="preview_check",
    ),
    path("<slug:code>/preview/<slug:step_key>/", views.preview_step_view, name="preview_step"),
]
