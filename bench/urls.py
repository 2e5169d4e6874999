"""The application's URLs plus ``/bench/bare``: the floor the API is compared with.

The bare view is a plain Django view (no DRF, no database, no authentication) served by the
same gunicorn, through the same middleware, so it measures what any request costs before the
application does any work.
"""

from django.http import JsonResponse
from django.urls import include, path

from orderflow.urls import handler404, handler500  # noqa: F401  (the root URLconf names them)


def bare(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/bare", bare, name="bench-bare"),
    path("", include("orderflow.urls")),
]
