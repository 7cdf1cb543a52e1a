"""Conditions read as Japanese sentences: every condition ends in a form that 場合
follows directly (「…である場合のみ」, never 「…であるの場合のみ」)."""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.translation import gettext as _

from procedures.form_engine.html import describe_condition

SPECS = {
    "kind": {
        "key": "kind",
        "type": "choice",
        "label": {"ja": "種別", "en": "Kind"},
        "options": [
            {"value": "new", "label": {"ja": "新規", "en": "New"}},
            {"value": "renewal", "label": {"ja": "更新", "en": "Renewal"}},
        ],
    },
    "count": {"key": "count", "type": "integer", "label": {"ja": "部数", "en": "Copies"}},
}
CONDITIONS = [
    {"field": "kind", "op": "eq", "value": "new"},
    {"field": "kind", "op": "neq", "value": "new"},
    {"field": "kind", "op": "one_of", "value": ["new", "renewal"]},
    {"field": "count", "op": "gte", "value": 2},
    {"field": "count", "op": "filled"},
    {
        "all": [
            {"field": "kind", "op": "eq", "value": "new"},
            {"field": "count", "op": "gt", "value": 1},
        ]
    },
]


@pytest.mark.parametrize("condition", CONDITIONS)
@pytest.mark.parametrize(
    "sentence", ["Shown only if %(condition)s.", "Only if %(condition)s.", "only if %(condition)s"]
)
def test_a_condition_reads_as_japanese(condition, sentence):
    with translation.override("ja"):
        text = _(sentence) % {"condition": describe_condition(condition, SPECS)}
    assert "場合" in text
    assert "の場合" not in text, text
    assert "であるの" not in text and "：" not in text, text
