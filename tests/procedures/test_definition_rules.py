"""Checking procedure definitions: the JSON Schema first, then the rules a schema
cannot express. Every problem names the path of what is wrong."""

import copy

import pytest
from django.utils import translation

from procedures.form_engine import definition
from procedures.form_engine.definition import Problem


def field(key, kind, **attributes):
    return {"key": key, "type": kind, "label": {"ja": key}, **attributes}


def step(key, *fields, **attributes):
    return {"key": key, "title": {"ja": key}, "fields": list(fields), **attributes}


def options(*values):
    return [{"value": value, "label": {"ja": value}} for value in values]


def document(*steps, fee=None):
    return {
        "format": "cityproc.procedure-definition",
        "format_version": 1,
        "procedure": {
            "code": "dog-registration",
            "title": {"ja": "犬の登録", "en": "Dog registration"},
            "organization": "city",
            "category": "health",
            "filer": "individual",
            "identity_level": "email_verified",
            "processing_days": 5,
        },
        "version": {
            "form": {"steps": list(steps) or [step("main", field("name", "text"))]},
            "fee": fee or {"kind": "none"},
            "workflow": {"approval": "single"},
            "delivery": {"methods": ["electronic"]},
        },
    }


def problems_of(form_steps):
    return definition.form_problems({"steps": form_steps})


def paths(problems):
    return [problem.path for problem in problems]


@pytest.fixture
def english():
    with translation.override("en"):
        yield


# --- A sound definition --------------------------------------------------------------------


def sound_document():
    return document(
        step(
            "applicant",
            field("kind", "choice", required=True, choices=options("individual", "business")),
            field(
                "corporate",
                "corporate_number",
                condition={"field": "kind", "op": "equals", "value": "business"},
            ),
            field("dogs", "integer", min=1, max=5),
        ),
        step(
            "dogs_step",
            field(
                "dog_list",
                "group",
                min_items=1,
                max_items=5,
                fields=[
                    field("dog_name", "text", max_length=50),
                    field(
                        "breed",
                        "text",
                        required_if={"field": "dog_name", "op": "filled"},
                    ),
                    field("certificate", "file", paper_original_required=False),
                ],
            ),
            condition={"field": "dogs", "op": "gte", "value": 1},
        ),
        fee={"kind": "per_item", "item_field": "dogs", "unit_amount": 3000, "methods": ["card"]},
    )


def test_a_sound_definition_has_no_problems():
    assert definition.document_problems(sound_document()) == []


def test_a_problem_is_a_path_and_a_message():
    problem = Problem("version.form", "message")
    assert problem.as_dict() == {"path": "version.form", "message": "message"}


# --- Keys ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("english")
def test_step_keys_must_be_unique():
    problems = problems_of([step("same", field("a", "text")), step("same", field("b", "text"))])
    assert [problem.as_dict() for problem in problems] == [
        {"path": "version.form.steps.1.key", "message": "Step keys must be unique."}
    ]


@pytest.mark.usefixtures("english")
def test_field_keys_must_be_unique_across_steps():
    problems = problems_of([step("one", field("a", "text")), step("two", field("a", "integer"))])
    assert [problem.as_dict() for problem in problems] == [
        {
            "path": "version.form.steps.1.fields.0.key",
            "message": "Field keys must be unique in the whole form.",
        }
    ]


@pytest.mark.usefixtures("english")
def test_field_keys_must_be_unique_within_a_step():
    problems = problems_of([step("one", field("a", "text"), field("a", "text"))])
    assert paths(problems) == ["version.form.steps.0.fields.1.key"]


@pytest.mark.usefixtures("english")
def test_keys_inside_a_group_must_be_unique():
    problems = problems_of(
        [step("one", field("g", "group", fields=[field("x", "text"), field("x", "date")]))]
    )
    assert [problem.as_dict() for problem in problems] == [
        {
            "path": "version.form.steps.0.fields.0.fields.1.key",
            "message": "Field keys must be unique in the whole form.",
        }
    ]


@pytest.mark.usefixtures("english")
def test_a_group_field_key_may_not_repeat_a_top_level_key():
    # Inside an item a condition on such a key would read the top-level answer
    # whenever the sibling is blank.
    problems = problems_of(
        [
            step("one", field("note", "text")),
            step("two", field("g", "group", fields=[field("note", "text")])),
        ]
    )
    assert [problem.as_dict() for problem in problems] == [
        {
            "path": "version.form.steps.1.fields.0.fields.0.key",
            "message": "Field keys must be unique in the whole form.",
        }
    ]


def test_a_top_level_key_may_not_repeat_an_earlier_group_field_key():
    problems = problems_of(
        [
            step("one", field("g", "group", fields=[field("note", "text")])),
            step("two", field("note", "text")),
        ]
    )
    assert paths(problems) == ["version.form.steps.1.fields.0.key"]


def test_a_group_field_key_may_not_repeat_its_groups_key():
    problems = problems_of([step("one", field("g", "group", fields=[field("g", "text")]))])
    assert paths(problems) == ["version.form.steps.0.fields.0.fields.0.key"]


def test_fields_of_two_groups_may_not_share_a_key():
    problems = problems_of(
        [
            step(
                "one",
                field("g", "group", fields=[field("x", "text")]),
                field("h", "group", fields=[field("x", "text")]),
            )
        ]
    )
    assert paths(problems) == ["version.form.steps.0.fields.1.fields.0.key"]


# --- Conditions ----------------------------------------------------------------------------


@pytest.mark.usefixtures("english")
def test_a_condition_may_not_refer_to_a_later_field():
    problems = problems_of(
        [
            step(
                "one",
                field("a", "text", condition={"field": "b", "op": "filled"}),
                field("b", "text"),
            )
        ]
    )
    assert [problem.as_dict() for problem in problems] == [
        {
            "path": "version.form.steps.0.fields.0.condition",
            "message": "The condition refers to “b”, which is not a field before this one.",
        }
    ]


@pytest.mark.usefixtures("english")
def test_a_condition_may_not_refer_to_its_own_field():
    problems = problems_of(
        [step("one", field("a", "text", condition={"field": "a", "op": "empty"}))]
    )
    assert paths(problems) == ["version.form.steps.0.fields.0.condition"]


@pytest.mark.usefixtures("english")
def test_a_condition_may_not_refer_to_an_unknown_field():
    problems = problems_of(
        [
            step(
                "one",
                field("a", "text"),
                field(
                    "b",
                    "text",
                    condition={
                        "all": [
                            {"field": "a", "op": "filled"},
                            {"not": {"field": "ghost", "op": "equals", "value": 1}},
                        ]
                    },
                ),
            )
        ]
    )
    assert [problem.as_dict() for problem in problems] == [
        {
            "path": "version.form.steps.0.fields.1.condition",
            "message": "The condition refers to “ghost”, which is not a field before this one.",
        }
    ]


@pytest.mark.usefixtures("english")
def test_required_if_may_not_refer_to_a_later_field():
    problems = problems_of(
        [
            step(
                "one",
                field("a", "text", required_if={"field": "b", "op": "filled"}),
                field("b", "text"),
            )
        ]
    )
    assert paths(problems) == ["version.form.steps.0.fields.0.required_if"]


@pytest.mark.usefixtures("english")
def test_a_step_condition_refers_only_to_fields_of_earlier_steps():
    problems = problems_of(
        [
            step("one", field("a", "text")),
            step(
                "two",
                field("b", "text"),
                condition={"any": [{"field": "a", "op": "filled"}, {"field": "b", "op": "filled"}]},
            ),
        ]
    )
    assert [problem.as_dict() for problem in problems] == [
        {
            "path": "version.form.steps.1.condition",
            "message": "The condition refers to “b”, which is not a field of an earlier step.",
        }
    ]


def test_a_condition_on_an_earlier_step_or_field_is_fine():
    problems = problems_of(
        [
            step(
                "one",
                field("a", "text"),
                field("b", "text", condition={"field": "a", "op": "filled"}),
            ),
            step("two", field("c", "text"), condition={"field": "b", "op": "empty"}),
        ]
    )
    assert problems == []


@pytest.mark.usefixtures("english")
def test_a_condition_inside_a_group_may_refer_to_earlier_siblings_and_top_level_fields():
    group = field(
        "g",
        "group",
        fields=[
            field("x", "text", condition={"field": "a", "op": "filled"}),
            field("y", "text", condition={"field": "x", "op": "filled"}),
            field("z", "text", condition={"field": "w", "op": "filled"}),
            field("w", "text"),
        ],
    )
    problems = problems_of([step("one", field("a", "text"), group)])
    assert paths(problems) == ["version.form.steps.0.fields.1.fields.2.condition"]


@pytest.mark.usefixtures("english")
def test_a_top_level_condition_may_not_read_a_group_field():
    group = field("g", "group", fields=[field("x", "text")])
    problems = problems_of(
        [step("one", group, field("b", "text", condition={"field": "x", "op": "filled"}))]
    )
    assert paths(problems) == ["version.form.steps.0.fields.1.condition"]


# --- Field attributes ----------------------------------------------------------------------


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("kind", ["choice", "multi_choice"])
def test_a_choice_field_needs_options(kind):
    problems = problems_of([step("one", field("a", kind))])
    assert [problem.as_dict() for problem in problems] == [
        {
            "path": "version.form.steps.0.fields.0.choices",
            "message": "A choice field needs at least one option.",
        }
    ]
    problems = problems_of([step("one", field("a", kind, choices=[]))])
    assert paths(problems) == ["version.form.steps.0.fields.0.choices"]


@pytest.mark.usefixtures("english")
def test_option_values_must_be_unique():
    problems = problems_of([step("one", field("a", "choice", choices=options("x", "y", "x")))])
    assert [problem.as_dict() for problem in problems] == [
        {
            "path": "version.form.steps.0.fields.0.choices",
            "message": "Option values must be unique.",
        }
    ]


@pytest.mark.usefixtures("english")
def test_groups_cannot_be_nested():
    inner = field("inner", "group", fields=[field("x", "text")])
    problems = problems_of(
        [step("one", field("outer", "group", fields=[field("a", "text"), inner]))]
    )
    assert [problem.as_dict() for problem in problems] == [
        {
            "path": "version.form.steps.0.fields.0.fields.1.type",
            "message": "Groups cannot be nested.",
        }
    ]


@pytest.mark.usefixtures("english")
def test_a_group_needs_fields_and_only_groups_have_fields():
    problems = problems_of(
        [step("one", field("g", "group"), field("t", "text", fields=[field("x", "text")]))]
    )
    assert [problem.as_dict() for problem in problems] == [
        {
            "path": "version.form.steps.0.fields.0.fields",
            "message": "A repeating group needs fields.",
        },
        {
            "path": "version.form.steps.0.fields.1.fields",
            "message": "Only repeating groups have fields.",
        },
    ]


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize(
    ("kind", "low", "high", "extra"),
    [
        ("text", "min_length", "max_length", {}),
        ("integer", "min", "max", {}),
        ("decimal", "min", "max", {}),
        ("group", "min_items", "max_items", {"fields": [field("x", "text")]}),
        ("multi_choice", "min_choices", "max_choices", {"choices": options("a", "b", "c")}),
    ],
)
def test_a_minimum_may_not_exceed_its_maximum(kind, low, high, extra):
    spec = field("a", kind, **{low: 3, high: 2}, **extra)
    problems = problems_of([step("one", spec)])
    assert [problem.as_dict() for problem in problems] == [
        {
            "path": f"version.form.steps.0.fields.0.{low}",
            "message": "The minimum is greater than the maximum.",
        }
    ]
    equal = field("a", kind, **{low: 2, high: 2}, **extra)
    assert problems_of([step("one", equal)]) == []


@pytest.mark.usefixtures("english")
def test_a_minimum_length_above_the_default_maximum_is_reported():
    # Such a field could never be answered.
    problems = problems_of([step("one", field("a", "text", min_length=300, required=True))])
    assert [problem.as_dict() for problem in problems] == [
        {
            "path": "version.form.steps.0.fields.0.min_length",
            "message": "The minimum is greater than the default maximum of 200 characters; set max_length.",
        }
    ]
    assert problems_of([step("one", field("a", "textarea", min_length=300))]) == []
    assert problems_of([step("one", field("a", "text", min_length=300, max_length=400))]) == []


def test_a_minimum_item_count_above_the_default_maximum_is_reported():
    group = field("g", "group", min_items=25, fields=[field("x", "text")])
    problems = problems_of([step("one", group)])
    assert paths(problems) == ["version.form.steps.0.fields.0.min_items"]


def test_a_minimum_choice_count_above_the_number_of_options_is_reported():
    spec = field("m", "multi_choice", required=True, min_choices=3, choices=options("a", "b"))
    problems = problems_of([step("one", spec)])
    assert paths(problems) == ["version.form.steps.0.fields.0.min_choices"]


@pytest.mark.usefixtures("english")
def test_an_invalid_regular_expression_is_reported():
    problems = problems_of([step("one", field("a", "text", pattern="[A-Z"))])
    assert [problem.as_dict() for problem in problems] == [
        {
            "path": "version.form.steps.0.fields.0.pattern",
            "message": "This is not a valid regular expression.",
        }
    ]
    assert problems_of([step("one", field("a", "text", pattern="[A-Z]{2}"))]) == []


@pytest.mark.usefixtures("english")
def test_only_file_fields_may_ask_for_the_paper_original():
    problems = problems_of(
        [
            step(
                "one",
                field("a", "text", paper_original_required=True),
                field("b", "file", paper_original_required=True),
                field("c", "text", paper_original_required=False),
            )
        ]
    )
    assert [problem.as_dict() for problem in problems] == [
        {
            "path": "version.form.steps.0.fields.0.paper_original_required",
            "message": "Only file fields have originals.",
        }
    ]


def test_a_custom_root_prefixes_every_path():
    problems = definition.form_problems(
        {"steps": [step("a", field("x", "text")), step("a", field("y", "text"))]}, root="form"
    )
    assert paths(problems) == ["form.steps.1.key"]


# --- Fees ----------------------------------------------------------------------------------


def fee_form():
    return {
        "steps": [
            step("one", field("copies", "integer", min=1), field("purpose", "text")),
        ]
    }


def test_a_sound_fee_has_no_problems():
    for fee in (
        {"kind": "none"},
        {"kind": "fixed", "amount": 300, "methods": ["card"]},
        {"kind": "per_item", "item_field": "copies", "unit_amount": 300, "methods": ["qr_code"]},
        {
            "kind": "computed",
            "amount": 100,
            "rules": [{"condition": {"field": "copies", "op": "gt", "value": 1}, "amount": 200}],
            "waivers": [
                {"condition": {"field": "purpose", "op": "filled"}, "label": {"ja": "免除"}}
            ],
            "methods": ["bank_transfer"],
        },
    ):
        assert definition.fee_problems(fee, fee_form()) == [], fee


@pytest.mark.usefixtures("english")
def test_a_fixed_fee_needs_an_amount():
    problems = definition.fee_problems({"kind": "fixed", "methods": ["card"]}, fee_form())
    assert [problem.as_dict() for problem in problems] == [
        {"path": "version.fee.amount", "message": "A fixed fee needs an amount."}
    ]


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("item_field", [None, "purpose", "ghost"])
def test_a_per_item_fee_needs_an_integer_item_field(item_field):
    fee = {"kind": "per_item", "unit_amount": 300, "methods": ["card"]}
    if item_field:
        fee["item_field"] = item_field
    problems = definition.fee_problems(fee, fee_form())
    assert [problem.as_dict() for problem in problems] == [
        {
            "path": "version.fee.item_field",
            "message": "Name the integer field that counts the items.",
        }
    ]


@pytest.mark.usefixtures("english")
def test_a_per_item_fee_needs_an_amount_per_item():
    fee = {"kind": "per_item", "item_field": "copies", "methods": ["card"]}
    problems = definition.fee_problems(fee, fee_form())
    assert [problem.as_dict() for problem in problems] == [
        {"path": "version.fee.unit_amount", "message": "A per-item fee needs an amount per item."}
    ]


@pytest.mark.usefixtures("english")
def test_a_computed_fee_needs_a_base_amount_or_rules():
    problems = definition.fee_problems({"kind": "computed", "methods": ["card"]}, fee_form())
    assert [problem.as_dict() for problem in problems] == [
        {"path": "version.fee.rules", "message": "A computed fee needs a base amount or rules."}
    ]


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("methods", [None, []])
def test_a_fee_needs_a_payment_method(methods):
    fee = {"kind": "fixed", "amount": 300}
    if methods is not None:
        fee["methods"] = methods
    problems = definition.fee_problems(fee, fee_form())
    assert [problem.as_dict() for problem in problems] == [
        {"path": "version.fee.methods", "message": "Choose at least one payment method."}
    ]


@pytest.mark.usefixtures("english")
def test_fee_rules_and_waivers_may_only_refer_to_fields_of_the_form():
    fee = {
        "kind": "computed",
        "amount": 100,
        "rules": [{"condition": {"field": "ghost", "op": "filled"}, "amount": 100}],
        "waivers": [{"condition": {"field": "phantom", "op": "filled"}, "label": {"ja": "免除"}}],
        "methods": ["card"],
    }
    problems = definition.fee_problems(fee, fee_form())
    assert [problem.as_dict() for problem in problems] == [
        {
            "path": "version.fee.rules.0.condition",
            "message": "The fee refers to “ghost”, which is not a field.",
        },
        {
            "path": "version.fee.waivers.0.condition",
            "message": "The fee refers to “phantom”, which is not a field.",
        },
    ]


def test_version_problems_combine_form_and_fee_problems():
    version = copy.deepcopy(sound_document()["version"])
    version["form"]["steps"][1]["key"] = "applicant"
    version["fee"]["item_field"] = "dog_name"
    assert paths(definition.version_problems(version)) == [
        "version.form.steps.1.key",
        "version.fee.item_field",
    ]


# --- The schema ----------------------------------------------------------------------------


def test_an_unknown_field_type_is_a_schema_problem_at_the_type():
    broken = document(step("main", field("stamp", "seal")))
    problems = definition.document_problems(broken)
    assert paths(problems) == ["version.form.steps.0.fields.0.type"]
    assert "'seal' is not one of" in problems[0].message


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda doc: doc["version"]["form"]["steps"][0].update(key="Main Step"),
            "version.form.steps.0.key",
        ),
        (
            lambda doc: doc["version"]["form"]["steps"][0]["fields"][0].pop("label"),
            "version.form.steps.0.fields.0",
        ),
        (
            lambda doc: doc["version"]["form"]["steps"][0]["fields"][0].update(max_files=0),
            "version.form.steps.0.fields.0.max_files",
        ),
        (
            lambda doc: doc["version"]["form"]["steps"][0]["fields"][0].update(colour="red"),
            "version.form.steps.0.fields.0",
        ),
        (
            lambda doc: doc["version"]["form"]["steps"][0]["fields"][0].update(
                condition={"field": "a", "op": "near"}
            ),
            "version.form.steps.0.fields.0.condition",
        ),
        (lambda doc: doc["version"]["fee"].update(methods=["cheque"]), "version.fee.methods.0"),
        (lambda doc: doc["version"]["delivery"].update(methods=[]), "version.delivery.methods"),
        (lambda doc: doc["version"]["form"].update(steps=[]), "version.form.steps"),
        (lambda doc: doc["procedure"].update(processing_days=0), "procedure.processing_days"),
        (lambda doc: doc.update(format_version=2), "format_version"),
    ],
)
def test_schema_problems_are_reported_with_dotted_paths(change, path):
    broken = document()
    change(broken)
    assert paths(definition.document_problems(broken)) == [path]


def test_schema_problems_take_a_root():
    broken = document(step("main", field("stamp", "seal")))
    problems = definition.schema_problems(broken, root="import")
    assert paths(problems) == ["import.version.form.steps.0.fields.0.type"]


def test_a_document_that_is_not_an_object_is_a_problem_at_the_root():
    problems = definition.document_problems(["not", "a", "document"])
    assert paths(problems) == [""]


def test_the_rules_beyond_the_schema_run_only_once_the_schema_passes():
    both = document(step("same", field("a", "seal")), step("same", field("a", "text")))
    assert paths(definition.document_problems(both)) == ["version.form.steps.0.fields.0.type"]
    rules_only = document(step("same", field("a", "text")), step("same", field("b", "text")))
    assert paths(definition.document_problems(rules_only)) == ["version.form.steps.1.key"]
