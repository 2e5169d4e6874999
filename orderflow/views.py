from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found, server_error

from orderflow.api.errors import problem_json_response
from orderflow.health import run_checks

MACHINE_PREFIXES = ("/api/", "/bridge/", "/healthz")


@never_cache
@require_GET
def healthz(request):
    checks = run_checks()
    healthy = all(value == "ok" for value in checks.values())
    failing = sorted(name for name, value in checks.items() if value != "ok")
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=200 if healthy else 503)


def api_not_found(request, *args, **kwargs):
    return problem_json_response(
        status_code=404, code="not_found", detail=f"No API resource at {request.path}."
    )


def handler404(request, exception=None):
    if request.path.startswith(MACHINE_PREFIXES):
        return api_not_found(request)
    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith(MACHINE_PREFIXES):
        return problem_json_response(
            status_code=500, code="server_error",
            detail="An unexpected error occurred; it has been logged.",
        )
    return server_error(request)
