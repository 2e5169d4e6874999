from rest_framework.permissions import BasePermission

from bridges.access.permissions import ShopperToken, is_storefront


class BuyerOrStaffReader(ShopperToken):
    """A buyer (secret key + shopper token; the selectors keep them to their company) or
    staff with the view permission of the view's model."""


class Buyer(ShopperToken):
    """The buyer's own decisions: a secret key with a shopper token, never staff."""

    def has_permission(self, request, view):
        if not is_storefront(request):
            self.message = "The buyer decides: a secret key with a shopper token."
            self.code = "shopper_token_required"
            return False
        return super().has_permission(request, view)


def _staff_with(request, perms) -> bool:
    user = request.user
    return bool(user and user.is_authenticated and user.is_active and user.is_staff
                and not is_storefront(request) and user.has_perms(perms))


class StaffQuoteManager(BasePermission):
    """Staff who build and send quotes."""

    message = "Staff with the quote permissions only."

    def has_permission(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return _staff_with(request, ["quotes.view_quote"])
        return _staff_with(request, ["quotes.view_quote", "quotes.change_quote"])
