"""Throttling: DRF rate limits per API key and per HTTP Basic user, a limit on wrong HTTP
Basic passwords checked *before* the password is hashed, and the answer django-axes gives
a locked-out login (admin, approvals, HTTP Basic).

Every refusal is 429 ``throttled`` with ``Retry-After`` (problem+json under /api/ and
/bridge/). Limits are settings with environment overrides (orderflow/config.py); the counts
live in the ``throttle`` cache (Redis when ``REDIS_URL`` is set, shared by every process;
otherwise per process).
"""

from __future__ import annotations

import math

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from orderflow.api.errors import problem_json_response

API_PREFIXES = ("/api/", "/bridge/")


class CacheThrottle(SimpleRateThrottle):
    """A DRF rate throttle counting in the ``throttle`` cache."""

    @property
    def cache(self):
        return caches["throttle"]

    def get_rate(self):
        # The current settings (DRF binds its class attribute once, at import).
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class BasicUserRateThrottle(CacheThrottle):
    """Requests of one user signed in with HTTP Basic (an ERP, a WMS)."""

    scope = "basic"

    def get_cache_key(self, request, view):
        if not isinstance(request.successful_authenticator, BasicAuthentication):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class BasicFailureThrottle(CacheThrottle):
    """Wrong HTTP Basic passwords from one client address. Only failures count, and the
    check comes before the password hash is computed (≈ a quarter second of CPU each)."""

    scope = "basic_failures"

    def _load(self, request) -> None:
        self.key = self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()

    def blocked(self, request) -> bool:
        self._load(request)
        return len(self.history) >= self.num_requests

    def record_failure(self, request) -> None:
        self._load(request)
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)


def throttled(wait: float | None) -> exceptions.Throttled:
    return exceptions.Throttled(wait=math.ceil(wait) if wait else None)


class ThrottledBasicAuthentication(BasicAuthentication):
    """HTTP Basic that refuses (429) a client address with too many recent wrong passwords
    before hashing, and answers 429 for a login django-axes has locked out."""

    def authenticate_credentials(self, userid, password, request=None):
        throttle = BasicFailureThrottle()
        if request is not None and throttle.blocked(request):
            raise throttled(throttle.wait())
        try:
            return super().authenticate_credentials(userid, password, request)
        except exceptions.AuthenticationFailed:
            if request is not None:
                throttle.record_failure(request)
                if getattr(request, "axes_locked_out", False):
                    raise throttled(lockout_seconds()) from None
            raise


class ThrottledBasicScheme(OpenApiAuthenticationExtension):
    """The OpenAPI description stays DRF's HTTP Basic (``basicAuth``)."""

    target_class = "orderflow.api.throttling.ThrottledBasicAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic"}


def lockout_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a locked-out login: 429 with Retry-After; problem+json on the
    API, a short page on the admin and approvals logins."""
    seconds = lockout_seconds()
    minutes = max(1, math.ceil(seconds / 60))
    detail = (f"Too many failed logins: this login is locked for {minutes} minutes. "
              "Staff can unlock it sooner in the admin (Axes → Access attempts).")
    if request.path.startswith(API_PREFIXES):
        response = problem_json_response(status_code=429, code="throttled", detail=detail)
    else:
        response = HttpResponse(
            f"<!doctype html><title>Too many failed logins</title><h1>Too many failed "
            f"logins</h1><p>{detail}</p>", status=429, content_type="text/html")
    response["Retry-After"] = str(seconds)
    return response


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for logins that come with a request (admin, approvals,
    HTTP Basic). ``authenticate()`` without a request (a management command, a test's
    ``client.login``) has no client to lock out: it is left to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
