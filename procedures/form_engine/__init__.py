"""The form engine: one JSON form format, one validator for pages and API alike."""
