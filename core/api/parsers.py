from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from core import input_limits


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, except that JSON nested deeper than Python's recursion
    limit is a parse error (400), not a crash (500), and that text and numbers no
    store can hold are refused (core/input_limits.py)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError(_("The JSON is nested too deeply.")) from error
        input_limits.check(data)
        return data


class FormParser(parsers.FormParser):
    """DRF's form parser, refusing text no store can hold (core/input_limits.py)."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _check_form(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, refusing text no store can hold in its fields
    (core/input_limits.py). Django already drops unprintable characters from the
    names of uploaded files."""

    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _check_form(result.data)
        return result


def _check_form(data) -> None:
    found = input_limits.problems_in_pairs(
        (name, value) for name, values in data.lists() for value in values
    )
    if found:
        raise input_limits.InputRejected(details=found)
