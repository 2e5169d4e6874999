"""DRF rate limit per storefront API key (``ORDERFLOW_THROTTLE_API_KEY``)."""

from __future__ import annotations

from bridges.access.authentication import ApiKeyAuthentication
from orderflow.api.throttling import CacheThrottle


class ApiKeyRateThrottle(CacheThrottle):
    scope = "api_key"

    def get_cache_key(self, request, view):
        if not isinstance(request.successful_authenticator, ApiKeyAuthentication):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
