"""Admin for webhook_admin (registered on import from bridges/admin.py)."""
