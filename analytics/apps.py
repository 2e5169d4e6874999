from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Every outbox event about these aggregates marks the days its figures belong to dirty,
        # in the event's own transaction (orderflow.outbox.register_day_marker).
        from analytics.sources import DAY_MARKERS  # noqa: PLC0415 (app registry must be ready)
        from orderflow.outbox import register_day_marker  # noqa: PLC0415

        for label, marker in DAY_MARKERS.items():
            register_day_marker(label, marker)
