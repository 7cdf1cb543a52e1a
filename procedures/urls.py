"""The procedure builder pages, under /manage/procedures/."""

from django.urls import path

from procedures.builder.views import (
    cosigners,
    editor,
    fields,
    preview,
    previews,
    procedure,
    publish,
    sections,
    steps,
)

app_name = "procedures"

# Fixed words after a code contain a hyphen ("add-step", "check-answers"), so they
# never clash with a step or field key (letters, digits and underscores only).

urlpatterns = [
    path("", procedure.procedure_list_view, name="builder_list"),
    path("new/", procedure.procedure_create_view, name="create"),
    path("import/", procedure.procedure_import_view, name="import"),
    path("<slug:code>/", editor.editor_view, name="editor"),
    path("<slug:code>/draft/", procedure.draft_start_view, name="draft_start"),
    path("<slug:code>/details/", procedure.procedure_edit_view, name="details_edit"),
    path("<slug:code>/add-step/", steps.step_edit_view, name="step_add"),
    path("<slug:code>/steps/<slug:step_key>/", steps.step_edit_view, name="step_edit"),
    path("<slug:code>/steps/<slug:step_key>/move/", steps.step_move_view, name="step_move"),
    path("<slug:code>/steps/<slug:step_key>/remove/", steps.step_remove_view, name="step_remove"),
    path("<slug:code>/steps/<slug:step_key>/add-field/", fields.field_add_view, name="field_add"),
    path("<slug:code>/fields/<slug:field_key>/", fields.field_edit_view, name="field_edit"),
    path("<slug:code>/fields/<slug:field_key>/move/", fields.field_move_view, name="field_move"),
    path(
        "<slug:code>/fields/<slug:field_key>/remove/",
        fields.field_remove_view,
        name="field_remove",
    ),
    path(
        "<slug:code>/fields/<slug:group>/add-field/",
        fields.subfield_add_view,
        name="subfield_add",
    ),
    path(
        "<slug:code>/fields/<slug:group>/fields/<slug:field_key>/",
        fields.field_edit_view,
        name="subfield_edit",
    ),
    path(
        "<slug:code>/fields/<slug:group>/fields/<slug:field_key>/move/",
        fields.field_move_view,
        name="subfield_move",
    ),
    path(
        "<slug:code>/fields/<slug:group>/fields/<slug:field_key>/remove/",
        fields.field_remove_view,
        name="subfield_remove",
    ),
    path("<slug:code>/field-preview/", previews.field_preview_view, name="field_preview"),
    path("<slug:code>/fee/", sections.fee_edit_view, name="fee_edit"),
    path("<slug:code>/fee-example/", previews.fee_example_view, name="fee_example"),
    path("<slug:code>/workflow/", sections.workflow_edit_view, name="workflow_edit"),
    path("<slug:code>/cosigners/", cosigners.cosigners_edit_view, name="cosigners_edit"),
    path("<slug:code>/json/", sections.definition_json_view, name="json_edit"),
    path(
        "<slug:code>/exemptions/request/", publish.exemption_request_view, name="exemption_request"
    ),
    path("<slug:code>/export/", procedure.export_view, name="export"),
    path("<slug:code>/publish/", publish.publish_view, name="publish"),
    path("<slug:code>/retire/", procedure.retire_view, name="retire"),
    path("<slug:code>/preview/", preview.preview_start_view, name="preview"),
    path("<slug:code>/preview-reset/", preview.preview_reset_view, name="preview_reset"),
    path(
        "<slug:code>/preview/check-answers/",
        preview.preview_check_view,
        name="preview_check",
    ),
    path("<slug:code>/preview/<slug:step_key>/", preview.preview_step_view, name="preview_step"),
]
