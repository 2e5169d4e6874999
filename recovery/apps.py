from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recovery"
    verbose_name = "Abandoned-cart recovery"
