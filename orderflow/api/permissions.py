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

    def _queryset(self, view):
        """The model whose permissions apply: the view's ``queryset`` attribute when it has
        one (``Model.objects.none()``), as DRF does for views without ``get_queryset()``.
        DRF would call ``get_queryset()`` first, building a list's scoped queryset (and its
        principal's lookups) once for the check and again for the list; the views that have
        both name the same model in each."""
        queryset = getattr(view, "queryset", None)
        if queryset is not None:
            return queryset
        return super()._queryset(view)
