from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, LimitOffsetPagination


def strict_int(request, name: str, *, default: int, minimum: int, maximum: int | None) -> int:
    """A paging parameter as sent, or 400: ``limit=null``, ``limit=²`` or ``limit=0`` are
    refused instead of quietly read as the default (schemathesis ST201)."""
    if name not in request.query_params:
        return default
    raw = request.query_params[name]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise ValidationError({name: ["Expected a whole number."]})
    value = int(raw)
    if value < minimum:
        raise ValidationError({name: [f"Must be at least {minimum}."]})
    return min(value, maximum) if maximum is not None else value


def with_bounds(parameters: list, bounds: dict) -> list:
    for parameter in parameters:
        if parameter.get("name") in bounds:
            parameter.setdefault("schema", {}).update(bounds[parameter["name"]])
    return parameters


class CursorPage(CursorPagination):
    """Stable pages for lists that change while being read (orders, events)."""

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = ("-created_at", "-id")

    def decode_cursor(self, request):
        # A cursor the client mangled is bad input (400), not a missing resource.
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": ["Invalid cursor."]}) from None

    def get_page_size(self, request):
        return strict_int(request, "limit", default=self.page_size, minimum=1,
                          maximum=self.max_page_size)

    def get_schema_operation_parameters(self, view):
        return with_bounds(super().get_schema_operation_parameters(view),
                           {"limit": {"minimum": 1}})


class LimitOffsetPage(LimitOffsetPagination):
    """Numbered pages with a total, for small reference lists such as the catalog."""

    default_limit = 50
    max_limit = 200

    def get_limit(self, request):
        return strict_int(request, "limit", default=self.default_limit, minimum=1,
                          maximum=self.max_limit)

    def get_offset(self, request):
        return strict_int(request, "offset", default=0, minimum=0, maximum=None)

    def get_schema_operation_parameters(self, view):
        return with_bounds(super().get_schema_operation_parameters(view),
                           {"limit": {"minimum": 1}, "offset": {"minimum": 0}})
