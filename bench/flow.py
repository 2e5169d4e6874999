"""The checkout flow the benchmark drives, shared by the load phases and the query count."""

from __future__ import annotations

from typing import NamedTuple

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
    return Step("cart.create", "POST", f"{API}/carts", {}, 201)


def add_line_step(cart_id: str, sku: str) -> Step:
    return Step("lines.add", "POST", f"{API}/carts/{cart_id}/lines",
                {"sku": sku, "quantity": 1}, 201)


def prepare_steps(cart_id: str) -> list[Step]:
    """After creation: three lines, the address, the shipping method, the price."""
    return [
        *(add_line_step(cart_id, sku) for sku in SKUS),
        Step("addresses.put", "PUT", f"{API}/carts/{cart_id}/addresses",
             {"shipping_address": ADDRESS}, 200),
        Step("shipping.select", "POST", f"{API}/carts/{cart_id}/shipping-method",
             {"code": SHIPPING_CODE}, 200),
        Step("cart.price", "POST", f"{API}/carts/{cart_id}/price", None, 200),
    ]


def get_step(cart_id: str) -> Step:
    return Step("cart.get", "GET", f"{API}/carts/{cart_id}", None, 200)


def checkout_step(cart_id: str) -> Step:
    return Step("checkout", "POST", f"{API}/checkout",
                {"cart_id": cart_id, "payment": {"kind": "cod"}, "email": EMAIL}, 201)


def flow_steps(cart_id: str) -> list[Step]:
    """Everything after creation, in the order a storefront sends it."""
    return [*prepare_steps(cart_id), get_step(cart_id), checkout_step(cart_id)]
