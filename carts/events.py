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


def cart_abandoned(cart) -> None:
    emit("cart.abandoned", {**cart_payload(cart), "abandoned_at": cart.abandoned_at,
                            "last_activity_at": cart.last_activity_at},
         channel=cart.channel, aggregate=cart)


def cart_recovered(cart) -> None:
    emit("cart.recovered", {**cart_payload(cart), "recovered_at": cart.recovered_at,
                            "step": cart.recovered_step},
         channel=cart.channel, aggregate=cart)


def cart_expired(cart) -> None:
    emit("cart.expired", {**cart_payload(cart), "expired_at": cart.expired_at},
         channel=cart.channel, aggregate=cart)
