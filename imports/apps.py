from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Import jobs"
    default_auto_field = "django.db.models.BigAutoField"
