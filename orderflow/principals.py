"""Who is asking: a staff user, a storefront key (optionally with a shopper), a bridge
connection, or a supplier."""

from __future__ import annotations

from dataclasses import dataclass

from orderflow.models import ActorSource
from orderflow.timeline import Actor


@dataclass(frozen=True)
class Principal:
    user: object | None = None  # a Django user (staff, approver or supplier login)
    api_key: object | None = None  # bridges.ApiKey
    connection: object | None = None  # bridges.InboundConnection (HMAC bridge)
    customer: object | None = None  # customers.Customer (shopper token, or an approver login)
    supplier: object | None = None  # catalog.Supplier the principal acts for
    source: str = ActorSource.API

    @property
    def is_staff(self) -> bool:
        return bool(self.user is not None and getattr(self.user, "is_staff", False)
                    and self.supplier is None)

    @property
    def is_storefront(self) -> bool:
        """A storefront integration: an API key or a bridge connection."""
        return self.api_key is not None or self.connection is not None

    @property
    def channel(self):
        if self.api_key is not None:
            return self.api_key.channel
        if self.connection is not None:
            return self.connection.channel
        return None

    @property
    def channel_id(self):
        if self.api_key is not None:
            return self.api_key.channel_id
        if self.connection is not None:
            return self.connection.channel_id
        return None

    @property
    def company(self):
        return self.customer.company if self.customer is not None else None

    @property
    def scope(self) -> str:
        """A stable name for per-principal records such as idempotency keys."""
        if self.api_key is not None:
            return f"key:{self.api_key.public_id}"
        if self.connection is not None:
            return f"conn:{self.connection.public_id}"
        if self.user is not None:
            return f"user:{self.user.pk}"
        return "anonymous"

    @property
    def actor(self) -> Actor:
        if self.api_key is not None:
            label = f"api key {self.api_key.prefix}…"
        elif self.connection is not None:
            label = f"bridge {self.connection.name} ({self.connection.client_id})"
        elif self.user is not None:
            return Actor.staff(self.user, source=self.source)
        else:
            return Actor.system()
        if self.customer is not None:
            label += f" for {self.customer.email}"
        return Actor(source=self.source, label=label)


def principal_from_request(request) -> Principal:
    """The principal DRF authenticated (see bridges.access.authentication)."""
    user = getattr(request, "user", None)
    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        return Principal(api_key=api_key, customer=user.customer)
    if user is not None and user.is_authenticated:
        return Principal(user=user)
    return Principal()
