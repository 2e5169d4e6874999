from rest_framework.permissions import DjangoModelPermissions


class IsStaffWithModelPerms(DjangoModelPermissions):
    """Staff users (session or HTTP Basic) whose Django permissions cover the request.

    Unlike the DRF default, reads need the ``view`` permission too.
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.is_staff and user.is_active):
            return False
        if getattr(view, "_ignore_model_permissions", False):
            return True
        return super().has_permission(request, view)
