from django.apps import AppConfig


class OrderflowConfig(AppConfig):
    name = "orderflow"
    verbose_name = "OrderFlow core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.backends.signals import connection_created

        from orderflow.db import native_utc_timestamps

        connection_created.connect(native_utc_timestamps,
                                   dispatch_uid="orderflow.native_utc_timestamps")
