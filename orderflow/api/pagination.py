from rest_framework.pagination import CursorPagination, LimitOffsetPagination


class CursorPage(CursorPagination):
    """Stable pages for lists that change while being read (orders, events)."""

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = ("-created_at", "-id")


class LimitOffsetPage(LimitOffsetPagination):
    """Numbered pages with a total, for small reference lists such as the catalog."""

    default_limit = 50
    max_limit = 200
