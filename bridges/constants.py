from django.db import models


class KeyKind(models.TextChoices):
    PUBLISHABLE = "pub", "Publishable"
    SECRET = "sec", "Secret"


class KeyMode(models.TextChoices):
    TEST = "test", "Test"
    LIVE = "live", "Live"


class Ordering(models.TextChoices):
    PARALLEL = "parallel", "Parallel (receivers use sequence to drop stale events)"
    STRICT = "strict", "Strict (the next event waits until the previous succeeded or died)"


class AckRule(models.TextChoices):
    NONE = "", "Any 2xx"
    CONTAINS = "contains", "2xx and the body contains the text"
    REGEX = "regex", "2xx and the body matches the regular expression"
    JSON_EQUALS = "json_equals", "2xx and a JSON field equals the value"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SUCCEEDED = "succeeded", "Succeeded"
    DEAD = "dead", "Dead"


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    RETRY = "retry", "Failed, will retry"
    DEAD = "dead", "Failed, dead"
    LOST = "lost", "Worker lost, will retry"


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV (one row per order line)"
    JSON = "json", "JSON (orders with their lines)"


class ExportDestination(models.TextChoices):
    URL = "url", "HTTPS URL (signed like webhooks)"
    DIRECTORY = "directory", "Directory on the server"


class ExportRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
