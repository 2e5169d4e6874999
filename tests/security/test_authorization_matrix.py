"""Who may call what, over every /api/ route of the URLconf.

The routes are enumerated from Django's URL resolver, so a route added tomorrow is in the
matrix without anyone remembering to add it. For every route and method, six principals
that must not get through:

- no credentials → 401 ``not_authenticated``;
- a revoked secret key → 401 ``authentication_failed``;
- a publishable key where a secret key or a staff login is needed → 403 (on a cart route it
  may use: another principal's cart is 404);
- a secret key with another shopper's token, aimed at shopper A's objects → 404 (or 403 on
  staff-only routes);
- a supplier login outside its supplier orders → 403 (404 for an object not its own);
- a staff user without the model permissions → 403;

every answer problem+json, and none of them carries anything of shopper A (order number,
e-mail, ids not named in the path).
"""

from __future__ import annotations

import json
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from bridges.access.services import api_key_create, api_key_revoke
from bridges.constants import KeyKind
from bridges.models import ApiKey
from carts.models import Cart
from orderflow.timeline import Actor
from orders.models import Order, SupplierOrder
from tests import factories
from tests.storefront import ADDRESS

pytestmark = pytest.mark.django_db

# Documentation, readable by anyone (the schema says what exists, not what anyone owns).
PUBLIC = {"api/schema/", "api/docs/"}
# Routes a publishable key is documented to use (storefront.md, "Credentials").
PUBLISHABLE_MAY = re.compile(r"^api/v1/(\^?products|carts)")
# Routes a supplier login is documented to use (orders.md): its own supplier orders.
SUPPLIER_MAY = re.compile(r"^api/v1/supplier-orders")
METHODS = ("get", "post", "put", "patch", "delete")


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _methods(pattern: URLPattern) -> list[str]:
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF viewset route: the methods it binds
        return sorted(actions)
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if cls is None:
        return []
    return [m for m in METHODS if hasattr(cls, m) and m in cls.http_method_names]


def api_routes() -> list[tuple[str, str]]:
    """Every (route, method) under /api/ that a view answers."""
    routes = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/"):
            continue
        for method in _methods(pattern):
            routes.append((route, method))
    return routes


ROUTES = [r for r in api_routes() if r[0] not in PUBLIC]
PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def fill(route: str, ids: dict) -> str:
    def value(match):
        name = match.group(1) or match.group(2)
        return ids.get(name, f"x_{name}_unknown")

    path = PARAM.sub(value, route).replace("^", "").replace("$", "")
    return "/" + path


class World:
    """Shopper A with a cart, a placed order (payment, supplier order) on a storefront; the
    principals that must not reach them."""

    def __init__(self, shop):
        self.shop = shop
        self.alice = factories.CustomerFactory(email="alice-matrix@example.com")
        self.bob = factories.CustomerFactory(email="bob-matrix@example.com")
        alice = shop.shopper(self.alice)
        cart_id = shop.ready_cart(alice, [("COF-250", 1)])
        order = alice.post("/api/v1/checkout", {"cart_id": cart_id, "payment": {"kind": "cod"}},
                           format="json")
        assert order.status_code == 201, order.content
        self.order = Order.objects.get(public_id=order.json()["id"])
        open_cart = alice.post("/api/v1/carts", {}, format="json").json()["id"]
        line = alice.post(f"/api/v1/carts/{open_cart}/lines", {"sku": "COF-250", "quantity": 1},
                          format="json").json()["lines"][0]["id"]
        self.cart = Cart.objects.get(public_id=open_cart)
        supplier_order = SupplierOrder.objects.filter(order=self.order).first()
        self.ids = {
            "order_id": self.order.public_id,
            "payment_id": self.order.payments.get().public_id,
            "cart_id": self.cart.public_id,
            "line_id": line,
        }
        if supplier_order is not None:
            self.ids["supplier_order_id"] = supplier_order.public_id
        # What must never reach another principal (ids are checked unless the path names them).
        self.secrets = {self.alice.email, self.order.number, *self.ids.values()}
        self.ids["id"] = shop.products["coffee"].public_id  # the catalog is public

        _, self.revoked = api_key_create(name="revoked", kind=KeyKind.SECRET, mode="test",
                                         channel=shop.channel)
        api_key_revoke(api_key=ApiKey.objects.get(name="revoked"), actor=Actor.system())
        supplier_login = factories.SupplierUserFactory()
        self.supplier_user = supplier_login.user
        self.bare_staff = factories.UserFactory(is_staff=True)

    def clients(self) -> dict[str, APIClient]:
        shop = self.shop
        supplier, staff = APIClient(), APIClient()
        supplier.force_login(self.supplier_user)
        staff.force_login(self.bare_staff)
        return {
            "anonymous": APIClient(),
            "revoked_key": shop.client(self.revoked),
            "publishable_key": shop.client(shop.publishable),
            "other_shopper": shop.client(shop.secret, shop.token_for(self.bob)),
            "supplier": supplier,
            "staff_without_permission": staff,
        }


# Valid bodies, so that a refusal is about who calls, not about what was sent.
BODIES = [
    (re.compile(r"/lines$"), {"sku": "COF-250", "quantity": 1}),
    (re.compile(r"/lines/"), {"quantity": 2}),
    (re.compile(r"/addresses$"), {"shipping_address": ADDRESS}),
    (re.compile(r"/shipping-method$"), {"code": "standard"}),
    (re.compile(r"/email$"), {"email": "b@example.com", "marketing_consent": True}),
    (re.compile(r"/checkout$"), {"payment": {"kind": "cod"}, "email": "x@example.com"}),
    (re.compile(r"/decline$"), {"reason": "no"}),
    (re.compile(r"/cancel$"), {"reason": "no"}),
    (re.compile(r"/returns$"), {"lines": [{"line_id": "ol_x", "quantity": 1,
                                           "reason": "damaged"}]}),
]
OBJECT_PARAMS = ("order_id", "payment_id", "cart_id", "line_id", "supplier_order_id")


def names_an_object_of_a(route: str, ids: dict) -> bool:
    return any(f"<str:{name}>" in route and name in ids for name in OBJECT_PARAMS) \
        or route.endswith("checkout")


def expected(principal: str, route: str, method: str, ids: dict) -> set[int]:
    if principal in ("anonymous", "revoked_key"):
        return {401}
    if principal == "staff_without_permission":
        return {403}
    if principal == "publishable_key" and not PUBLISHABLE_MAY.match(route):
        return {403}
    if principal == "supplier" and not SUPPLIER_MAY.match(route) and method != "get":
        return {403, 404}
    if names_an_object_of_a(route, ids):
        return {403, 404}  # A's object: not found (staff-only routes refuse the caller first)
    # A route of its own (lists, creating its own cart, catalog reads): it may succeed, or
    # refuse what it was sent — with nothing of A in the answer.
    return {200, 201, 400, 403, 404}


def body_for(route: str, ids: dict) -> dict:
    for pattern, body in BODIES:
        if pattern.search(route):
            body = dict(body)
            if route.endswith("checkout"):
                body["cart_id"] = ids["cart_id"]
            return body
    return {}


def call(client: APIClient, method: str, path: str, body: dict):
    if method in ("get", "delete"):
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, format="json")


def test_the_matrix_covers_every_api_route():
    names = {route for route, _ in ROUTES}
    assert len(ROUTES) >= 70, len(ROUTES)
    for must in ("api/v1/orders/<str:order_id>/payments/<str:payment_id>/capture",
                 "api/v1/carts/<str:cart_id>", "api/v1/webhook-endpoints"):
        assert must in names


@pytest.fixture
def world(shop):
    return World(shop)


def test_no_principal_reaches_what_is_not_its_own(world):
    failures = []
    for name, client in world.clients().items():
        for route, method in ROUTES:
            path = fill(route, world.ids)
            response = call(client, method, path, body_for(route, world.ids))
            body = response.content.decode(errors="replace")
            if response.status_code not in expected(name, route, method, world.ids):
                failures.append(f"{name} {method.upper()} {path} -> {response.status_code} "
                                f"{body[:160]}")
                continue
            if response.status_code >= 400 and \
                    response["Content-Type"] != "application/problem+json":
                failures.append(f"{name} {method.upper()} {path}: {response['Content-Type']}")
            sent = path + json.dumps(body_for(route, world.ids))
            leaked = [s for s in world.secrets if s in body and s not in sent]
            if leaked:
                failures.append(f"{name} {method.upper()} {path} leaks {leaked}")
    assert not failures, "\n".join(failures)
