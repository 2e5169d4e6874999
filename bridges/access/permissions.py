from rest_framework.permissions import BasePermission

from bridges.access.authentication import SECRET_KEY_REQUIRED, StorefrontUser
from orderflow.api.permissions import IsStaffWithModelPerms


def is_storefront(request) -> bool:
    return isinstance(request.user, StorefrontUser)


class StorefrontKey(BasePermission):
    """Any live storefront key (publishable or secret), or staff with the model permissions."""

    def has_permission(self, request, view):
        if is_storefront(request):
            return True
        return IsStaffWithModelPerms().has_permission(request, view)


class SecretKey(StorefrontKey):
    """Customer-scoped paths: a publishable key is refused with 403."""

    message = SECRET_KEY_REQUIRED
    code = "secret_key_required"
    # Read by authentication: a publishable key is refused here before its token is read.
    needs_secret_key = True

    def has_permission(self, request, view):
        if is_storefront(request):
            return request.user.api_key.is_secret
        return super().has_permission(request, view)


class ShopperToken(SecretKey):
    """The shopper's own data: a secret key with an ``X-Storefront-Shopper-Token``."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if is_storefront(request) and request.user.customer is None:
            self.message = "This path needs an X-Storefront-Shopper-Token naming the shopper."
            self.code = "shopper_token_required"
            return False
        return True
