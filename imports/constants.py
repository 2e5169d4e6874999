from django.db import models


class ImportKind(models.TextChoices):
    PRODUCTS = "products", "Products"
    PRICE_LIST_ENTRIES = "price_list_entries", "Price list entries"
    COMPANIES = "companies", "Companies"
    CUSTOMERS = "customers", "Customers"
    ADDRESSES = "addresses", "Addresses"
    ORDERS = "orders", "Orders (historical, with lines)"
    TRACKING = "tracking", "Shipment tracking"


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    JSON = "json", "JSON (JSON Lines or an array)"
    XLSX = "xlsx", "XLSX"


class ImportMode(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", "All or nothing"
    SKIP_BAD_ROWS = "skip_bad_rows", "Skip bad rows"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    VALIDATING = "validating", "Validating"
    IMPORTING = "importing", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


FINISHED = {ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELED}
RUNNING = [ImportStatus.QUEUED, ImportStatus.VALIDATING, ImportStatus.IMPORTING]
