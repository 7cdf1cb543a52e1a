"""The form engine: how each field type cleans an answer, required and conditional
fields, repeating groups, and the promise that no input raises an exception.

The engine is pure functions, so none of these tests touch the database."""

import json
import logging
from datetime import date, timedelta

import pytest
from django.utils import timezone, translation
from stdnum.jp import cn as corporate_number
from stdnum.jp import in_ as individual_number

from procedures.form_engine import engine
from procedures.form_engine.conditions import evaluate
from procedures.form_engine.fields import CLEANERS, mask
from procedures.form_engine.japanese import format_japanese_date, format_phone, parse_date

# --- Helpers -------------------------------------------------------------------------------


def field(key, kind, **attributes):
    return {"key": key, "type": kind, "label": {"ja": key, "en": key}, **attributes}


def step(key, *fields, **attributes):
    return {"key": key, "title": {"ja": key}, "fields": list(fields), **attributes}


def form(*steps):
    return {"steps": list(steps)}


def single(kind, **attributes):
    """A one-field form whose field key is "answer"."""
    return form(step("main", field("answer", kind, **attributes)))


def clean(kind, value, **attributes):
    """(stored value or None, error messages) of one answer to a one-field form."""
    result = engine.validate(single(kind, **attributes), {"answer": value})
    return result.data.get("answer"), result.errors.get("answer", [])


def accepted(kind, value, **attributes):
    cleaned, errors = clean(kind, value, **attributes)
    assert errors == [], errors
    return cleaned


def rejected(kind, value, **attributes):
    cleaned, errors = clean(kind, value, **attributes)
    assert cleaned is None
    assert len(errors) == 1, errors
    return errors[0]


def valid_my_number(first_eleven="12345678901"):
    return first_eleven + individual_number.calc_check_digit(first_eleven)


def valid_corporate_number(last_twelve="700110005901"):
    return corporate_number.calc_check_digit(last_twelve) + last_twelve


@pytest.fixture
def english():
    with translation.override("en"):
        yield


# --- Text and textarea ---------------------------------------------------------------------


def test_text_is_trimmed_and_kept_on_a_single_line():
    assert accepted("text", "  山田   商店\n本店 ") == "山田 商店 本店"


def test_textarea_keeps_its_lines_with_unix_line_ends():
    assert accepted("textarea", " 一行目\r\n二行目 ") == "一行目\n二行目"


def test_a_number_given_for_text_is_kept_as_its_text():
    assert accepted("text", 42) == "42"


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize(("kind", "limit"), [("text", 200), ("textarea", 4000)])
def test_text_is_bounded_by_a_default_maximum_length(kind, limit):
    assert accepted(kind, "あ" * limit) == "あ" * limit
    assert rejected(kind, "あ" * (limit + 1)) == f"Enter at most {limit} characters."


@pytest.mark.usefixtures("english")
def test_a_definitions_max_length_replaces_the_default():
    assert accepted("text", "x" * 300, max_length=300) == "x" * 300
    assert rejected("text", "x" * 11, max_length=10) == "Enter at most 10 characters."


@pytest.mark.usefixtures("english")
def test_text_shorter_than_min_length_is_rejected():
    assert rejected("text", "ab", min_length=3) == "Enter at least 3 characters."
    assert accepted("text", "abc", min_length=3) == "abc"


PATTERN_FIELD = {
    "pattern": "[A-Z]{2}[0-9]{4}",
    "pattern_message": {
        "ja": "英大文字2字と数字4字で入力してください。",
        "en": "Enter two capital letters and four digits.",
    },
}


def test_text_matching_the_pattern_is_accepted():
    assert accepted("text", "AB1234", **PATTERN_FIELD) == "AB1234"


def test_the_pattern_must_match_the_whole_answer():
    with translation.override("en"):
        assert rejected("text", "AB12345", **PATTERN_FIELD) == (
            "Enter two capital letters and four digits."
        )


def test_the_pattern_message_is_shown_in_the_current_language():
    with translation.override("ja"):
        assert rejected("text", "ab1234", **PATTERN_FIELD) == (
            "英大文字2字と数字4字で入力してください。"
        )
    with translation.override("en"):
        assert rejected("text", "ab1234", **PATTERN_FIELD) == (
            "Enter two capital letters and four digits."
        )


def test_the_pattern_message_falls_back_to_japanese():
    attributes = {"pattern": "[0-9]+", "pattern_message": {"ja": "数字で入力してください。"}}
    with translation.override("en"):
        assert rejected("text", "abc", **attributes) == "数字で入力してください。"


@pytest.mark.usefixtures("english")
def test_a_pattern_without_a_message_gets_a_generic_one():
    assert rejected("text", "abc", pattern="[0-9]+") == "Enter the answer in the format asked for."


# --- Numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        (7, 7),
        (7.0, 7),
        ("42", 42),
        ("１２３", 123),
        ("-5", -5),
        ("1,000", 1000),
        ("１，０００", 1000),
        (" 12 ", 12),
        (0, 0),
    ],
)
def test_integers_are_stored_as_numbers(raw, number):
    stored = accepted("integer", raw)
    assert stored == number
    assert type(stored) is int


def test_zero_is_an_answer_not_a_blank():
    result = engine.validate(single("integer", required=True), {"answer": 0})
    assert result.errors == {}
    assert result.data == {"answer": 0}


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("raw", [7.5, "12a", "1.5", "", "十二", True, {"n": 1}, ["1"]])
def test_anything_but_a_whole_number_is_rejected_for_an_integer(raw):
    cleaned, errors = clean("integer", raw, required=True)
    assert cleaned is None
    expected = "This field is required." if raw == "" else "Enter a whole number."
    assert errors == [expected]


@pytest.mark.usefixtures("english")
def test_integer_bounds_are_inclusive():
    bounds = {"min": 1, "max": 10}
    assert accepted("integer", 1, **bounds) == 1
    assert accepted("integer", "１０", **bounds) == 10
    assert rejected("integer", 0, **bounds) == "Enter 1 or more."
    assert rejected("integer", 11, **bounds) == "Enter 10 or less."


@pytest.mark.usefixtures("english")
def test_integers_beyond_a_trillion_are_refused():
    assert accepted("integer", 10**12) == 10**12
    assert rejected("integer", 10**12 + 1) == "Enter a smaller number."
    assert rejected("integer", "-1000000000001") == "Enter a smaller number."


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("1.25", "1.25"), ("１２．５", "12.5"), (3, "3"), (2.5, "2.5"), ("1,234.5", "1234.5")],
)
def test_decimals_are_stored_as_exact_strings(raw, stored):
    assert accepted("decimal", raw) == stored


@pytest.mark.usefixtures("english")
def test_decimal_places_are_limited():
    assert accepted("decimal", "1.23", decimal_places=2) == "1.23"
    assert rejected("decimal", "1.234", decimal_places=2) == (
        "Enter a number with at most 2 digits after the point."
    )
    assert rejected("decimal", "1.5", decimal_places=0) == (
        "Enter a number with at most 0 digits after the point."
    )


@pytest.mark.usefixtures("english")
def test_decimal_bounds_are_checked():
    assert rejected("decimal", "0.4", min=0.5) == "Enter 0.5 or more."
    assert rejected("decimal", "100.01", max=100) == "Enter 100 or less."
    assert accepted("decimal", "100", max=100) == "100"


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("raw", ["1e3", "abc", "1.2.3", True, ["1"], {"n": 1}])
def test_anything_but_a_plain_number_is_rejected_for_a_decimal(raw):
    assert rejected("decimal", raw) == "Enter a number."


# --- Dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2026-04-01", "2026-04-01"),
        ("2026/4/1", "2026-04-01"),
        ("２０２６－０４－０１", "2026-04-01"),
        ("令和8年4月1日", "2026-04-01"),
        ("令和８年４月１日", "2026-04-01"),
        ("R8.4.1", "2026-04-01"),
        ("r8/4/1", "2026-04-01"),
        ("令和元年5月1日", "2019-05-01"),
        ("R1.5.1", "2019-05-01"),
        ("平成31年4月30日", "2019-04-30"),
        ("平成元年1月8日", "1989-01-08"),
        ("昭和64年1月7日", "1989-01-07"),
        ("H2.12.31", "1990-12-31"),
        ("明治元年1月25日", "1868-01-25"),
    ],
)
def test_dates_in_western_and_japanese_calendars_become_iso_dates(raw, iso):
    assert accepted("date", raw) == iso


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize(
    "raw",
    [
        "令和元年4月30日",  # Reiwa began on 1 May 2019
        "R1.4.30",
        "平成元年1月7日",  # Heisei began on 8 January 1989
        "令和0年5月1日",
        "2026-02-30",
        "2026-13-01",
        "令和8年2月30日",
        "X8.4.1",
        "April 1st",
        "20260401",
    ],
)
def test_dates_that_do_not_exist_are_rejected(raw):
    assert rejected("date", raw) == "Enter a real date, for example 2026-04-01 or 令和8年4月1日."


@pytest.mark.usefixtures("english")
def test_a_date_must_be_text():
    assert rejected("date", 20260401) == (
        "Enter a real date, for example 2026-04-01 or 令和8年4月1日."
    )


@pytest.mark.usefixtures("english")
def test_date_bounds_are_shown_in_the_japanese_calendar():
    assert accepted("date", "2026-04-01", min_date="2026-04-01") == "2026-04-01"
    assert rejected("date", "2026-03-31", min_date="2026-04-01") == (
        "Enter a date on or after 令和8年4月1日."
    )
    assert rejected("date", "令和8年4月2日", max_date="2026-04-01") == (
        "Enter a date on or before 令和8年4月1日."
    )


@pytest.mark.usefixtures("english")
def test_today_as_a_date_bound_means_the_local_date():
    today = timezone.localdate()
    tomorrow = today + timedelta(days=1)
    assert accepted("date", today.isoformat(), max_date="today") == today.isoformat()
    assert rejected("date", tomorrow.isoformat(), max_date="today") == (
        f"Enter a date on or before {format_japanese_date(today)}."
    )


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2026, 4, 1), "令和8年4月1日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1912, 7, 30), "大正元年7月30日"),
        (date(1868, 1, 25), "明治元年1月25日"),
        (date(1868, 1, 24), "1868年1月24日"),
    ],
)
def test_format_japanese_date_writes_the_era_and_gannen(day, text):
    assert format_japanese_date(day) == text
    if day >= date(1868, 1, 25):
        assert parse_date(text) == day


# --- E-mail, phone, postal code ------------------------------------------------------------


def test_email_is_trimmed_and_full_width_letters_become_ascii():
    assert accepted("email", " ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ ") == "taro@example.jp"


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("raw", ["taro", "taro@", "@example.jp", "taro@@example.jp", 5])
def test_an_invalid_email_is_rejected(raw):
    assert rejected("email", raw) == "Enter an e-mail address such as name@example.jp."


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("０３－１２３４－５６７８", "0312345678"),
        ("03-1234-5678", "0312345678"),
        ("(03) 1234 5678", "0312345678"),
        ("090-1234-5678", "09012345678"),
        ("０９０１２３４５６７８", "09012345678"),
        ("+81 90-1234-5678", "09012345678"),
        ("+81-3-1234-5678", "0312345678"),
        ("050-1234-5678", "05012345678"),
        ("0120-123-456", "0120123456"),
        ("0800-123-4567", "08001234567"),
        ("045-123-4567", "0451234567"),
    ],
)
def test_phone_numbers_are_stored_as_digits(raw, digits):
    assert accepted("phone", raw) == digits


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize(
    "raw", ["1234", "03-1234-567", "090-1234-56789", "+1 212 555 1234", "03-1234-567a"]
)
def test_something_that_is_not_a_japanese_phone_number_is_rejected(raw):
    assert rejected("phone", raw) == (
        "Enter a Japanese phone number, for example 03-1234-5678 or 090-1234-5678."
    )


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("raw", ["090-1234-567", "080-123-4567", "070-1234-567", "050-1234-567"])
def test_a_mobile_number_with_a_missing_digit_is_rejected(raw):
    # 050/070/080/090 numbers always have 11 digits; 10 is not a landline.
    assert rejected("phone", raw) == (
        "Enter a Japanese phone number, for example 03-1234-5678 or 090-1234-5678."
    )


def test_a_ten_digit_number_that_only_starts_like_a_mobile_prefix_is_a_landline():
    assert accepted("phone", "0570-123-456") == "0570123456"
    assert accepted("phone", "052-123-4567") == "0521234567"


@pytest.mark.parametrize(
    "raw", ["０３ー１２３４ー５６７８", "03−1234−5678", "03ｰ1234ｰ5678", "03‐1234‐5678"]
)
def test_a_phone_number_typed_with_japanese_dashes_is_accepted(raw):
    assert accepted("phone", raw) == "0312345678"


@pytest.mark.usefixtures("english")
def test_a_phone_number_in_other_scripts_digits_is_rejected_not_stored():
    # Python's \d matches Arabic-Indic digits; the stored number must be ASCII.
    assert rejected("phone", "03١٢٣٤٥٦٧٨") == (
        "Enter a Japanese phone number, for example 03-1234-5678 or 090-1234-5678."
    )


@pytest.mark.parametrize(
    ("digits", "text"),
    [
        ("0312345678", "03-1234-5678"),
        ("0612345678", "06-1234-5678"),
        ("09012345678", "090-1234-5678"),
        ("05012345678", "050-1234-5678"),
        ("0120123456", "0120-123-456"),
        ("0451234567", "045-123-4567"),
    ],
)
def test_format_phone_groups_the_digits_readably(digits, text):
    assert format_phone(digits) == text


def test_format_phone_groups_0800_free_dial_after_its_prefix():
    # Not 080-0123-4567, which would read as a mobile number.
    assert format_phone("08001234567") == "0800-123-4567"


@pytest.mark.parametrize(
    "raw", ["1000001", "100-0001", "〒100-0001", "１００－０００１", "100ー0001", "100 0001"]
)
def test_postal_codes_are_stored_as_three_dash_four_digits(raw):
    assert accepted("postal_code", raw) == "100-0001"


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("raw", ["100-001", "10000011", "abc-defg", 100001])
def test_a_postal_code_without_seven_digits_is_rejected(raw):
    assert rejected("postal_code", raw) == "Enter a 7-digit postal code, for example 100-0001."


@pytest.mark.usefixtures("english")
def test_a_postal_code_in_other_scripts_digits_is_rejected_not_stored():
    assert rejected("postal_code", "١٠٠٠٠٠١") == (
        "Enter a 7-digit postal code, for example 100-0001."
    )


@pytest.mark.parametrize("raw", ["100−0001", "100‐0001", "１００ｰ０００１"])
def test_a_postal_code_typed_with_japanese_dashes_is_accepted(raw):
    assert accepted("postal_code", raw) == "100-0001"


# --- Address and name ----------------------------------------------------------------------


def test_the_address_is_completed_from_the_postal_code():
    assert accepted("address", {"postal_code": "1000001", "street": "１－１"}) == {
        "postal_code": "100-0001",
        "prefecture": "東京都",
        "city": "千代田区",
        "town": "千代田",
        "street": "1-1",
        "building": "",
    }


def test_address_parts_given_by_the_applicant_are_kept():
    address = {
        "postal_code": "100-0001",
        "prefecture": "東京都",
        "city": "千代田区",
        "town": "皇居外苑",
        "street": "1-1",
        "building": "  本館　２階 ",
    }
    stored = accepted("address", address)
    assert stored["town"] == "皇居外苑"
    assert stored["building"] == "本館 2階"


@pytest.mark.usefixtures("english")
def test_an_address_with_an_unknown_postal_code_is_rejected():
    assert rejected("address", {"postal_code": "999-9999", "street": "1-1"}) == (
        "This postal code does not exist. Check it and try again."
    )


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"postal_code": "100-0001"}, "Enter the block and house number (番地)."),
        (
            {"postal_code": "100-001", "street": "1-1"},
            "Enter a 7-digit postal code, for example 100-0001.",
        ),
        ({"street": "1-1"}, "Enter a 7-digit postal code, for example 100-0001."),
        ({"postal_code": 1000001, "street": "1-1"}, "Enter the address."),
        ("東京都千代田区千代田1-1", "Enter the address."),
        (["100-0001", "1-1"], "Enter the address."),
    ],
)
def test_an_incomplete_or_malformed_address_is_rejected(raw, message):
    assert rejected("address", raw) == message


@pytest.mark.usefixtures("english")
def test_a_required_address_left_blank_is_missing():
    blank = dict.fromkeys(("postal_code", "prefecture", "city", "town", "street", "building"), "")
    cleaned, errors = clean("address", blank, required=True)
    assert cleaned is None
    assert errors == ["This field is required."]


def test_hiragana_furigana_becomes_katakana():
    assert accepted(
        "name",
        {"family": "山田", "given": "太郎", "family_kana": "やまだ", "given_kana": "たろう"},
    ) == {"family": "山田", "given": "太郎", "family_kana": "ヤマダ", "given_kana": "タロウ"}


def test_half_width_katakana_furigana_becomes_full_width():
    stored = accepted(
        "name",
        {"family": "佐藤　", "given": "花子", "family_kana": "ｻﾄｳ", "given_kana": "ハナコ"},
    )
    assert stored["family"] == "佐藤"
    assert stored["family_kana"] == "サトウ"
    assert stored["given_kana"] == "ハナコ"


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"family": "山田", "given": "太郎", "family_kana": "yamada", "given_kana": "タロウ"},
            "Enter the reading (furigana) in katakana or hiragana.",
        ),
        (
            {"family": "山田", "given": "太郎", "family_kana": "ヤマダ"},
            "Enter the reading (furigana) in katakana or hiragana.",
        ),
        (
            {"family": "山田", "family_kana": "ヤマダ", "given_kana": "タロウ"},
            "Enter both the family name and the given name.",
        ),
        ({"family": ["山田"], "given": "太郎"}, "Enter the name and its reading."),
        ("山田太郎", "Enter the name and its reading."),
    ],
)
def test_an_incomplete_or_malformed_name_is_rejected(raw, message):
    assert rejected("name", raw) == message


# --- Choices, consent, files ---------------------------------------------------------------

CHOICES = {
    "choices": [
        {"value": "a", "label": {"ja": "A"}},
        {"value": "b", "label": {"ja": "B"}},
        {"value": "c", "label": {"ja": "C"}},
    ]
}


def test_a_choice_must_be_one_of_the_options():
    assert accepted("choice", "b", **CHOICES) == "b"
    with translation.override("en"):
        assert rejected("choice", "d", **CHOICES) == "Choose one of the options."
        assert rejected("choice", ["a"], **CHOICES) == "Choose one of the options."
        assert rejected("choice", 1, **CHOICES) == "Choose one of the options."


def test_multi_choice_answers_follow_the_definition_order_without_duplicates():
    assert accepted("multi_choice", ["c", "a", "c"], **CHOICES) == ["a", "c"]


def test_a_single_string_is_one_choice_of_a_multi_choice():
    assert accepted("multi_choice", "b", **CHOICES) == ["b"]


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("raw", [["a", "d"], [1], {"a": True}, [["a"]]])
def test_multi_choice_outside_the_options_is_rejected(raw):
    assert rejected("multi_choice", raw, **CHOICES) == "Choose from the options."


@pytest.mark.usefixtures("english")
def test_multi_choice_counts_are_limited():
    limits = {**CHOICES, "min_choices": 2, "max_choices": 2}
    assert accepted("multi_choice", ["a", "b"], **limits) == ["a", "b"]
    assert rejected("multi_choice", ["a"], **limits) == "Choose at least 2."
    assert rejected("multi_choice", ["a", "b", "c"], **limits) == "Choose at most 2."


@pytest.mark.usefixtures("english")
def test_a_required_multi_choice_with_nothing_ticked_is_missing():
    assert rejected("multi_choice", [], required=True, **CHOICES) == "This field is required."


@pytest.mark.parametrize("raw", [True, "true", "on", "1", 1])
def test_a_ticked_consent_is_stored_as_true(raw):
    assert accepted("consent", raw, required=True) is True


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("raw", [False, "false", "", "0", 0, None])
def test_a_required_consent_left_unticked_asks_to_tick_the_box(raw):
    cleaned, errors = clean("consent", raw, required=True)
    assert cleaned is None
    assert errors == ["Tick the box to agree."]


def test_an_optional_consent_left_unticked_is_not_stored():
    result = engine.validate(single("consent"), {"answer": False})
    assert result.errors == {}
    assert result.data == {}


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("raw", ["yes", 2, ["on"], {"on": True}])
def test_a_consent_that_is_neither_ticked_nor_unticked_is_rejected(raw):
    assert rejected("consent", raw) == "Tick the box to agree."


def test_file_answers_are_lists_of_upload_references():
    assert accepted("file", "att_01-X") == ["att_01-X"]
    assert accepted("file", ["a1", "b2"], max_files=2) == ["a1", "b2"]
    assert accepted("file", ["a1", "a1"], max_files=2) == ["a1"]


def test_a_repeated_file_reference_does_not_count_twice():
    assert accepted("file", ["a1", "b2", "a1"], max_files=2) == ["a1", "b2"]


@pytest.mark.usefixtures("english")
def test_files_beyond_max_files_are_refused():
    assert rejected("file", ["a1", "b2"]) == "Upload at most 1 files."
    assert rejected("file", ["a1", "b2", "c3"], max_files=2) == "Upload at most 2 files."


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("raw", ["../etc/passwd", "a b", "x" * 65, 123, [1], {"id": "a1"}])
def test_a_file_reference_that_is_not_an_upload_id_is_rejected(raw):
    assert rejected("file", raw) == "Upload the file again."


# --- My Number and Corporate Number --------------------------------------------------------


def test_a_my_number_with_a_correct_check_digit_is_stored_as_digits():
    number = valid_my_number()
    assert accepted("my_number", number) == number
    spaced = f"{number[:4]} {number[4:8]}-{number[8:]}"
    assert accepted("my_number", spaced) == number
    full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert accepted("my_number", full_width) == number
    assert accepted("my_number", int(number)) == number


@pytest.mark.usefixtures("english")
def test_a_my_number_with_a_wrong_check_digit_is_rejected():
    number = valid_my_number()
    wrong = number[:11] + str((int(number[11]) + 1) % 10)
    assert rejected("my_number", wrong) == "This Individual Number is not valid: check the digits."


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("raw", ["12345678901", "1234567890123", "12345678901a", ["123"]])
def test_a_my_number_without_twelve_digits_is_rejected(raw):
    expected = (
        "Enter text."
        if isinstance(raw, list)
        else "Enter the 12-digit Individual Number (My Number)."
    )
    assert rejected("my_number", raw) == expected


def test_a_my_number_is_masked_but_for_its_last_four_digits():
    number = valid_my_number()
    assert mask({"type": "my_number"}, number) == "********" + number[-4:]
    assert mask({"type": "text"}, "plain") == "plain"


def test_a_corporate_number_with_a_correct_check_digit_is_stored_as_digits():
    number = valid_corporate_number()
    assert accepted("corporate_number", number) == number
    assert accepted("corporate_number", "7000012050002") == "7000012050002"
    assert accepted("corporate_number", f"{number[:1]}-{number[1:5]}-{number[5:]}") == number


@pytest.mark.usefixtures("english")
def test_a_corporate_number_with_a_wrong_check_digit_is_rejected():
    number = valid_corporate_number()
    wrong = str((int(number[0]) + 1) % 10) + number[1:]
    assert rejected("corporate_number", wrong) == (
        "This Corporate Number is not valid: check the digits."
    )
    assert rejected("corporate_number", "123456789012") == "Enter the 13-digit Corporate Number."


# --- Required and optional -----------------------------------------------------------------


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("answers", [{}, {"answer": None}, {"answer": ""}, {"answer": "  \u3000 "}])
def test_a_required_field_without_an_answer_is_missing(answers):
    result = engine.validate(single("text", required=True), answers)
    assert result.errors == {"answer": ["This field is required."]}
    assert not result.is_valid


@pytest.mark.parametrize("answers", [{}, {"answer": None}, {"answer": ""}, {"answer": "  "}])
def test_an_optional_field_without_an_answer_is_left_out(answers):
    result = engine.validate(single("text"), answers)
    assert result.is_valid
    assert result.data == {}


@pytest.mark.usefixtures("english")
def test_an_invalid_answer_to_an_optional_field_is_still_an_error():
    result = engine.validate(single("integer"), {"answer": "many"})
    assert result.errors == {"answer": ["Enter a whole number."]}


KIND_CHOICES = {
    "choices": [
        {"value": "individual", "label": {"ja": "個人"}},
        {"value": "business", "label": {"ja": "法人"}},
        {"value": "other", "label": {"ja": "その他"}},
    ]
}


def required_if_form():
    return single_step(
        field("kind", "choice", required=True, **KIND_CHOICES),
        field(
            "detail",
            "text",
            required_if={"field": "kind", "op": "equals", "value": "other"},
        ),
    )


def single_step(*fields):
    return form(step("main", *fields))


@pytest.mark.usefixtures("english")
def test_required_if_requires_the_field_while_its_condition_holds():
    result = engine.validate(required_if_form(), {"kind": "other"})
    assert result.errors == {"detail": ["This field is required."]}


def test_required_if_leaves_the_field_optional_otherwise():
    result = engine.validate(required_if_form(), {"kind": "business"})
    assert result.errors == {}
    result = engine.validate(required_if_form(), {"kind": "business", "detail": "補足"})
    assert result.data == {"kind": "business", "detail": "補足"}


# --- Conditions ----------------------------------------------------------------------------

ANSWERS = {
    "kind": "business",
    "count": 3,
    "amount": "12.5",
    "start": "2026-04-01",
    "options": ["a", "c"],
    "note": "",
}


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"field": "kind", "op": "equals", "value": "business"}, True),
        ({"field": "kind", "op": "equals", "value": "individual"}, False),
        ({"field": "kind", "op": "not_equals", "value": "individual"}, True),
        ({"field": "kind", "op": "not_equals", "value": "business"}, False),
        ({"field": "kind", "op": "one_of", "value": ["business", "other"]}, True),
        ({"field": "kind", "op": "one_of", "value": ["individual"]}, False),
        ({"field": "kind", "op": "one_of", "value": "business"}, False),
        ({"field": "count", "op": "gt", "value": 2}, True),
        ({"field": "count", "op": "gt", "value": 3}, False),
        ({"field": "count", "op": "gte", "value": 3}, True),
        ({"field": "count", "op": "lt", "value": 3}, False),
        ({"field": "count", "op": "lte", "value": 3}, True),
        ({"field": "count", "op": "gt", "value": "2.5"}, True),
        ({"field": "amount", "op": "gt", "value": 12}, True),
        ({"field": "amount", "op": "lte", "value": 12.4}, False),
        ({"field": "start", "op": "gte", "value": "2026-04-01"}, True),
        ({"field": "start", "op": "gt", "value": "2026-04-01"}, False),
        ({"field": "start", "op": "lt", "value": "2026-12-31"}, True),
        ({"field": "start", "op": "lte", "value": "2025-12-31"}, False),
        ({"field": "count", "op": "gt", "value": "2026-01-01"}, False),
        ({"field": "kind", "op": "lt", "value": 5}, False),
        ({"field": "missing", "op": "gt", "value": 0}, False),
        ({"field": "note", "op": "lt", "value": "z"}, False),
        ({"field": "kind", "op": "filled"}, True),
        ({"field": "note", "op": "filled"}, False),
        ({"field": "missing", "op": "filled"}, False),
        ({"field": "note", "op": "empty"}, True),
        ({"field": "missing", "op": "empty"}, True),
        ({"field": "count", "op": "empty"}, False),
        ({"field": "options", "op": "contains", "value": "a"}, True),
        ({"field": "options", "op": "contains", "value": "b"}, False),
        ({"field": "kind", "op": "contains", "value": "bus"}, False),
        (
            {
                "all": [
                    {"field": "kind", "op": "filled"},
                    {"field": "count", "op": "gt", "value": 1},
                ]
            },
            True,
        ),
        ({"all": [{"field": "kind", "op": "filled"}, {"field": "note", "op": "filled"}]}, False),
        (
            {
                "any": [
                    {"field": "note", "op": "filled"},
                    {"field": "count", "op": "gt", "value": 1},
                ]
            },
            True,
        ),
        ({"any": [{"field": "note", "op": "filled"}, {"field": "missing", "op": "filled"}]}, False),
        ({"not": {"field": "note", "op": "filled"}}, True),
        ({"not": {"field": "kind", "op": "filled"}}, False),
        ({"field": "kind", "op": "matches", "value": "b.*"}, False),
        ({"field": 3, "op": "filled"}, False),
        ({"all": "kind"}, False),
        ("kind", False),
        (None, False),
    ],
)
def test_conditions_evaluate_each_operator(condition, holds):
    assert evaluate(condition, ANSWERS) is holds


def test_a_condition_inside_an_item_reads_the_item_before_the_top_level_answers():
    condition = {"field": "kind", "op": "equals", "value": "child"}
    assert evaluate(condition, {"kind": "adult"}, {"kind": "child"}) is True
    assert evaluate(condition, {"kind": "child"}, {}) is True
    assert evaluate(condition, {"kind": "adult"}, {}) is False


def conditional_form():
    return single_step(
        field("kind", "choice", required=True, **KIND_CHOICES),
        field(
            "corporate",
            "corporate_number",
            required=True,
            condition={"field": "kind", "op": "equals", "value": "business"},
        ),
    )


def test_a_hidden_field_is_not_required():
    result = engine.validate(conditional_form(), {"kind": "individual"})
    assert result.errors == {}
    assert result.data == {"kind": "individual"}


@pytest.mark.usefixtures("english")
def test_a_shown_field_is_required():
    result = engine.validate(conditional_form(), {"kind": "business"})
    assert result.errors == {"corporate": ["This field is required."]}


def test_hidden_fields_are_dropped_from_the_stored_answers():
    result = engine.validate(
        conditional_form(), {"kind": "individual", "corporate": valid_corporate_number()}
    )
    assert result.is_valid
    assert result.data == {"kind": "individual"}


def test_a_hidden_fields_invalid_answer_is_not_an_error():
    result = engine.validate(conditional_form(), {"kind": "individual", "corporate": "oops"})
    assert result.errors == {}


def test_a_condition_sees_the_cleaned_answer():
    checked = single_step(
        field("children", "integer"),
        field(
            "names", "text", required=True, condition={"field": "children", "op": "gte", "value": 2}
        ),
    )
    assert "names" in engine.validate(checked, {"children": "２"}).errors
    assert engine.validate(checked, {"children": "1"}).errors == {}


def test_a_field_hidden_because_the_field_it_depends_on_is_hidden_is_hidden_too():
    chained = single_step(
        field("has_business", "consent"),
        field(
            "business_kind",
            "choice",
            condition={"field": "has_business", "op": "equals", "value": True},
            **KIND_CHOICES,
        ),
        field(
            "detail",
            "text",
            required=True,
            condition={"field": "business_kind", "op": "filled"},
        ),
    )
    answers = {"has_business": False, "business_kind": "other", "detail": "残ってはいけない"}
    result = engine.validate(chained, answers)
    assert result.errors == {}
    assert result.data == {}

    shown = engine.validate(chained, {**answers, "has_business": True})
    assert shown.data == {
        "has_business": True,
        "business_kind": "other",
        "detail": "残ってはいけない",
    }


def stepped_form():
    return form(
        step("applicant", field("filer", "choice", required=True, **KIND_CHOICES)),
        step(
            "business",
            field("corporate", "corporate_number", required=True),
            field("trade_name", "text"),
            condition={"field": "filer", "op": "equals", "value": "business"},
        ),
        step("confirm", field("agree", "consent", required=True)),
    )


def test_a_hidden_steps_fields_are_neither_required_nor_kept():
    answers = {"filer": "individual", "trade_name": "山田商店", "agree": True}
    result = engine.validate(stepped_form(), answers)
    assert result.errors == {}
    assert result.data == {"filer": "individual", "agree": True}
    assert [s["key"] for s in engine.visible_steps(stepped_form(), answers)] == [
        "applicant",
        "confirm",
    ]


@pytest.mark.usefixtures("english")
def test_a_shown_steps_fields_are_checked():
    result = engine.validate(stepped_form(), {"filer": "business", "agree": "on"})
    assert result.errors == {"corporate": ["This field is required."]}
    assert [s["key"] for s in engine.visible_steps(stepped_form(), {"filer": "business"})] == [
        "applicant",
        "business",
        "confirm",
    ]


def test_a_step_hidden_by_an_invalid_answer_stays_hidden():
    result = engine.validate(stepped_form(), {"filer": "company", "corporate": "x"})
    assert set(result.errors) == {"filer", "agree"}


# --- only_steps ----------------------------------------------------------------------------


@pytest.mark.usefixtures("english")
def test_only_steps_restricts_the_errors_but_keeps_other_steps_valid_answers():
    two_steps = form(
        step("one", field("a", "text"), field("b", "integer", required=True)),
        step("two", field("c", "email", required=True), field("d", "integer")),
    )
    answers = {"a": " 保存 ", "b": "", "d": "x"}
    result = engine.validate(two_steps, answers, only_steps=["two"])
    assert result.errors == {
        "c": ["This field is required."],
        "d": ["Enter a whole number."],
    }
    assert result.data == {"a": "保存"}

    first = engine.validate(two_steps, answers, only_steps=["one"])
    assert first.errors == {"b": ["This field is required."]}
    assert first.data == {"a": "保存"}


def test_only_steps_with_no_steps_reports_no_errors():
    result = engine.validate(stepped_form(), {"filer": "nobody"}, only_steps=[])
    assert result.errors == {}


def test_step_of_path_finds_the_step_of_a_field_or_group_item():
    grouped = household_form()
    assert engine.step_of_path(grouped, "household.1.birth_date") == "family"
    assert engine.step_of_path(grouped, "applicant") == "main"
    assert engine.step_of_path(grouped, "nobody") is None


# --- Repeating groups ----------------------------------------------------------------------

RELATIONS = {
    "choices": [
        {"value": "spouse", "label": {"ja": "配偶者"}},
        {"value": "child", "label": {"ja": "子"}},
        {"value": "other", "label": {"ja": "その他"}},
    ]
}


def household_form(**group_attributes):
    return form(
        step("main", field("applicant", "text", required=True)),
        step(
            "family",
            field(
                "household",
                "group",
                fields=[
                    field("relation", "choice", required=True, **RELATIONS),
                    field("birth_date", "date", required=True),
                    field(
                        "relation_detail",
                        "text",
                        required=True,
                        condition={"field": "relation", "op": "equals", "value": "other"},
                    ),
                ],
                **group_attributes,
            ),
        ),
    )


def test_group_items_are_cleaned_one_by_one():
    answers = {
        "applicant": "山田太郎",
        "household": [
            {"relation": "spouse", "birth_date": "昭和60年3月3日"},
            {"relation": "child", "birth_date": "R2.1.1", "relation_detail": "hidden"},
        ],
    }
    result = engine.validate(household_form(), answers)
    assert result.errors == {}
    assert result.data["household"] == [
        {"relation": "spouse", "birth_date": "1985-03-03"},
        {"relation": "child", "birth_date": "2020-01-01"},
    ]


@pytest.mark.usefixtures("english")
def test_group_errors_are_keyed_by_group_index_and_field():
    answers = {
        "applicant": "山田太郎",
        "household": [
            {"relation": "spouse", "birth_date": "1985-03-03"},
            {"relation": "child", "birth_date": "令和元年4月30日"},
            {"relation": "other"},
        ],
    }
    result = engine.validate(household_form(), answers)
    assert result.errors == {
        "household.1.birth_date": ["Enter a real date, for example 2026-04-01 or 令和8年4月1日."],
        "household.2.birth_date": ["This field is required."],
        "household.2.relation_detail": ["This field is required."],
    }


def test_a_condition_inside_an_item_refers_to_its_sibling():
    answers = {
        "applicant": "山田太郎",
        "household": [
            {"relation": "other", "birth_date": "2000-01-01", "relation_detail": "祖母"},
            {"relation": "child", "birth_date": "2010-01-01", "relation_detail": "祖母"},
        ],
    }
    result = engine.validate(household_form(), answers)
    assert result.errors == {}
    assert result.data["household"][0]["relation_detail"] == "祖母"
    assert "relation_detail" not in result.data["household"][1]


def member(year):
    return {"relation": "child", "birth_date": f"{year}-01-01"}


@pytest.mark.usefixtures("english")
def test_a_group_needs_at_least_min_items():
    result = engine.validate(
        household_form(min_items=2), {"applicant": "a", "household": [member(2010)]}
    )
    assert result.errors == {"household": ["Enter at least 2 items."]}


@pytest.mark.usefixtures("english")
def test_a_group_accepts_at_most_max_items_and_keeps_the_first_ones():
    answers = {"applicant": "a", "household": [member(2010), member(2011), member(2012)]}
    result = engine.validate(household_form(max_items=2), answers)
    assert result.errors == {"household": ["Enter at most 2 items."]}
    assert result.data["household"] == [
        {"relation": "child", "birth_date": "2010-01-01"},
        {"relation": "child", "birth_date": "2011-01-01"},
    ]


@pytest.mark.usefixtures("english")
def test_a_group_accepts_twenty_items_by_default():
    items = [member(2000 + index) for index in range(21)]
    result = engine.validate(household_form(), {"applicant": "a", "household": items})
    assert result.errors == {"household": ["Enter at most 20 items."]}
    assert len(result.data["household"]) == 20
    result = engine.validate(household_form(), {"applicant": "a", "household": items[:20]})
    assert result.errors == {}


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("household", [None, "", []])
def test_a_required_group_needs_one_item(household):
    result = engine.validate(
        household_form(required=True), {"applicant": "a", "household": household}
    )
    assert result.errors == {"household": ["Enter at least 1 items."]}


def test_an_optional_group_may_have_no_items():
    result = engine.validate(household_form(), {"applicant": "a", "household": []})
    assert result.errors == {}
    assert result.data == {"applicant": "a"}


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("household", ["家族", {"relation": "child"}, [member(2010), "x"], 3])
def test_a_group_answer_that_is_not_a_list_of_objects_is_rejected(household):
    result = engine.validate(household_form(), {"applicant": "a", "household": household})
    assert result.errors == {"household": ["Enter the items again."]}
    assert "household" not in result.data


def test_required_if_on_a_group_requires_an_item():
    grouped = single_step(
        field("has_family", "consent"),
        field(
            "household",
            "group",
            required_if={"field": "has_family", "op": "equals", "value": True},
            fields=[field("relation", "choice", required=True, **RELATIONS)],
        ),
    )
    with translation.override("en"):
        result = engine.validate(grouped, {"has_family": True, "household": []})
    assert result.errors == {"household": ["Enter at least 1 items."]}
    assert engine.validate(grouped, {"has_family": False, "household": []}).errors == {}


@pytest.mark.usefixtures("english")
def test_required_if_inside_an_item_reads_the_sibling():
    grouped = single_step(
        field(
            "household",
            "group",
            fields=[
                field("relation", "choice", required=True, **RELATIONS),
                field(
                    "note",
                    "text",
                    required_if={"field": "relation", "op": "equals", "value": "other"},
                ),
            ],
        )
    )
    result = engine.validate(grouped, {"household": [{"relation": "other"}, {"relation": "child"}]})
    assert result.errors == {"household.0.note": ["This field is required."]}


# --- Never an exception --------------------------------------------------------------------


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("answers", [[], "answers", None, 3, ["answer", "x"], True])
def test_answers_that_are_not_an_object_are_one_error_at_the_root(answers):
    result = engine.validate(stepped_form(), answers)
    assert result.errors == {"": ["The answers must be a JSON object."]}
    assert result.data == {}


ALL_SCALAR_TYPES = [
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
    "choice",
    "multi_choice",
    "consent",
    "file",
    "my_number",
    "corporate_number",
]

WRONG_TYPES = [
    ("text", ["a"]),
    ("text", {"a": "b"}),
    ("text", True),
    ("textarea", ["a", "b"]),
    ("integer", {"n": 1}),
    ("integer", True),
    ("integer", [1]),
    ("integer", "1.5"),
    ("decimal", True),
    ("decimal", {"n": "1"}),
    ("decimal", [1.5]),
    ("date", 20260401),
    ("date", ["2026-04-01"]),
    ("date", {"y": 2026}),
    ("date", True),
    ("email", 5),
    ("email", ["a@example.jp"]),
    ("phone", 312345678),
    ("phone", ["0312345678"]),
    ("postal_code", {"code": "1000001"}),
    ("postal_code", True),
    ("address", "東京都"),
    ("address", ["100-0001"]),
    ("address", 1000001),
    ("address", {"postal_code": ["100-0001"], "street": "1"}),
    ("name", "山田太郎"),
    ("name", {"family": 1, "given": 2}),
    ("choice", ["a"]),
    ("choice", {"a": 1}),
    ("choice", 1),
    ("multi_choice", {"a": True}),
    ("multi_choice", [1]),
    ("multi_choice", 1.5),
    ("consent", "yes"),
    ("consent", {"x": 1}),
    ("consent", [True]),
    ("file", 123),
    ("file", [1]),
    ("file", {"id": "a"}),
    ("my_number", ["123456789018"]),
    ("my_number", 1.5),
    ("my_number", True),
    ("corporate_number", {"a": "1"}),
    ("corporate_number", [1]),
    ("group", "x"),
    ("group", [1]),
    ("group", {"a": 1}),
    ("group", True),
]


@pytest.mark.parametrize(("kind", "raw"), WRONG_TYPES)
def test_an_answer_of_the_wrong_json_type_is_a_keyed_error_not_an_exception(kind, raw):
    attributes = dict(CHOICES) if kind in ("choice", "multi_choice") else {}
    if kind == "group":
        attributes["fields"] = [field("sub", "text")]
    result = engine.validate(single(kind, **attributes), {"answer": raw})
    assert list(result.errors) == ["answer"]
    assert all(isinstance(message, str) and message for message in result.errors["answer"])
    assert "answer" not in result.data


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("kind", ALL_SCALAR_TYPES)
def test_a_required_field_of_every_type_reports_a_missing_answer(kind):
    attributes = dict(CHOICES) if kind in ("choice", "multi_choice") else {}
    result = engine.validate(single(kind, required=True, **attributes), {})
    expected = "Tick the box to agree." if kind == "consent" else "This field is required."
    assert result.errors == {"answer": [expected]}


def test_answers_to_unknown_keys_are_ignored():
    result = engine.validate(single("text"), {"answer": "x", "extra": {"deep": [1, 2]}})
    assert result.errors == {}
    assert result.data == {"answer": "x"}


@pytest.mark.usefixtures("english")
def test_a_deeply_nested_answer_is_an_error_not_an_exception():
    # json.loads accepts this depth; the engine must not recurse once per level.
    depth = 600
    answers = json.loads('{"answer": ' + '{"a": ' * depth + "1" + "}" * depth + "}")
    result = engine.validate(single("integer", required=True), answers)
    assert result.errors == {"answer": ["Enter a whole number."]}


def test_a_date_past_the_end_of_its_era_does_not_exist():
    assert parse_date("平成31年4月30日") == date(2019, 4, 30)
    assert parse_date("平成31年5月1日") is None
    assert parse_date("平成32年1月1日") is None
    assert parse_date("令和2年1月1日") == date(2020, 1, 1)


def test_trailing_zeros_do_not_count_as_decimal_places():
    spec = {"key": "area", "type": "decimal", "label": {"ja": "面積"}, "decimal_places": 1}
    assert CLEANERS["decimal"](spec, "1.50") == "1.50"


def test_postal_codes_are_looked_up_from_several_threads_at_once():
    import threading

    from procedures.form_engine.fields import postal_lookup

    results, errors = [], []

    def look_up():
        try:
            results.append(postal_lookup("100-0001"))
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=look_up) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(result["city"] == "千代田区" for result in results)


@pytest.mark.usefixtures("english")
def test_a_field_type_that_fails_unexpectedly_is_logged_without_the_answer(monkeypatch, caplog):
    answer = "山田花子 090-1234-5678"

    def broken_cleaner(spec, value):
        # A bug whose message quotes the answer, as int(value) or a KeyError would.
        raise ValueError(f"cannot read {value!r}")

    # A field type with a bug, registered the way every field type is.
    monkeypatch.setitem(CLEANERS, "text", broken_cleaner)
    with caplog.at_level(logging.ERROR, logger="procedures.form_engine.engine"):
        result = engine.validate(single("text", required=True), {"answer": answer})

    assert result.errors == {"answer": ["This answer could not be checked. Please enter it again."]}
    [record] = [record for record in caplog.records if record.levelno == logging.ERROR]
    logged = caplog.text
    assert "'answer'" in record.getMessage() and "'text'" in record.getMessage()
    assert record.exc_info is not None  # the traceback, to find the bug
    assert "broken_cleaner" in logged and "ValueError" in logged
    assert answer not in logged
    assert "山田花子" not in logged and "090-1234-5678" not in logged
