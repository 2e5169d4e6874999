"""Storefront credentials: ``Authorization: Bearer of_…`` plus an optional shopper token."""

from __future__ import annotations

import time

from django.conf import settings
from rest_framework import authentication, exceptions

from bridges.keys import hash_key, parse_key, shopper_token_read
from bridges.models import ApiKey
from customers.models import Customer

SHOPPER_HEADER = "HTTP_X_STOREFRONT_SHOPPER_TOKEN"


class StorefrontUser:
    """``request.user`` for a storefront key: not a Django user, never staff."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True
    pk = None

    def __init__(self, api_key: ApiKey, customer: Customer | None):
        self.api_key = api_key
        self.customer = customer

    def has_perm(self, perm, obj=None):
        return False

    def has_perms(self, perms, obj=None):
        return False

    def __str__(self):
        return f"api key {self.api_key.prefix}"


# key hash -> (monotonic expiry, ApiKey). Every storefront request authenticates, and the key
# row almost never changes, so each server process keeps what it read for a few seconds
# (ORDERFLOW_API_KEY_CACHE_SECONDS): a revocation reaches every process within that time,
# and this process at once.
_key_cache: dict[str, tuple[float, ApiKey]] = {}
_KEY_CACHE_MAX = 1024


def api_key_cache_forget(key_hash: str | None = None) -> None:
    if key_hash is None:
        _key_cache.clear()
    else:
        _key_cache.pop(key_hash, None)


def _api_key_by_hash(key_hash: str) -> ApiKey | None:
    ttl = settings.ORDERFLOW_API_KEY_CACHE_SECONDS
    now = time.monotonic()
    hit = _key_cache.get(key_hash) if ttl > 0 else None
    if hit is not None and hit[0] > now:
        return hit[1]
    api_key = ApiKey.objects.filter(key_hash=key_hash).first()
    if api_key is not None and ttl > 0:
        if len(_key_cache) >= _KEY_CACHE_MAX:
            _key_cache.clear()
        _key_cache[key_hash] = (now + ttl, api_key)
    return api_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(f"{self.keyword} of_"):
            if request.META.get(SHOPPER_HEADER):
                raise exceptions.AuthenticationFailed(
                    "A shopper token needs the secret API key that it was issued to.")
            return None  # not ours: let Basic/session try
        raw = header[len(self.keyword) + 1:].strip()
        if parse_key(raw) is None:
            raise exceptions.AuthenticationFailed("Malformed API key.")
        api_key = _api_key_by_hash(hash_key(raw))
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown API key.")
        if not api_key.is_active:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        customer = self.shopper(request, api_key)
        return StorefrontUser(api_key, customer), api_key

    def shopper(self, request, api_key: ApiKey) -> Customer | None:
        token = request.META.get(SHOPPER_HEADER)
        if not token:
            return None
        payload = shopper_token_read(token)
        if payload is None or payload.get("k") != api_key.public_id:
            raise exceptions.AuthenticationFailed("Invalid or expired shopper token.")
        customer = (Customer.objects.select_related("company__price_list")
                    .filter(public_id=payload.get("c"), is_active=True).order_by().first())
        if customer is None:
            raise exceptions.AuthenticationFailed("The shopper of this token no longer exists.")
        return customer

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'
