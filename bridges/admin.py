"""The admin of the bridges app lives in its parts; Django's admin autodiscovery imports this
module, which imports them (each registers its ModelAdmins)."""

from bridges.access import admin as access_admin  # noqa: F401
from bridges.exports import admin as exports_admin  # noqa: F401
from bridges.txlog import admin as txlog_admin  # noqa: F401
from bridges.webhooks import admin as webhooks_admin  # noqa: F401
