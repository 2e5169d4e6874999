"""Admin for export_admin (registered on import from bridges/admin.py)."""
