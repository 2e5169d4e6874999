"""Every API error is ``application/problem+json`` (RFC 9457) with a stable ``code``."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, JsonResponse
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions, status
from rest_framework.response import Response

from orderflow.errors import DomainError

logger = logging.getLogger("orderflow.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"

# DRF's own default codes are stable already; these are the ones we rename for clarity.
DRF_CODES = {
    "invalid": "validation_error",
    "not_authenticated": "not_authenticated",
    "authentication_failed": "authentication_failed",
    "permission_denied": "permission_denied",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "not_acceptable": "not_acceptable",
    "unsupported_media_type": "unsupported_media_type",
    "parse_error": "malformed_request",
    "throttled": "throttled",
}

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem_type(code: str) -> str:
    return f"urn:orderflow:problem:{code}"


def problem(*, status_code: int, code: str, detail: str, title: str | None = None,
            errors: dict | None = None, **extra) -> dict:
    body = {
        "type": problem_type(code),
        "title": title or TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def problem_response(**kwargs) -> Response:
    body = problem(**kwargs)
    return Response(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE)


def problem_json_response(request=None, **kwargs) -> JsonResponse:
    """For plain Django views (404/500 handlers, bridge endpoint, healthz)."""
    body = problem(**kwargs)
    return JsonResponse(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE)


# A dependency that cannot be reached (the database, the broker, Redis): 503, not a bug.
OUTAGES = (DatabaseOperationalError, DatabaseInterfaceError, BrokerOperationalError,
           RedisConnectionError, RedisTimeoutError)
RETRY_AFTER_SECONDS = 5


def is_outage(exc) -> bool:
    return isinstance(exc, OUTAGES)


def outage_detail() -> dict:
    return {"status_code": 503, "code": "service_unavailable",
            "detail": "A service OrderFlow depends on is unavailable; nothing was changed. "
                      "Try again shortly."}


def outage_response() -> JsonResponse:
    """503 problem+json with Retry-After; the error's own text (host, port) is never shown."""
    logger.warning("dependency unavailable", exc_info=True)
    response = problem_json_response(**outage_detail())
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {
            key: _messages(value) if not isinstance(value, dict) else field_errors(value)
            for key, value in detail.items()
        }
    return {"nonfield_errors": _messages(detail)}


def _messages(value) -> list:
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict):
                out.append(field_errors(item))
            else:
                out.append(str(item))
        return out
    return [str(value)]


def problem_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return problem_response(
            status_code=exc.status, code=exc.code, detail=exc.detail,
            title=exc.title, errors=exc.errors, **exc.extra,
        )
    if is_outage(exc):
        logger.warning("dependency unavailable", exc_info=exc)
        response = problem_response(**outage_detail())
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: let Django log it and answer through handler500

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.ValidationError):
        response = problem_response(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="validation_error",
            detail="The request has invalid fields; see errors.",
            title="Invalid input",
            errors=field_errors(exc.detail),
        )
    else:
        default_code = getattr(exc, "default_code", "error")
        # A permission class may name its own code (e.g. secret_key_required).
        code = getattr(exc.detail, "code", None) or default_code
        code = DRF_CODES.get(code, code)
        response = problem_response(
            status_code=exc.status_code, code=code, detail=str(exc.detail),
        )
    for key, value in headers.items():
        response[key] = value
    return response
