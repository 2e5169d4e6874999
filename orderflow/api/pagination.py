from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, LimitOffsetPagination


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


class LimitOffsetPage(LimitOffsetPagination):
    """Numbered pages with a total, for small reference lists such as the catalog."""

    default_limit = 50
    max_limit = 200
