import sys

from django.http import JsonResponse
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from django.views.defaults import bad_request, page_not_found, permission_denied, server_error

from orderflow.api.errors import is_outage, outage_response, problem_json_response
from orderflow.health import run_checks

MACHINE_PREFIXES = ("/api/", "/bridge/", "/healthz", "/readyz")


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


@never_cache
@require_GET
def readyz(request):
    """Readiness for a load balancer: 200 when this process can serve (database and broker
    reachable), else 503 with ``Retry-After`` and the names of what is down."""
    checks = run_checks()
    failing = sorted(name for name, value in checks.items() if value != "ok")
    if not failing:
        return JsonResponse({"status": "ready"})
    response = JsonResponse({"status": "unavailable", "failing": failing}, status=503)
    response["Retry-After"] = "5"
    return response


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    return problem_json_response(
        status_code=404, code="not_found", detail=f"No API resource at {request.path}."
    )


def handler400(request, exception=None):
    if request.path.startswith(MACHINE_PREFIXES):
        return problem_json_response(status_code=400, code="malformed_request",
                                     detail="The request could not be read.")
    return bad_request(request, exception)


def handler403(request, exception=None):
    if request.path.startswith(MACHINE_PREFIXES):
        return problem_json_response(status_code=403, code="permission_denied",
                                     detail="You do not have permission for this request.")
    return permission_denied(request, exception)


def handler404(request, exception=None):
    if request.path.startswith(MACHINE_PREFIXES):
        return api_not_found(request)
    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith(MACHINE_PREFIXES):
        if is_outage(sys.exc_info()[1]):
            return outage_response()
        return problem_json_response(
            status_code=500, code="server_error",
            detail="An unexpected error occurred; it has been logged.",
        )
    return server_error(request)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: problem+json under /api/ and /bridge/, Django's page elsewhere."""
    if request.path.startswith(MACHINE_PREFIXES):
        return problem_json_response(status_code=403, code="csrf_failed",
                                     detail="CSRF verification failed.")
    return django_csrf_failure(request, reason=reason)
