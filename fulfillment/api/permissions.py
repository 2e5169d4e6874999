from rest_framework.permissions import BasePermission

from bridges.access.permissions import SecretKey, is_storefront


def _user(request):
    user = request.user
    if not (user and user.is_authenticated and user.is_active) or is_storefront(request):
        return None
    return user


def _staff_with(request, perms) -> bool:
    user = _user(request)
    return bool(user and user.is_staff and user.has_perms(perms))


def _supplier_login(request) -> bool:
    user = _user(request)
    return bool(user and hasattr(user, "supplier_login"))


class FulfillmentReader(SecretKey):
    """Reads: a storefront secret key (with a shopper token: the shopper's own), a signed-in
    buyer, approver or supplier login, or staff with the view permission. What each sees is
    decided row by row by the selectors (another principal's shipment or return is 404)."""

    def has_permission(self, request, view):
        user = _user(request)
        if user is not None and not user.is_staff:
            return True
        return super().has_permission(request, view)


class ShipmentWriter(BasePermission):
    """Staff who may change shipments, or a supplier login (its own supplier orders)."""

    message = "Shipping needs staff permissions on shipments or a supplier login."

    def has_permission(self, request, view):
        return _supplier_login(request) or _staff_with(
            request, ["fulfillment.view_shipment", "fulfillment.change_shipment"])


class ReturnRequester(SecretKey):
    """Opening a return: the shopper (secret key + shopper token), a signed-in buyer, or
    staff who may add returns."""

    def has_permission(self, request, view):
        user = _user(request)
        if user is not None:
            return user.is_staff and user.has_perm("fulfillment.add_return") \
                or not user.is_staff and not hasattr(user, "supplier_login")
        if is_storefront(request) and request.user.customer is None:
            self.message = "This path needs an X-Storefront-Shopper-Token naming the shopper."
            self.code = "shopper_token_required"
            return False
        return super().has_permission(request, view)


class ReturnManager(BasePermission):
    """Staff who may change returns (authorize, reject, receive, refund, close)."""

    message = "Managing returns needs staff permissions on returns."

    def has_permission(self, request, view):
        return _staff_with(request, ["fulfillment.view_return", "fulfillment.change_return"])
