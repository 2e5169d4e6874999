"""InputSerializer validates exactly as DRF's own field copying does, and no instance shares a
bound field with another. ContentNegotiation picks what DRF's negotiation picks."""

import importlib

import pytest
from rest_framework import serializers
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from carts.api import serializers as carts
from orderflow.api.negotiation import ContentNegotiation
from orderflow.api.serializers import InputSerializer

# Every module that declares input serializers, so every subclass is compared below.
for module in ("carts.api.serializers", "orders.api.serializers", "bridges.actions",
               "bridges.api.webhooks", "bridges.api.views"):
    importlib.import_module(module)

ADDRESS = {"full_name": "Ada", "line1": "1 Main St", "city": "Kingston", "country": "jm"}
PAYLOADS = [
    {},
    {"email": "not-an-email", "metadata": "not an object", "shipping_method": "bad code!"},
    {"email": "a@example.com", "metadata": {"gift": True}, "shipping_address": ADDRESS,
     "shipping_method": "standard"},
    {"shipping_address": {**ADDRESS, "country": "Jamaica", "line1": ""}},
    {"billing_address": None, "shipping_address": ADDRESS},
    {"sku": "COF-1", "quantity": 2},
    {"sku": "COF-1", "quantity": 0, "order_uom": "CS12"},
    {"sku": "COF-1", "order_uom": "CS12", "order_quantity": 3, "metadata": {"a": "\x00"}},
    {"cart_id": "cart_x", "payment": {"kind": "cod"}, "notes": "leave at the door"},
    {"cart_id": "cart_x", "payment": {"kind": "payment_intent"}},
    {"cart_id": "cart_x", "payment": {"kind": "payment_intent", "reference": "pi_123"},
     "shipping_address": ADDRESS, "billing_address": {"full_name": ""}},
    {"code": "standard"},
    {"quantity": 3, "order_quantity": 1},
    {"url": "https://example.com/hook", "events": ["order.created"], "description": "x"},
    {"customer_id": "cus_x", "email": "b@example.com"},
]


def all_input_serializers():
    found, todo = [], [InputSerializer]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if not sub.__name__.startswith("Stock"):
                found.append(sub)
                todo.append(sub)
    return sorted(set(found), key=lambda c: (c.__module__, c.__name__))


def stock(cls):
    """The same serializer with DRF's own field copying (a deep copy per instance)."""
    return type(f"Stock{cls.__name__}", (cls,),
                {"get_fields": serializers.Serializer.get_fields})


def outcome(serializer_class, payload):
    serializer = serializer_class(data=payload)
    valid = serializer.is_valid()
    return valid, dict(serializer.validated_data) if valid else None, serializer.errors


def test_the_project_has_input_serializers_to_compare():
    names = {cls.__name__ for cls in all_input_serializers()}
    assert {"CartCreateInput", "CartLineAddInput", "CheckoutInput", "AddressSerializer",
            "PaymentInput"} <= names


@pytest.mark.parametrize("serializer_class", all_input_serializers(),
                         ids=lambda cls: cls.__name__)
def test_validation_is_the_same_as_with_drfs_field_copies(serializer_class):
    for payload in PAYLOADS:
        assert outcome(serializer_class, payload) == outcome(stock(serializer_class), payload), \
            payload


def test_a_valid_and_an_invalid_request_in_a_row_keep_their_own_results():
    bad = carts.CartCreateInput(data={"shipping_address": {**ADDRESS, "country": "JAM"}})
    good = carts.CartCreateInput(data={"shipping_address": ADDRESS})
    assert not bad.is_valid()
    assert good.is_valid(), good.errors
    assert good.validated_data["shipping_address"]["country"] == "JM"
    assert "country" in bad.errors["shipping_address"]


def test_each_instance_binds_its_own_fields():
    first, second = carts.CartCreateInput(data={}), carts.CartCreateInput(data={})
    for name in first.fields:
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first
        assert second.fields[name].parent is second
    # A nested serializer builds its own fields, bound to itself.
    nested = first.fields["shipping_address"]
    assert nested.fields["country"].parent is nested
    assert nested.fields["country"] is not second.fields["shipping_address"].fields["country"]
    # A container's child is the copy's own.
    metadata = first.fields["metadata"]
    assert metadata.child is not second.fields["metadata"].child
    assert metadata.child.parent is metadata


def test_changing_one_instances_field_leaves_the_others_alone():
    changed = carts.CartLineAddInput(data={"sku": "COF-1", "quantity": 1})
    changed.fields["order_uom"].required = True
    changed.fields["sku"].allow_blank = True
    assert not changed.is_valid()
    assert "order_uom" in changed.errors
    untouched = carts.CartLineAddInput(data={"sku": "COF-1", "quantity": 1})
    assert untouched.fields["order_uom"].required is False
    assert untouched.fields["sku"].allow_blank is False
    assert untouched.is_valid(), untouched.errors


RENDERERS = [JSONRenderer()]
WITH_BROWSABLE = [JSONRenderer(), BrowsableAPIRenderer()]


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html",
                                    "application/json; indent=4", "text/html, */*;q=0.1",
                                    "application/problem+json", "application/*"])
@pytest.mark.parametrize("renderers", [RENDERERS, WITH_BROWSABLE], ids=["json", "browsable"])
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api"])
def test_negotiation_picks_what_drf_picks(accept, renderers, query):
    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    request = Request(APIRequestFactory().get(f"/api/v1/carts/x{query}", **headers))

    def pick(negotiation):
        try:
            renderer, media_type = negotiation.select_renderer(request, renderers)
        except (NotAcceptable, Exception) as exc:  # noqa: BLE001 - compared by type
            return type(exc)
        return type(renderer), media_type

    assert pick(ContentNegotiation()) == pick(DefaultContentNegotiation())
