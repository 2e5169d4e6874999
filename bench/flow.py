"""The checkout flow the benchmark drives, shared by the load phases and the query count."""

from __future__ import annotations

import json
import time
import uuid
from typing import NamedTuple

from bridges.hmac.signing import sign

API = "/api/v1"
SKUS = ("COF-BM-250", "TEA-GIN-20", "RICE-5KG")  # three active demo products
ADDRESS = {"full_name": "Bench", "line1": "1 Main St", "city": "Kingston", "country": "JM"}
SHIPPING_CODE = "standard"
EMAIL = "bench@example.com"


class Step(NamedTuple):
    label: str
    method: str
    path: str
    body: dict | None
    expect: int


def create_step() -> Step:
    """A cart with its destination: the shipping address and method come with it."""
    return Step("cart.create", "POST", f"{API}/carts",
                {"shipping_address": ADDRESS, "shipping_method": SHIPPING_CODE}, 201)


def plain_create_step() -> Step:
    """An empty cart with nothing chosen (the bridge comparison's REST side)."""
    return Step("cart.create", "POST", f"{API}/carts", {}, 201)


def add_line_step(cart_id: str, sku: str) -> Step:
    return Step("lines.add", "POST", f"{API}/carts/{cart_id}/lines",
                {"sku": sku, "quantity": 1}, 201)


def prepare_steps(cart_id: str) -> list[Step]:
    """After creation: three lines and the price."""
    return [
        *(add_line_step(cart_id, sku) for sku in SKUS),
        Step("cart.price", "POST", f"{API}/carts/{cart_id}/price", None, 200),
    ]


def get_step(cart_id: str) -> Step:
    return Step("cart.get", "GET", f"{API}/carts/{cart_id}", None, 200)


def checkout_step(cart_id: str) -> Step:
    return Step("checkout", "POST", f"{API}/checkout",
                {"cart_id": cart_id, "payment": {"kind": "cod"}, "email": EMAIL}, 201)


def flow_steps(cart_id: str) -> list[Step]:
    """Everything after creation, in the order a storefront sends it: the issue's flow is
    create, 3 × add line, price, check out (six requests)."""
    return [*prepare_steps(cart_id), checkout_step(cart_id)]


# -- the bridge comparison ---------------------------------------------------------------------
# The same work over the REST API (with a key) and over the signed bridge: create a cart, add
# three lines, choose shipping, price, get, check out with the shipping address in the
# checkout body (the bridge has no address action). Eight requests each.

BRIDGE_ACTIONS = ("cart.create", "items.add", "shipping.select", "cart.price", "cart.get",
                  "convertToOrder")
# The REST endpoint doing the same work as each bridge action (the label in the REST flow).
REST_EQUIVALENT = {"cart.create": "cart.create", "items.add": "lines.add",
                   "shipping.select": "shipping.select", "cart.price": "cart.price",
                   "cart.get": "cart.get", "convertToOrder": "checkout"}


def rest_same_steps(cart_id: str) -> list[Step]:
    """The REST side of the comparison, after creation (no address step)."""
    return [
        *(add_line_step(cart_id, sku) for sku in SKUS),
        Step("shipping.select", "POST", f"{API}/carts/{cart_id}/shipping-method",
             {"code": SHIPPING_CODE}, 200),
        Step("cart.price", "POST", f"{API}/carts/{cart_id}/price", None, 200),
        get_step(cart_id),
        Step("checkout", "POST", f"{API}/checkout",
             {"cart_id": cart_id, "payment": {"kind": "cod"}, "email": EMAIL,
              "shipping_address": ADDRESS}, 201),
    ]


def bridge_step(client_id: str, action: str, body: dict, expect: int = 200) -> Step:
    """A bridge call; its body gets a unique ``nonce`` and its signature when it is sent."""
    return Step(action, "POST", f"/bridge/{client_id}/{action}", body, expect)


def bridge_create_step(client_id: str) -> Step:
    return bridge_step(client_id, "cart.create", {}, 200)


def bridge_steps(client_id: str, cart_id: str) -> list[Step]:
    """The bridge side of the comparison, after creation."""
    return [
        *(bridge_step(client_id, "items.add", {"cart_id": cart_id, "sku": sku, "quantity": 1})
          for sku in SKUS),
        bridge_step(client_id, "shipping.select", {"cart_id": cart_id, "code": SHIPPING_CODE}),
        bridge_step(client_id, "cart.price", {"cart_id": cart_id}),
        bridge_step(client_id, "cart.get", {"cart_id": cart_id}),
        bridge_step(client_id, "convertToOrder",
                    {"cart_id": cart_id, "payment": {"kind": "cod"}, "email": EMAIL,
                     "shipping_address": ADDRESS}),
    ]


NONCE_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def nonce() -> str:
    """A unique value without digits: a hex uuid sometimes holds a run of 13+ digits that
    passes the Luhn check, and the card-data guard refuses it (card_data_forbidden)."""
    return uuid.uuid4().hex.translate(NONCE_LETTERS)


def signed_request(client_id: str, secret: str, step: Step) -> tuple[bytes, dict[str, str]]:
    """The body (with a fresh nonce: the replay guard refuses an identical signature) and
    the signature headers of a bridge step, signed now."""
    body = json.dumps({**(step.body or {}), "nonce": nonce()},
                      separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    signature = sign(secret=secret, timestamp=timestamp, client_id=client_id,
                     method=step.method, path=step.path, body=body)
    return body, {"X-Client-Id": client_id, "X-Timestamp": timestamp, "X-Signature": signature}
