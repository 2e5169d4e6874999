"""Storefront credentials: ``Authorization: Bearer of_…`` plus an optional shopper token."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from bridges.access.credential_cache import CredentialCache
from bridges.access.keys import hash_key, parse_key, shopper_token_read
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


SECRET_KEY_REQUIRED = ("This path needs a secret API key; publishable keys may only read the "
                       "catalog and use anonymous carts.")


def _needs_secret_key(request) -> bool:
    """Whether the view this request is for refuses publishable keys (``SecretKey``)."""
    view = (getattr(request, "parser_context", None) or {}).get("view")
    return view is not None and any(getattr(permission, "needs_secret_key", False)
                                    for permission in view.get_permissions())


# Key hash -> the ApiKey row, kept a few seconds (see bridges.access.credential_cache).
_keys = CredentialCache()


def api_key_cache_forget(key_hash: str | None = None) -> None:
    _keys.forget(key_hash)


def _load_api_key(key_hash: str) -> ApiKey | None:
    return ApiKey.objects.filter(key_hash=key_hash).first()


def _api_key_by_hash(key_hash: str) -> ApiKey | None:
    return _keys.get(key_hash, _load_api_key)


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
        if not api_key.is_secret and request.META.get(SHOPPER_HEADER) \
                and _needs_secret_key(request):
            # The key is checked before the token, as a reader reads them: a publishable key
            # on a customer-scoped path is refused for that, whatever else it carries.
            raise exceptions.PermissionDenied(SECRET_KEY_REQUIRED, code="secret_key_required")
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
