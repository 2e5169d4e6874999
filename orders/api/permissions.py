from rest_framework.permissions import BasePermission

from bridges.access.permissions import SecretKey, ShopperToken, is_storefront
from orderflow.api.permissions import IsStaffWithModelPerms


def _signed_in_member(request) -> bool:
    """A signed-in Django user who is not staff: an approver or a supplier login. What they
    may see is decided by the selectors, row by row."""
    user = request.user
    return bool(user and user.is_authenticated and user.is_active and not user.is_staff
                and not is_storefront(request))


class OrderReader(ShopperToken):
    """Lists: the shopper's own (storefront secret key + shopper token), staff with the
    view permission, or a signed-in approver."""

    def has_permission(self, request, view):
        return _signed_in_member(request) or super().has_permission(request, view)


class OrderDetailReader(SecretKey):
    def has_permission(self, request, view):
        return _signed_in_member(request) or super().has_permission(request, view)


class SignedInUser(BasePermission):
    """A Django user signed in by session or HTTP Basic (staff, approver or supplier login);
    never a storefront key. The service decides what the user may do."""

    message = "Sign in as a user (session or HTTP Basic); storefront keys cannot do this."
    code = "user_required"

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_active
                    and not is_storefront(request))


class SupplierOrStaff(SignedInUser):
    """A supplier login (sees its own supplier orders), or staff with the model
    permissions."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if hasattr(request.user, "supplier_login"):
            return True
        return IsStaffWithModelPerms().has_permission(request, view)


def _staff_with(request, perms) -> bool:
    user = request.user
    return bool(user and user.is_authenticated and user.is_active and user.is_staff
                and not is_storefront(request) and user.has_perms(perms))


class StaffOrderManager(BasePermission):
    """Staff who may change orders (status actions, export marks, invoices)."""

    def has_permission(self, request, view):
        return _staff_with(request, ["orders.view_order", "orders.change_order"])


class PaymentRecorder(BasePermission):
    """A storefront secret key (the payment integration of its channel), or staff who may
    change payments."""

    message = "Recording payment results needs a secret API key or staff permissions."

    def has_permission(self, request, view):
        if is_storefront(request):
            return request.user.api_key.is_secret
        return _staff_with(request, ["orders.view_order", "orders.change_payment"])
