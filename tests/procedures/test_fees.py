"""The fee of a filing and how it was reached, from the version's fee rules: the
lines the check page, the payment page and the receipts show."""

import pytest
from django.utils import translation

from procedures.fees import fee_amount, fee_breakdown

PER_COPY = {"kind": "per_item", "item_field": "copies", "unit_amount": 400}
ROAD = {
    "kind": "computed",
    "amount": 1000,
    "rules": [
        {
            "condition": {"field": "kind", "op": "equals", "value": "awning"},
            "amount": 1500,
            "label": {"ja": "占用料（日よけ）", "en": "Occupancy fee: Awning"},
        },
        {
            "condition": {"field": "area", "op": "gt", "value": 10},
            "amount": 3000,
            "label": {"ja": "10㎡超の加算", "en": "Surcharge for more than 10 m²"},
        },
    ],
}
WAIVED = {
    "kind": "fixed",
    "amount": 18300,
    "waivers": [
        {
            "condition": {"field": "assistance", "op": "equals", "value": "yes"},
            "label": {"ja": "生活保護受給世帯", "en": "Household on public assistance"},
        }
    ],
}


def _texts(fee, answers, language):
    with translation.override(language):
        return [line.text for line in fee_breakdown(fee, answers).lines]


@pytest.mark.parametrize(
    ("language", "lines"),
    [("ja", ["400円 × 3通 = 1,200円"]), ("en", ["400 yen × 3 copies = 1,200 yen"])],
)
def test_a_per_copy_fee_shows_the_multiplication(language, lines):
    assert fee_breakdown(PER_COPY, {"copies": 3}).total == 1200
    assert _texts(PER_COPY, {"copies": 3}, language) == lines


def test_one_copy_is_singular_in_english():
    assert _texts(PER_COPY, {"copies": 1}, "en") == ["400 yen × 1 copy = 400 yen"]


def test_a_computed_fee_lists_its_base_and_each_rule_that_holds():
    answers = {"kind": "awning", "area": 12}
    breakdown = fee_breakdown(ROAD, answers)
    assert breakdown.total == 5500
    assert _texts(ROAD, answers, "ja") == [
        "基本額：1,000円",
        "占用料（日よけ）：1,500円",
        "10㎡超の加算：3,000円",
    ]
    assert _texts(ROAD, {"kind": "awning", "area": 5}, "en") == [
        "Base fee: 1,000 yen",
        "Occupancy fee: Awning: 1,500 yen",
    ]


def test_a_waiver_that_applies_shows_what_it_takes_off():
    breakdown = fee_breakdown(WAIVED, {"assistance": "yes"})
    assert breakdown.total == 0
    assert breakdown.explained
    assert _texts(WAIVED, {"assistance": "yes"}, "ja") == [
        "手数料：18,300円",
        "減免（生活保護受給世帯）：−18,300円",
    ]
    # Without the waiver a fixed fee's one line says nothing the amount does not.
    plain = fee_breakdown(WAIVED, {"assistance": "no"})
    assert (plain.total, plain.explained) == (18300, False)


def test_no_fee_has_no_lines_and_the_amount_is_the_breakdowns_total():
    assert fee_breakdown({"kind": "none"}, {}).lines == ()
    for fee, answers in (
        (PER_COPY, {"copies": 2}),
        (PER_COPY, {"copies": "x"}),
        (ROAD, {"kind": "awning", "area": 20}),
        (WAIVED, {"assistance": "yes"}),
        ({"kind": "unknown"}, {}),
    ):
        breakdown = fee_breakdown(fee, answers)
        assert fee_amount(fee, answers) == breakdown.total
        assert breakdown.total == max(sum(line.amount for line in breakdown.lines), 0)
