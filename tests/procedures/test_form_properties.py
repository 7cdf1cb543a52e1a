"""Property tests of the form engine: random but valid form definitions, answers
that are valid for them, and arbitrary JSON that must never make the engine raise.

Each test carries its own hypothesis settings (no example database, so nothing is
written into the repository)."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.jp import cn as corporate_number
from stdnum.jp import in_ as individual_number

from procedures.form_engine import definition, engine
from procedures.form_engine.conditions import OPERATORS, evaluate, referenced_fields
from procedures.form_engine.fields import postal_lookup
from procedures.form_engine.japanese import (
    format_japanese_date,
    format_phone,
    normalize_phone,
    parse_date,
)
from procedures.services import FORMAT, FORMAT_VERSION

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Generating a whole form and its answers is the slow part: fewer, larger examples.
FORM_PROPERTY = settings(PROPERTY, max_examples=100)

SCALAR_TYPES = [
    "text",
    "textarea",
    "integer",
    "decimal",
    "date",
    "email",
    "phone",
    "postal_code",
    "address",
    "name",
    "consent",
    "file",
    "my_number",
    "corporate_number",
]
CHOICE_TYPES = ["choice", "multi_choice"]
FALLBACK_MESSAGE = "This answer could not be checked. Please enter it again."
MISSING = object()

WORDS = ["name", "kind", "count", "day", "note", "amount", "child", "tel", "mail", "doc", "area"]
LABELS = [
    ({"ja": "氏名"}, {"ja": "氏名", "en": "Name"}),
    ({"ja": "住所"}, {"ja": "住所", "en": "Address"}),
    ({"ja": "備考"}, {"ja": "備考", "en": "Notes"}),
    ({"ja": "届出日"}, {"ja": "届出日", "en": "Date of notification"}),
]
CHOICE_VALUES = ["yes", "no", "spouse", "child", "other", "business", "individual", "a1"]
PATTERNS = ["[A-Z]{2}[0-9]{4}", "[0-9]{3}-[0-9]{4}", "[a-z]{1,8}"]
TEXT_ALPHABET = "あいうえおアイウエオ山田川花子abcxyzXYZ0129-・"


def full_width(text):
    """ASCII letters and digits as their full-width forms (NFKC turns them back)."""
    return "".join(
        chr(ord(ch) + 0xFEE0) if ch.isascii() and (ch.isalnum() or ch in "-@.") else ch
        for ch in text
    )


# --- Definitions ---------------------------------------------------------------------------


@st.composite
def text_object(draw):
    return draw(st.sampled_from([label for pair in LABELS for label in pair]))


@st.composite
def condition_value(draw, spec, op):
    kind = spec["type"]
    if kind in CHOICE_TYPES:
        single = st.sampled_from([choice["value"] for choice in spec["choices"]])
    elif kind in ("integer", "decimal"):
        single = st.integers(-5, 30)
    elif kind == "date":
        single = st.dates(date(1990, 1, 1), date(2040, 12, 31)).map(date.isoformat)
    elif kind == "consent":
        single = st.booleans()
    else:
        single = st.text(TEXT_ALPHABET, max_size=4)
    if op == "one_of":
        return draw(st.lists(single, min_size=1, max_size=3))
    return draw(single)


@st.composite
def condition_on(draw, earlier, depth=0):
    """A condition that reads only the fields in `earlier`."""
    shape = draw(st.sampled_from(["leaf", "leaf", "leaf", "all", "any", "not"]))
    if shape == "leaf" or depth >= 2:
        spec = draw(st.sampled_from(earlier))
        if spec["type"] == "group":
            op = draw(st.sampled_from(["filled", "empty"]))
        else:
            op = draw(st.sampled_from(OPERATORS))
        condition = {"field": spec["key"], "op": op}
        if op not in ("filled", "empty"):
            condition["value"] = draw(condition_value(spec, op))
        return condition
    if shape == "not":
        return {"not": draw(condition_on(earlier, depth + 1))}
    parts = draw(st.lists(condition_on(earlier, depth + 1), min_size=1, max_size=3))
    return {shape: parts}


def today():
    return timezone.localdate()


@st.composite
def field_spec(draw, key, kind, earlier, keys):
    spec = {"key": key, "type": kind, "label": draw(text_object())}
    if draw(st.booleans()):
        spec["required"] = draw(st.booleans())
    if draw(st.integers(0, 9)) == 0:
        spec["help"] = draw(text_object())
    if kind == "text" and draw(st.integers(0, 3)) == 0:
        spec["pattern"] = draw(st.sampled_from(PATTERNS))
        if draw(st.booleans()):
            spec["pattern_message"] = {"ja": "形式が違います。", "en": "Wrong format."}
    elif kind in ("text", "textarea"):
        if draw(st.booleans()):
            spec["max_length"] = draw(st.integers(10, 80))
        if draw(st.booleans()):
            spec["min_length"] = draw(st.integers(0, 3))
    elif kind in ("integer", "decimal"):
        low, high = sorted(draw(st.lists(st.integers(-1000, 1000), min_size=2, max_size=2)))
        if draw(st.booleans()):
            spec["min"] = low
        if draw(st.booleans()):
            spec["max"] = high
        if kind == "decimal" and draw(st.booleans()):
            spec["decimal_places"] = draw(st.integers(0, 4))
    elif kind == "date":
        if draw(st.booleans()):
            spec["min_date"] = draw(st.dates(date(1990, 1, 1), date(2010, 12, 31))).isoformat()
        if draw(st.booleans()):
            spec["max_date"] = draw(
                st.sampled_from(["today", "2030-01-01", "2040-12-31", "2035-06-30"])
            )
    elif kind in CHOICE_TYPES:
        values = draw(st.lists(st.sampled_from(CHOICE_VALUES), min_size=1, max_size=5, unique=True))
        spec["choices"] = [{"value": value, "label": {"ja": value.upper()}} for value in values]
        if kind == "multi_choice" and draw(st.booleans()):
            low = draw(st.integers(0, len(values)))
            high = draw(st.integers(max(low, 1), len(values)))
            spec["min_choices"], spec["max_choices"] = low, high
    elif kind == "file":
        if draw(st.booleans()):
            spec["max_files"] = draw(st.integers(1, 4))
        if draw(st.booleans()):
            spec["accept"] = draw(
                st.lists(st.sampled_from(["pdf", "jpg", "png", "heic"]), min_size=1, unique=True)
            )
        if draw(st.integers(0, 5)) == 0:
            spec["paper_original_required"] = False
    elif kind == "group":
        sub_earlier = list(earlier)
        subs = []
        for _ in range(draw(st.integers(1, 3))):
            sub_kind = draw(st.sampled_from(SCALAR_TYPES + CHOICE_TYPES))
            sub = draw(field_spec(next(keys), sub_kind, sub_earlier, keys))
            subs.append(sub)
            sub_earlier.append(sub)
        spec["fields"] = subs
        if draw(st.booleans()):
            spec["min_items"] = draw(st.integers(0, 2))
        if draw(st.booleans()):
            spec["max_items"] = draw(st.integers(max(spec.get("min_items", 0), 1), 4))
    if earlier and draw(st.integers(0, 3)) == 0:
        spec["condition"] = draw(condition_on(earlier))
    if earlier and kind != "group" and draw(st.integers(0, 5)) == 0:
        spec["required_if"] = draw(condition_on(earlier))
    return spec


@st.composite
def form_definitions(draw):
    """1-4 steps of 1-6 fields of every type, an occasional group, conditions that
    read only earlier fields, steps shown only under a condition on earlier steps."""
    counter = itertools.count()
    keys = (f"{WORDS[index % len(WORDS)]}_{index}" for index in counter)
    earlier: list[dict] = []
    steps = []
    for step_index in range(draw(st.integers(1, 4))):
        step = {"key": f"step_{step_index}", "title": draw(text_object()), "fields": []}
        if earlier and draw(st.integers(0, 3)) == 0:
            step["condition"] = draw(condition_on(list(earlier)))
        step_fields = []
        for _ in range(draw(st.integers(1, 6))):
            roll = draw(st.integers(0, 19))
            if roll == 0:
                kind = "group"
            elif roll <= 4:
                kind = draw(st.sampled_from(CHOICE_TYPES))
            else:
                kind = draw(st.sampled_from(SCALAR_TYPES))
            spec = draw(field_spec(next(keys), kind, earlier + step_fields, keys))
            step_fields.append(spec)
        step["fields"] = step_fields
        earlier.extend(step_fields)
        steps.append(step)
    return {"steps": steps}


def as_document(form):
    """A version around the form, in a document built as the services build it."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "procedure": {
            "code": "placeholder",
            "title": {"ja": "-"},
            "organization": "-",
            "category": "other",
            "filer": "individual",
            "identity_level": "email_verified",
            "processing_days": 1,
        },
        "version": {
            "form": form,
            "fee": {"kind": "none"},
            "workflow": {"approval": "single"},
            "delivery": {"methods": ["electronic"]},
        },
    }


def all_field_specs(form):
    for step in form["steps"]:
        for spec in step["fields"]:
            yield spec
            yield from spec.get("fields", [])


@given(form_definitions())
@PROPERTY
def test_generated_definitions_pass_the_schema_and_the_form_rules(form):
    assert definition.form_problems(form) == []
    assert definition.schema_problems(as_document(form)) == []


# --- Valid answers -------------------------------------------------------------------------

KNOWN_POSTAL_CODES = ["1000001", "1500002", "5300001", "0600000", "9071801"]
POSTAL_PLACES = {code: postal_lookup(code) for code in KNOWN_POSTAL_CODES}
NAMES = [
    ("山田", "やまだ", "ヤマダ", "ﾔﾏﾀﾞ"),
    ("佐藤", "さとう", "サトウ", "ｻﾄｳ"),
    ("太郎", "たろう", "タロウ", "ﾀﾛｳ"),
    ("花子", "はなこ", "ハナコ", "ﾊﾅｺ"),
    ("伊藤", "いとう", "イトウ", "ｲﾄｳ"),
]


def postal_formats(code):
    dashed = f"{code[:3]}-{code[3:]}"
    return st.sampled_from(
        [code, dashed, f"〒{dashed}", full_width(dashed), f"{code[:3]}ー{code[3:]}"]
    )


@st.composite
def text_answer(draw, spec):
    if "pattern" in spec:
        canonical = draw(st.from_regex(spec["pattern"], fullmatch=True))
    else:
        low = max(spec.get("min_length", 0), 1)
        high = spec.get("max_length", 200)
        words = st.lists(st.text(TEXT_ALPHABET, min_size=1, max_size=6), min_size=1, max_size=4)
        canonical = draw(words.map(" ".join).filter(lambda text: low <= len(text) <= high))
    padding = draw(st.sampled_from(["", " ", "  ", "\u3000"]))
    return padding + canonical + padding, canonical


@st.composite
def integer_answer(draw, spec):
    number = draw(st.integers(spec.get("min", -(10**6)), spec.get("max", 10**6)))
    raw = draw(
        st.sampled_from(
            [number, str(number), f"{number:,}", full_width(str(number)), float(number)]
        )
    )
    return raw, number


@st.composite
def decimal_answer(draw, spec):
    places = spec.get("decimal_places", draw(st.integers(0, 3)))
    number = draw(
        st.decimals(
            min_value=spec.get("min", -(10**6)),
            max_value=spec.get("max", 10**6),
            places=places,
            allow_nan=False,
            allow_infinity=False,
        )
    )
    canonical = str(number)
    raw = draw(st.sampled_from([canonical, full_width(canonical)]))
    return raw, str(Decimal(canonical))


def date_bound(text, default):
    if text is None:
        return default
    return today() if text == "today" else date.fromisoformat(text)


@st.composite
def date_answer(draw, spec):
    low = date_bound(spec.get("min_date"), date(1950, 1, 1))
    high = date_bound(spec.get("max_date"), date(2060, 12, 31))
    day = draw(st.dates(low, high))
    raw = draw(
        st.sampled_from(
            [
                day.isoformat(),
                f"{day.year}/{day.month}/{day.day}",
                full_width(day.isoformat()),
                format_japanese_date(day),
            ]
        )
    )
    return raw, day.isoformat()


@st.composite
def email_answer(draw, spec):
    local = draw(st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,5})?", fullmatch=True))
    domain = draw(st.from_regex(r"[a-z]{1,10}\.(jp|com|org|co\.jp)", fullmatch=True))
    canonical = f"{local}@{domain}"
    raw = draw(st.sampled_from([canonical, f" {canonical} ", full_width(canonical)]))
    return raw, canonical


def digits(count):
    return st.text("0123456789", min_size=count, max_size=count)


@st.composite
def phone_digits(draw):
    kind = draw(st.sampled_from(["landline", "toll_free", "mobile", "ip", "free_dial"]))
    if kind == "landline":  # area codes that are not a mobile or IP prefix
        return "0" + draw(st.sampled_from("12346")) + draw(digits(8))
    if kind == "toll_free":
        return "0120" + draw(digits(6))
    if kind == "mobile":
        return "0" + draw(st.sampled_from("789")) + "0" + draw(digits(8))
    if kind == "ip":
        return "050" + draw(digits(8))
    return "0800" + draw(digits(7))


@st.composite
def phone_answer(draw, spec):
    canonical = draw(phone_digits())
    raw = draw(
        st.sampled_from(
            [canonical, format_phone(canonical), full_width(canonical), "+81 " + canonical[1:]]
        )
    )
    return raw, canonical


@st.composite
def postal_code_answer(draw, spec):
    code = draw(digits(7))
    return draw(postal_formats(code)), f"{code[:3]}-{code[3:]}"


@st.composite
def address_answer(draw, spec):
    code = draw(st.sampled_from(KNOWN_POSTAL_CODES))
    street = "-".join(
        str(part) for part in draw(st.lists(st.integers(1, 30), min_size=1, max_size=3))
    )
    building = draw(st.sampled_from(["", "市役所ビル 3F", "ハイツ山田 101"]))
    raw = {
        "postal_code": draw(postal_formats(code)),
        "street": draw(st.sampled_from([street, full_width(street)])),
        "building": building,
    }
    canonical = {
        "postal_code": f"{code[:3]}-{code[3:]}",
        **POSTAL_PLACES[code],
        "street": street,
        "building": building,
    }
    return raw, canonical


@st.composite
def name_answer(draw, spec):
    family, given_name = draw(st.lists(st.sampled_from(NAMES), min_size=2, max_size=2))
    raw = {
        "family": family[0],
        "given": given_name[0],
        "family_kana": draw(st.sampled_from(family[1:])),
        "given_kana": draw(st.sampled_from(given_name[1:])),
    }
    canonical = {
        "family": family[0],
        "given": given_name[0],
        "family_kana": family[2],
        "given_kana": given_name[2],
    }
    return raw, canonical


@st.composite
def choice_answer(draw, spec):
    value = draw(st.sampled_from([choice["value"] for choice in spec["choices"]]))
    return value, value


@st.composite
def multi_choice_answer(draw, spec):
    values = [choice["value"] for choice in spec["choices"]]
    low = max(spec.get("min_choices", 0), 1)
    high = spec.get("max_choices", len(values))
    chosen = draw(st.lists(st.sampled_from(values), min_size=low, max_size=high, unique=True))
    raw = list(chosen)
    if draw(st.booleans()):
        raw.append(chosen[0])  # a repeated option counts once
    return raw, [value for value in values if value in chosen]


@st.composite
def consent_answer(draw, spec):
    return draw(st.sampled_from([True, "on", "true", "1", 1])), True


@st.composite
def file_answer(draw, spec):
    references = draw(
        st.lists(
            st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True),
            min_size=1,
            max_size=spec.get("max_files", 1),
            unique=True,
        )
    )
    raw = references[0] if len(references) == 1 and draw(st.booleans()) else references
    return raw, references


@st.composite
def my_number_answer(draw, spec):
    base = draw(digits(11))
    number = base + individual_number.calc_check_digit(base)
    formats = [number, f"{number[:4]} {number[4:8]} {number[8:]}", full_width(number)]
    if number[0] != "0":
        formats.append(int(number))
    return draw(st.sampled_from(formats)), number


@st.composite
def corporate_number_answer(draw, spec):
    base = draw(digits(12))
    number = corporate_number.calc_check_digit(base) + base
    return draw(st.sampled_from([number, f"{number[:1]}-{number[1:]}", full_width(number)])), number


ANSWERS = {
    "text": text_answer,
    "textarea": text_answer,
    "integer": integer_answer,
    "decimal": decimal_answer,
    "date": date_answer,
    "email": email_answer,
    "phone": phone_answer,
    "postal_code": postal_code_answer,
    "address": address_answer,
    "name": name_answer,
    "choice": choice_answer,
    "multi_choice": multi_choice_answer,
    "consent": consent_answer,
    "file": file_answer,
    "my_number": my_number_answer,
    "corporate_number": corporate_number_answer,
}


def must_answer(spec):
    return bool(spec.get("required") or "required_if" in spec or spec.get("min_items"))


@st.composite
def group_answer(draw, spec):
    low = max(spec.get("min_items", 0), 1 if spec.get("required") else 0)
    count = draw(st.integers(low, spec.get("max_items", 3)))
    raw_items, canonical_items = [], []
    for _ in range(count):
        raw_item, canonical_item = {}, {}
        for sub in spec["fields"]:
            if must_answer(sub) or draw(st.booleans()):
                raw_item[sub["key"]], canonical_item[sub["key"]] = draw(ANSWERS[sub["type"]](sub))
        raw_items.append(raw_item)
        canonical_items.append(canonical_item)
    return raw_items, canonical_items


@st.composite
def valid_answers(draw, form):
    """(raw answers, canonical answers): every required field answered validly, some
    optional ones too. Hidden fields are answered as well: the engine must drop them."""
    raw, canonical = {}, {}
    for step in form["steps"]:
        for spec in step["fields"]:
            if not (must_answer(spec) or draw(st.booleans())):
                continue
            strategy = (
                group_answer(spec) if spec["type"] == "group" else ANSWERS[spec["type"]](spec)
            )
            raw[spec["key"]], canonical[spec["key"]] = draw(strategy)
    return raw, canonical


def expected_data(form, canonical):
    """The answers a resident's form keeps: visible and answered, in canonical form."""
    data = {}
    for step in form["steps"]:
        if "condition" in step and not evaluate(step["condition"], data):
            continue
        for spec in step["fields"]:
            key = spec["key"]
            if key not in canonical or (
                "condition" in spec and not evaluate(spec["condition"], data)
            ):
                continue
            if spec["type"] != "group":
                data[key] = canonical[key]
                continue
            items = []
            for entry in canonical[key]:
                item = {}
                for sub in spec["fields"]:
                    if "condition" in sub and not evaluate(sub["condition"], data, item):
                        continue
                    if sub["key"] in entry:
                        item[sub["key"]] = entry[sub["key"]]
                items.append(item)
            if items:
                data[key] = items
    return data


@given(st.data())
@FORM_PROPERTY
def test_valid_answers_have_no_errors_and_keep_exactly_the_visible_answered_fields(data):
    form = data.draw(form_definitions(), label="form")
    raw, canonical = data.draw(valid_answers(form), label="answers")
    result = engine.validate(form, raw)
    assert result.errors == {}
    assert result.data == expected_data(form, canonical)
    # Cleaned answers are already canonical: cleaning them again changes nothing.
    again = engine.validate(form, result.data)
    assert again.errors == {}
    assert again.data == result.data


# --- Arbitrary JSON ------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(
        ["", " ", "2026-04-01", "令和8年4月1日", "100-0001", "0312345678", "on", "a1"]
    )
)
json_keys = st.text(max_size=8) | st.sampled_from(
    ["postal_code", "street", "family", "given", "family_kana", "given_kana", "field", "op"]
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(json_keys, children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def arbitrary_answers(draw, form):
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    answers = draw(st.dictionaries(json_keys, json_values, max_size=3))
    for spec in all_field_specs(form):
        roll = draw(st.integers(0, 3))
        if roll == 0:
            continue
        if spec["type"] == "group" and roll == 1:
            sub_keys = [sub["key"] for sub in spec["fields"]]
            item = st.dictionaries(st.sampled_from(sub_keys) | json_keys, json_values, max_size=4)
            answers[spec["key"]] = draw(st.lists(item, max_size=5))
        elif roll == 1 and spec["type"] in ANSWERS:
            answers[spec["key"]] = draw(ANSWERS[spec["type"]](spec))[0]
        else:
            answers[spec["key"]] = draw(json_values)
    return answers


def check_error_paths(form, answers, result):
    top_level = {spec["key"]: spec for step in form["steps"] for spec in step["fields"]}
    for path, messages in result.errors.items():
        assert isinstance(path, str)
        assert messages
        assert all(isinstance(message, str) and message.strip() for message in messages)
        assert FALLBACK_MESSAGE not in messages, (path, answers)
        if path == "":
            assert not isinstance(answers, dict)
            continue
        parts = path.split(".")
        assert parts[0] in top_level, path
        if len(parts) > 1:
            spec = top_level[parts[0]]
            assert spec["type"] == "group", path
            assert len(parts) == 3, path
            assert parts[1].isdigit(), path
            assert parts[2] in {sub["key"] for sub in spec["fields"]}, path


@given(st.data())
@FORM_PROPERTY
def test_any_json_answers_give_keyed_errors_and_never_an_exception(data):
    form = data.draw(form_definitions(), label="form")
    answers = data.draw(arbitrary_answers(form), label="answers")
    with translation.override("en"):
        result = engine.validate(form, answers)
        check_error_paths(form, answers, result)
        assert set(result.data) <= {
            spec["key"] for step in form["steps"] for spec in step["fields"]
        }
        # Whatever was kept is canonical and stays as it is when cleaned again.
        assert engine.validate(form, result.data).data == result.data
        if result.errors:
            steps = data.draw(st.lists(st.sampled_from([s["key"] for s in form["steps"]])))
            partial = engine.validate(form, answers, only_steps=steps)
            assert partial.data == result.data
            assert set(partial.errors) <= set(result.errors)


# --- Conditions ----------------------------------------------------------------------------

condition_keys = st.sampled_from(["field", "op", "value", "all", "any", "not"]) | st.text(
    max_size=5
)
field_names = st.sampled_from(["a", "b", "c"]) | st.text(max_size=3)
leaf_conditions = st.fixed_dictionaries(
    {"field": field_names | json_scalars, "op": st.sampled_from(OPERATORS) | json_scalars},
    optional={"value": json_values},
)
arbitrary_conditions = st.recursive(
    leaf_conditions | json_values,
    lambda children: (
        st.fixed_dictionaries({"all": st.lists(children, max_size=3) | children})
        | st.fixed_dictionaries({"any": st.lists(children, max_size=3) | children})
        | st.fixed_dictionaries({"not": children})
        | st.dictionaries(condition_keys, children, max_size=3)
    ),
    max_leaves=10,
)
condition_answers = st.dictionaries(field_names, json_values, max_size=4)


@given(arbitrary_conditions, condition_answers, st.none() | condition_answers)
@PROPERTY
def test_conditions_never_raise_and_always_answer_true_or_false(condition, answers, item):
    assert type(evaluate(condition, answers, item)) is bool
    assert all(isinstance(key, str) for key in referenced_fields(condition))


# --- Japanese conventions ------------------------------------------------------------------


@given(st.dates(date(1868, 1, 25), date(2116, 12, 31)))
@PROPERTY
def test_a_date_written_in_the_japanese_calendar_reads_back_as_the_same_date(day):
    assert parse_date(format_japanese_date(day)) == day
    assert parse_date(full_width(day.isoformat())) == day


@given(phone_digits())
@PROPERTY
def test_a_formatted_phone_number_reads_back_as_the_same_digits(number):
    assert normalize_phone(format_phone(number)) == number
    assert normalize_phone(full_width(number)) == number


@given(st.dates(date(1900, 1, 1), date(2100, 12, 31)), st.integers(1, 400))
@PROPERTY
def test_date_bounds_accept_the_bound_itself_and_refuse_the_day_beyond(day, days):
    form = {
        "steps": [
            {
                "key": "main",
                "title": {"ja": "日付"},
                "fields": [
                    {
                        "key": "day",
                        "type": "date",
                        "label": {"ja": "日付"},
                        "min_date": day.isoformat(),
                        "max_date": (day + timedelta(days=days)).isoformat(),
                    }
                ],
            }
        ]
    }
    assert engine.validate(form, {"day": day.isoformat()}).is_valid
    assert engine.validate(form, {"day": (day + timedelta(days=days)).isoformat()}).is_valid
    assert not engine.validate(form, {"day": (day - timedelta(days=1)).isoformat()}).is_valid
    assert not engine.validate(form, {"day": (day + timedelta(days=days + 1)).isoformat()}).is_valid
