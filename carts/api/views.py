"""Storefront cart and checkout endpoints: input serializer → service → cart representation."""

from __future__ import annotations

from copy import copy

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from bridges.access.idempotency import run_idempotent
from bridges.access.permissions import SecretKey, StorefrontKey
from carts import services
from carts.api import serializers as s
from carts.models import Cart
from carts.pricing import price_cart
from carts.selectors import cart_company, cart_get, cart_lines, cart_problems
from fulfillment.selectors import shipping_method_list
from orderflow.api.schema import IDEMPOTENCY
from orderflow.errors import ValidationFailed
from orderflow.money import format_amount
from orderflow.principals import principal_from_request
from orders.api.serializers import OrderSerializer


def cart_data(principal, cart_id: str | None = None, *, cart=None) -> dict:
    """The cart as every client sees it (REST and bridge). Pass ``cart`` when a service just
    returned it, to skip reading it again."""
    if cart is None:
        cart = cart_get(principal=principal, public_id=cart_id)
    lines = cart_lines(cart=cart)
    problems = cart_problems(cart=cart, lines=lines)
    return s.CartSerializer(cart, context={"lines": lines, "problems": problems}).data


def shipping_estimates_data(principal, cart_id: str) -> list[dict]:
    """The shipping methods of the cart's channel and destination, priced for this cart."""
    cart = cart_get(principal=principal, public_id=cart_id)
    lines = cart_lines(cart=cart, for_pricing=True)
    country = (cart.shipping_address or {}).get("country")
    estimates = []
    for method in shipping_method_list(channel=cart.channel, country=country):
        priced = price_cart(cart=_with_method(cart, method), lines=lines,
                            company=cart_company(cart))
        estimates.append({
            "code": method.code, "name": method.name,
            "price": format_amount(priced.shipping_total, cart.currency)
            if priced.shipping_available else None,
            "currency": cart.currency,
            "estimated_days_min": method.estimated_days_min,
            "estimated_days_max": method.estimated_days_max,
            "selected": method.pk == cart.shipping_method_id,
        })
    return estimates


def cart_response(request, cart_id: str | None = None, *, cart=None,
                  status_code=status.HTTP_200_OK) -> Response:
    return Response(cart_data(principal_from_request(request), cart_id, cart=cart),
                    status=status_code)


def validated(serializer_class, request, **kwargs):
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class StorefrontApi(APIView):
    permission_classes = [StorefrontKey]
    queryset = Cart.objects.none()  # staff access is checked against the cart permissions


class CartCreateApi(StorefrontApi):
    @extend_schema(summary="Create a cart", request=s.CartCreateInput,
                   parameters=[IDEMPOTENCY], responses={201: s.CartSerializer})
    def post(self, request):
        """A cart for the shopper of the token (anonymous without one), in the key's channel;
        optionally with its addresses and shipping method (the same checks as
        ``PUT …/addresses`` and ``POST …/shipping-method``)."""
        principal = principal_from_request(request)
        data = validated(s.CartCreateInput, request)

        def work():
            if principal.api_key is None:
                raise ValidationFailed("Staff create carts through the admin.",
                                       code="storefront_key_required")
            cart = services.cart_create(
                channel=principal.channel, customer=principal.customer,
                api_key=principal.api_key, email=data.get("email", ""),
                metadata=data.get("metadata"), shipping_address=data.get("shipping_address"),
                billing_address=data.get("billing_address"),
                shipping_method=data.get("shipping_method"),
            )
            return cart_response(request, cart=cart, status_code=status.HTTP_201_CREATED)

        return run_idempotent(request, principal, work)


class CartDetailApi(StorefrontApi):
    @extend_schema(summary="Get a cart", responses={200: s.CartSerializer})
    def get(self, request, cart_id):
        return cart_response(request, cart_id)


class CartLinesApi(StorefrontApi):
    @extend_schema(summary="Add a line", request=s.CartLineAddInput, parameters=[IDEMPOTENCY],
                   responses={201: s.CartSerializer})
    def post(self, request, cart_id):
        """Add ``sku`` + ``quantity`` (base units) or ``sku`` + ``order_uom`` +
        ``order_quantity``; a sku already in the cart merges into its line."""
        principal = principal_from_request(request)
        data = validated(s.CartLineAddInput, request)

        def work():
            cart = services.cart_add_line(principal=principal, cart_id=cart_id, **data)
            return cart_response(request, cart=cart, status_code=status.HTTP_201_CREATED)

        return run_idempotent(request, principal, work)


class CartLineApi(StorefrontApi):
    @extend_schema(summary="Change a line", request=s.CartLineUpdateInput,
                   responses={200: s.CartSerializer})
    def patch(self, request, cart_id, line_id):
        data = validated(s.CartLineUpdateInput, request)
        cart = services.cart_update_line(principal=principal_from_request(request),
                                         cart_id=cart_id, line_id=line_id, **data)
        return cart_response(request, cart=cart)

    @extend_schema(summary="Remove a line", request=None, responses={200: s.CartSerializer})
    def delete(self, request, cart_id, line_id):
        cart = services.cart_remove_line(principal=principal_from_request(request),
                                         cart_id=cart_id, line_id=line_id)
        return cart_response(request, cart=cart)


class CartPriceApi(StorefrontApi):
    @extend_schema(summary="Price the cart", request=None, responses={200: s.CartSerializer})
    def post(self, request, cart_id):
        """Re-price every line (contract or list price, tiers, tax) and shipping; stamps
        ``priced_at``. Checkout needs a cart priced since its last change."""
        cart = services.cart_price(principal=principal_from_request(request), cart_id=cart_id)
        return cart_response(request, cart=cart)


class CartAddressesApi(StorefrontApi):
    @extend_schema(summary="Set addresses", request=s.CartAddressesInput,
                   responses={200: s.CartSerializer})
    def put(self, request, cart_id):
        data = validated(s.CartAddressesInput, request)
        cart = services.cart_set_addresses(principal=principal_from_request(request),
                                           cart_id=cart_id, **data)
        return cart_response(request, cart=cart)


class CartShippingEstimatesApi(StorefrontApi):
    @extend_schema(summary="Shipping estimates",
                   responses={200: s.ShippingEstimateSerializer(many=True)})
    def get(self, request, cart_id):
        """The shipping methods of the cart's channel and destination, priced for this cart."""
        return Response(shipping_estimates_data(principal_from_request(request), cart_id))


def _with_method(cart, method):
    """A copy of ``cart`` with ``method`` chosen, for pricing a what-if."""
    candidate = copy(cart)
    candidate.shipping_method = method
    return candidate


class CartShippingMethodApi(StorefrontApi):
    @extend_schema(summary="Choose the shipping method", request=s.ShippingMethodInput,
                   responses={200: s.CartSerializer})
    def post(self, request, cart_id):
        data = validated(s.ShippingMethodInput, request)
        cart = services.cart_set_shipping_method(principal=principal_from_request(request),
                                                 cart_id=cart_id, code=data["code"])
        return cart_response(request, cart=cart)


class CheckoutApi(StorefrontApi):
    permission_classes = [SecretKey]

    @extend_schema(
        summary="Check out a cart", request=s.CheckoutInput, parameters=[IDEMPOTENCY],
        responses={
            201: OrderSerializer,
            404: OpenApiResponse(description="No such cart for this principal."),
            409: OpenApiResponse(description="The cart cannot be checked out now: "
                                 "cart_converted, not_priced, price_changed, insufficient_stock, "
                                 "over_credit_limit (with credit_limit, outstanding, order_total, "
                                 "shortfall), …"),
        },
    )
    def post(self, request):
        """Place the order: COD and terms are confirmed at once, a payment reference waits
        for capture (``pending_payment``)."""
        principal = principal_from_request(request)
        data = validated(s.CheckoutInput, request)

        def work():
            order = services.cart_checkout(principal=principal, **data)
            return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)

        return run_idempotent(request, principal, work)
