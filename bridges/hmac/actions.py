"""The bridge's actions: each validates its body with a serializer and calls the same
services as the REST API (carts.services, orders.selectors), never a second implementation.

Every successful action answers 200 (the bridge is an RPC endpoint; the REST API keeps 201
for what it creates). The bridge's guide has no pricing step, so its cart edits answer with
the cart priced and ``convertToOrder`` prices a cart changed since its last pricing. Reads
(``read_only``) may be sent again within the replay window; every write is one-use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rest_framework import serializers

from bridges.models import BridgeScope
from carts import presenters as cart_presenters
from carts import services as cart_services
from carts.presenters import cart_data, shipping_estimates_data
from fulfillment.presenters import ReturnRequestInput
from fulfillment.services import returns as return_services
from orderflow.principals import Principal
from orders.presenters import (
    AddressSerializer,
    CheckoutOrderSerializer,
    OrderSerializer,
    OrderWithShipmentsSerializer,
)
from orders.selectors import order_get


class CartRef(serializers.Serializer):
    cart_id = serializers.CharField(max_length=40)


class CartCreateInput(cart_presenters.CartCreateInput):
    pass


class ItemsAddInput(CartRef, cart_presenters.CartLineAddInput):
    pass


class ItemsUpdateInput(CartRef, cart_presenters.CartLineUpdateInput):
    line_id = serializers.CharField(max_length=40)


class ItemsRemoveInput(CartRef):
    line_id = serializers.CharField(max_length=40)


class ShippingSelectInput(CartRef, cart_presenters.ShippingMethodInput):
    pass


class CustomerInput(serializers.Serializer):
    """The guide's "customer info": the order's email, and a name and phone kept on the
    order's timeline. It does not sign anyone in (no address book, no company terms)."""

    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)


class ConvertToOrderInput(CartRef):
    customer = CustomerInput(required=False)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    payment = cart_presenters.PaymentInput(required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    shipping_address = AddressSerializer(required=False)
    billing_address = AddressSerializer(required=False)


class CartSetEmailInput(CartRef):
    email = serializers.EmailField()
    marketing_consent = serializers.BooleanField(required=False)


class OrderRef(serializers.Serializer):
    order_id = serializers.CharField(max_length=40)


def with_cart_id(principal, cart_id: str | None = None, *, cart=None) -> dict:
    data = cart_data(principal, cart_id, cart=cart)
    return {"cart_id": data["id"], **data}


def cart_create(principal: Principal, data: dict) -> tuple[int, dict]:
    cart = cart_services.cart_create(channel=principal.channel, connection=principal.connection,
                                     email=data.get("email", ""), metadata=data.get("metadata"))
    return 200, with_cart_id(principal, cart=cart)


def cart_get(principal, data):
    return 200, with_cart_id(principal, data["cart_id"])


def items_add(principal, data):
    cart_id = data.pop("cart_id")
    return 200, with_cart_id(principal, cart=cart_services.cart_add_line(
        principal=principal, cart_id=cart_id, reprice=True, **data))


def items_update(principal, data):
    cart_id = data.pop("cart_id")
    return 200, with_cart_id(principal, cart=cart_services.cart_update_line(
        principal=principal, cart_id=cart_id, reprice=True, **data))


def items_remove(principal, data):
    return 200, with_cart_id(principal, cart=cart_services.cart_remove_line(
        principal=principal, reprice=True, **data))


def cart_price(principal, data):
    return 200, with_cart_id(principal, cart=cart_services.cart_price(
        principal=principal, cart_id=data["cart_id"]))


def shipping_estimate(principal, data):
    return 200, {"cart_id": data["cart_id"],
                 "estimates": shipping_estimates_data(principal, data["cart_id"])}


def shipping_select(principal, data):
    return 200, with_cart_id(principal, cart=cart_services.cart_set_shipping_method(
        principal=principal, cart_id=data["cart_id"], code=data["code"], reprice=True))


def cart_set_email(principal, data):
    """The shopper's e-mail (reminders of an abandoned cart go there), with consent."""
    return 200, with_cart_id(principal, cart=cart_services.cart_set_email(
        principal=principal, **data))


def order_summary(order, serializer=OrderSerializer) -> dict:
    body = serializer(order).data
    return {"order_id": body["id"], "order_number": body["number"], "status": body["status"],
            "payment_status": body["payment_status"], "total": body["total"],
            "currency": body["currency"], "order": body}


def convert_to_order(principal, data):
    customer = data.pop("customer", None) or {}
    email = data.pop("email", "") or customer.get("email", "")
    name = customer.get("name") or " ".join(
        part for part in (customer.get("first_name"), customer.get("last_name")) if part)
    contact = {key: value for key, value in (("name", name), ("phone", customer.get("phone")))
               if value}
    order = cart_services.cart_checkout(principal=principal, email=email,
                                        contact=contact or None, price_unpriced=True, **data)
    return 200, order_summary(order, CheckoutOrderSerializer)


class ReturnRequestBridgeInput(ReturnRequestInput):
    order_id = serializers.CharField(max_length=40)


def return_request(principal, data):
    order = order_get(principal=principal, public_id=data["order_id"])
    requested = return_services.return_request(
        order=order, actor=principal.actor, comment=data["comment"],
        lines=[dict(item) for item in data["lines"]])
    return 200, {"return_id": requested.public_id, "order_id": order.public_id,
                 "status": requested.status,
                 "lines": [{"line_id": item["line_id"], "quantity": item["quantity"]}
                           for item in data["lines"]]}


def order_read(principal, data):
    return 200, order_summary(order_get(principal=principal, public_id=data["order_id"]),
                              OrderWithShipmentsSerializer)


@dataclass(frozen=True)
class Action:
    scope: str
    input: type[serializers.Serializer]
    handler: Callable[[Principal, dict], tuple[int, dict]]
    # Changes nothing: a replay of it within the window harms nothing, so the replay guard
    # lets the same signed read through again (it still needs a valid, fresh signature).
    read_only: bool = False


ACTIONS: dict[str, Action] = {
    "cart.create": Action(BridgeScope.CARTS_CREATE, CartCreateInput, cart_create),
    "cart.get": Action(BridgeScope.CARTS_READ, CartRef, cart_get, read_only=True),
    "items.add": Action(BridgeScope.CARTS_CREATE, ItemsAddInput, items_add),
    "items.update": Action(BridgeScope.CARTS_CREATE, ItemsUpdateInput, items_update),
    "items.remove": Action(BridgeScope.CARTS_CREATE, ItemsRemoveInput, items_remove),
    "cart.price": Action(BridgeScope.CARTS_CREATE, CartRef, cart_price),
    "shipping.estimate": Action(BridgeScope.CARTS_READ, CartRef, shipping_estimate,
                                read_only=True),
    "shipping.select": Action(BridgeScope.CARTS_CREATE, ShippingSelectInput, shipping_select),
    "cart.setEmail": Action(BridgeScope.CARTS_CREATE, CartSetEmailInput, cart_set_email),
    "convertToOrder": Action(BridgeScope.ORDERS_CREATE, ConvertToOrderInput, convert_to_order),
    "order.get": Action(BridgeScope.ORDERS_READ, OrderRef, order_read, read_only=True),
    "return.request": Action(BridgeScope.ORDERS_CREATE, ReturnRequestBridgeInput,
                             return_request),
}
