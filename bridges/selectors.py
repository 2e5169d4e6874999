"""Bridge reads."""

from __future__ import annotations

from bridges.credential_cache import CredentialCache
from bridges.models import InboundConnection
from orderflow.db import columns, fetch
from orderflow.models import Channel

_CONNECTION_SQL = (
    f"SELECT {columns(InboundConnection, 'c')}, {columns(Channel, 'ch')} "
    f"FROM {InboundConnection._meta.db_table} c "
    f"JOIN {Channel._meta.db_table} ch ON ch.id = c.channel_id WHERE c.client_id = %s"
)


def _load_connection(client_id: str) -> InboundConnection | None:
    found = fetch(_CONNECTION_SQL, [client_id], InboundConnection, Channel)
    if not found:
        return None
    connection, channel = found[0]
    connection.channel = channel
    return connection


# client id -> the connection with its channel, kept a few seconds like API keys (see
# bridges.credential_cache): read on every bridge call.
_connections = CredentialCache()


def connection_get(*, client_id: str) -> InboundConnection | None:
    """The connection of ``client_id`` with its channel, or None (by hand:
    ``select_related("channel").filter(client_id=…).first()``, see orderflow.db). Disabling
    a connection or rotating its secret takes effect at once in the process that did it
    (``connection_cache_forget``) and within ``ORDERFLOW_API_KEY_CACHE_SECONDS`` elsewhere;
    a rotated secret's grace period is judged on every request."""
    return _connections.get(client_id, _load_connection)


def connection_cache_forget(client_id: str | None = None) -> None:
    _connections.forget(client_id)
