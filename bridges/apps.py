from django.apps import AppConfig


class BridgesConfig(AppConfig):
    name = "bridges"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from bridges.access import schema  # noqa: F401  registers the OpenAPI auth extension
