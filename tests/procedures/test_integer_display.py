"""How a whole number reads: an integer field's `display` (year, code, quantity,
amount) decides it wherever the answer is shown, in both languages; the open
format and the builder carry the setting."""

import json
from pathlib import Path

import pytest
from django.utils import translation

from procedures.builder.forms.fields import FieldForm
from procedures.form_engine.definition import document_problems, form_problems
from procedures.form_engine.html import answer_rows, display_value

DEMO = Path(__file__).resolve().parents[2] / "procedures" / "demo"


def _integer(display=None) -> dict:
    spec = {"key": "n", "type": "integer", "label": {"ja": "数", "en": "Number"}}
    if display is not None:
        spec["display"] = display
    return spec


@pytest.mark.parametrize(
    ("display", "language", "shown"),
    [
        ("year", "ja", "2025"),
        ("year", "en", "2025"),
        ("code", "ja", "12345"),
        ("code", "en", "12345"),
        ("quantity", "ja", "12,345"),
        ("quantity", "en", "12,345"),
        ("amount", "ja", "12,345円"),
        ("amount", "en", "12,345 yen"),
        (None, "ja", "12,345"),  # absent: a quantity, as before
        (None, "en", "12,345"),
    ],
)
def test_an_integer_answer_reads_as_its_display_says(display, language, shown):
    value = 2025 if display == "year" else 12345
    with translation.override(language):
        assert display_value(_integer(display), value) == shown


def test_a_year_has_no_separator_even_in_a_repeating_group():
    group = {
        "key": "years",
        "type": "group",
        "label": {"ja": "年度", "en": "Years"},
        "fields": [_integer("year")],
    }
    step = {"key": "s", "title": {"ja": "s"}, "fields": [group]}
    rows = answer_rows({"steps": [step]}, step, {"years": [{"n": 2024}, {"n": 2025}]})
    assert [item[0].value for item in rows[0].items] == ["2024", "2025"]


def test_the_format_refuses_an_unknown_display():
    document = json.loads((DEMO / "tax-certificate-request.json").read_text(encoding="utf-8"))
    fields = document["version"]["form"]["steps"][1]["fields"]
    index = next(i for i, spec in enumerate(fields) if spec["key"] == "fiscal_year")
    fields[index]["display"] = "roman"
    problems = document_problems(document)
    assert [problem.path for problem in problems] == [
        f"version.form.steps.1.fields.{index}.display"
    ]


def test_only_integer_fields_have_a_display():
    step = {
        "key": "s",
        "title": {"ja": "s"},
        "fields": [
            {"key": "rate", "type": "decimal", "label": {"ja": "率"}, "display": "year"},
            _integer("year"),
        ],
    }
    with translation.override("en"):
        problems = form_problems({"steps": [step]}, root="form")
    assert [(problem.path, problem.message) for problem in problems] == [
        ("form.steps.0.fields.0.display", "Only whole-number fields have a display format.")
    ]


def test_the_demo_years_and_amounts_say_so():
    """The demo procedures set the display of their years and amounts, and stay valid."""
    displays = {}
    for path in sorted(DEMO.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document_problems(document) == [], path.name
        for step in document["version"]["form"]["steps"]:
            for spec in step["fields"]:
                if spec["type"] == "integer":
                    displays[spec["key"]] = spec.get("display", "quantity")
    assert displays["fiscal_year"] == "year"
    assert displays["copies"] == "quantity"
    assert displays["capital"] == "amount"
    assert displays["requested_amount"] == "amount"


def _field_form(data: dict) -> FieldForm:
    values = {"key": "fiscal_year", "label_ja": "年度", **data}
    return FieldForm(values, condition_fields=[])


def test_the_builder_sets_the_display_of_an_integer_field():
    form = _field_form({"type": "integer", "display": "year"})
    assert form.is_valid(), form.errors
    assert form.to_spec()["display"] == "year"
    # The default is left out of the definition, as other unset settings are.
    default = _field_form({"type": "integer", "display": ""})
    assert default.is_valid(), default.errors
    assert "display" not in default.to_spec()
    # An edited field shows its display chosen.
    assert FieldForm.initial_from(_integer("amount"))["display"] == "amount"


def test_the_builder_refuses_a_display_on_another_type():
    with translation.override("en"):
        form = _field_form({"type": "decimal", "display": "year"})
        assert not form.is_valid()
        assert "does not apply" in form.errors["display"][0]
