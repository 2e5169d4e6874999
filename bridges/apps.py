from django.apps import AppConfig


class BridgesConfig(AppConfig):
    name = "bridges"
    default_auto_field = "django.db.models.BigAutoField"
