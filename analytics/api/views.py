"""``GET /api/v1/analytics/daily`` and ``/summary``: rollups only, never the orders."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors
from analytics.api.permissions import AnalyticsViewer
from analytics.api.serializers import DailySerializer, SummarySerializer

FILTERS = [
    OpenApiParameter("channel", OpenApiTypes.STR, description="A channel code."),
    OpenApiParameter("company", OpenApiTypes.STR,
                     description="A company id: that company's figures only."),
]


def _filters(request) -> selectors.Filters:
    return selectors.Filters(channel=request.query_params.get("channel") or None,
                             company=request.query_params.get("company") or None)


class DailyApi(APIView):
    permission_classes = [AnalyticsViewer]

    @extend_schema(
        summary="Daily figures", responses={200: DailySerializer},
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=True,
                             description="First day (local to the deployment's TIME_ZONE)."),
            OpenApiParameter("to", OpenApiTypes.DATE, required=True,
                             description="Last day, inclusive; at most 366 days after from."),
            *FILTERS,
        ])
    def get(self, request):
        """One row per day × channel × currency (companies summed unless ``company`` is
        given). A range with ``from`` after ``to`` or over 366 days is ``invalid_range``."""
        first = selectors.parse_day(request.query_params.get("from"), "from")
        last = selectors.parse_day(request.query_params.get("to"), "to")
        rows = selectors.daily(first, last, _filters(request))
        return Response(DailySerializer({"from_": first, "to": last, "results": rows}).data)


class SummaryApi(APIView):
    permission_classes = [AnalyticsViewer]

    @extend_schema(
        summary="Period totals and change", responses={200: SummarySerializer},
        parameters=[
            OpenApiParameter("period", OpenApiTypes.STR, pattern=r"^\d{1,3}d$",
                             description="7d, 30d …: the last N days, today included "
                                         "(default 7d; at most 366d)."),
            *FILTERS,
        ])
    def get(self, request):
        """Totals of the period and of the period of the same length before it, with the
        change in percent, per currency."""
        days = selectors.parse_period(request.query_params.get("period"))
        data = selectors.summary(days, _filters(request))
        return Response(SummarySerializer({**data, "from_": data["from"]}).data)
