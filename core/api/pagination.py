"""Page parameters, read strictly.

DRF's paginators replace a page size they cannot read (`page_size=null`, `0`,
`-1`) with the default and cap one over the maximum, and answer a page number they
cannot read (`page=0`, `page=x`) with 404. A client that sent either has a bug the
answer hides, so here both are a 400 validation_failed naming the parameter, as
the schema documents: `page` is an integer of 1 or more (past the last page is
404), `page_size` an integer from 1 to the maximum. An empty value means the
default. A page parameter given twice (`?page_size=1&page_size=2`) is a 400 too:
the server cannot know which one was meant. The queue's cursor pages use the same
rules (`page_size_from_query`, `single_value`).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination, PageNumberPagination

from core.errors import ValidationFailed

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def single_value(query_params, name: str) -> str:
    """The one value of a query parameter that may be given once ('' if absent)."""
    values = query_params.getlist(name)
    if len(values) > 1:
        raise ValidationFailed(details={name: [_("Give this parameter only once.")]})
    return values[0].strip() if values else ""


def _positive_integer(value: str) -> int | None:
    # Digits only: int() would also take "+1", " 1", "1_000" and full-width digits.
    if not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if number >= 1 else None


def page_size_from_query(query_params, *, default: int, maximum: int) -> int:
    value = single_value(query_params, "page_size")
    if not value:
        return default
    size = _positive_integer(value)
    if size is None or size > maximum:
        raise ValidationFailed(
            details={"page_size": [_("Give a page size from 1 to %(max)d.") % {"max": maximum}]}
        )
    return size


def page_size_schema(maximum: int) -> dict:
    return {"type": "integer", "minimum": 1, "maximum": maximum}


class StandardPagination(PageNumberPagination):
    """Page-numbered lists for small collections; large ones (the clerk queue)
    use cursor pagination instead."""

    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    last_page_strings = ()  # the schema says integer: `page=last` is not one

    def get_page_size(self, request) -> int:
        return page_size_from_query(
            request.query_params, default=self.page_size, maximum=self.max_page_size
        )

    def get_page_number(self, request, paginator) -> int:
        value = single_value(request.query_params, self.page_query_param)
        if not value:
            return 1
        number = _positive_integer(value)
        if number is None:
            raise ValidationFailed(
                details={self.page_query_param: [_("Give a page number of 1 or more.")]}
            )
        return number

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = (
                    "A page number, 1 or more (default 1); past the last page is 404. Given once."
                )
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = page_size_schema(self.max_page_size)
                parameter["description"] = (
                    f"Results per page, 1 to {self.max_page_size} (default {self.page_size}). "
                    "Given once."
                )
        return parameters


class StrictCursorPagination(CursorPagination):
    """Cursor pages with the same strict page parameters. A cursor that does not
    decode is a 400 as well: DRF answers 404, which says the list is gone rather
    than that the link was mangled. Subclasses set `ordering`."""

    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request) -> int:
        return page_size_from_query(
            request.query_params, default=self.page_size, maximum=self.max_page_size
        )

    def decode_cursor(self, request):
        single_value(request.query_params, self.cursor_query_param)
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise ValidationFailed(
                details={self.cursor_query_param: [_("This link to a page is not valid.")]}
            ) from None

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.cursor_query_param:
                parameter["description"] = (
                    "From the `next` or `previous` link of another page. Given once."
                )
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = page_size_schema(self.max_page_size)
                parameter["description"] = (
                    f"Results per page, 1 to {self.max_page_size} (default {self.page_size}). "
                    "Given once."
                )
        return parameters
