"""What procedures announce to the apps above it (core.hooks)."""

from core.hooks import Hook

exchange_exported = Hook(
    "procedures.exchange_exported",
    "A procedure is being exported in the exchange format (procedure=, document=): "
    "listeners add the members they own to `document` (deliveries adds "
    '"deliveries", its targets without secrets).',
)

exchange_imported = Hook(
    "procedures.exchange_imported",
    "An exchange document was imported (actor=, procedure=, document=), inside the "
    "import's transaction, after the draft was written: listeners apply the members "
    "they own and raise DefinitionInvalid (with each problem's path) to refuse the "
    "whole import.",
)
