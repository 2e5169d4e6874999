"""Bridge connection reads."""

from __future__ import annotations

from bridges.access.credential_cache import CredentialCache
from bridges.models import InboundConnection


def _load_connection(client_id: str) -> InboundConnection | None:
    return (InboundConnection.objects.select_related("channel")
            .filter(client_id=client_id).first())


# client id -> the connection with its channel, kept a few seconds like API keys (see
# bridges.access.credential_cache): read on every bridge call.
_connections = CredentialCache()


def connection_get(*, client_id: str) -> InboundConnection | None:
    """The connection of ``client_id`` with its channel, or None. Disabling a connection or
    rotating its secret takes effect at once in the process that did it
    (``connection_cache_forget``) and within ``ORDERFLOW_API_KEY_CACHE_SECONDS`` elsewhere;
    a rotated secret's grace period is judged on every request."""
    return _connections.get(client_id, _load_connection)


def connection_cache_forget(client_id: str | None = None) -> None:
    _connections.forget(client_id)
