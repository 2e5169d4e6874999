"""Outbox payloads of carts."""

from orderflow.money import format_amount
from orderflow.outbox import emit


def cart_payload(cart) -> dict:
    return {
        "id": cart.public_id,
        "status": cart.status,
        "channel": cart.channel.code,
        "customer_id": cart.customer.public_id if cart.customer_id else None,
        "email": cart.email or None,
        "currency": cart.currency,
        "total": format_amount(cart.total, cart.currency),
        "created_at": cart.created_at,
    }


def cart_created(cart) -> None:
    emit("cart.created", cart_payload(cart), channel=cart.channel, aggregate=cart)
