"""Bridge reads."""

from __future__ import annotations

from bridges.models import InboundConnection
from orderflow.db import columns, fetch
from orderflow.models import Channel

_CONNECTION_SQL = (
    f"SELECT {columns(InboundConnection, 'c')}, {columns(Channel, 'ch')} "
    f"FROM {InboundConnection._meta.db_table} c "
    f"JOIN {Channel._meta.db_table} ch ON ch.id = c.channel_id WHERE c.client_id = %s"
)


def connection_get(*, client_id: str) -> InboundConnection | None:
    """The connection of ``client_id`` with its channel, or None; read on every bridge call,
    so by hand (``select_related("channel").filter(client_id=…).first()``: see
    orderflow.db). Never cached: disabling a connection or rotating its secret takes effect
    on the next request."""
    found = fetch(_CONNECTION_SQL, [client_id], InboundConnection, Channel)
    if not found:
        return None
    connection, channel = found[0]
    connection.channel = channel
    return connection
