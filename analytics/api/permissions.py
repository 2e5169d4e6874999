from rest_framework.permissions import BasePermission


class AnalyticsViewer(BasePermission):
    """Staff with the ``analytics.view`` permission (session or HTTP Basic)."""

    message = "Analytics need a staff user with the analytics.view permission."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff
                    and user.has_perm("analytics.view"))
