"""Storefront cart and checkout endpoints: input serializer → service → cart representation."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from bridges.access.idempotency import run_idempotent
from bridges.access.permissions import SecretKey, StorefrontKey
from carts import services
from carts.api import serializers as s
from carts.models import Cart
from carts.presenters import (
    CartCreateInput,
    CartLineAddInput,
    CartLineUpdateInput,
    CartSerializer,
    ShippingEstimateSerializer,
    ShippingMethodInput,
    cart_data,
    shipping_estimates_data,
)
from orderflow.api.schema import IDEMPOTENCY
from orderflow.errors import ValidationFailed
from orderflow.principals import principal_from_request
from orders.presenters import CheckoutOrderSerializer


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
    @extend_schema(summary="Create a cart", request=CartCreateInput,
                   parameters=[IDEMPOTENCY], responses={201: CartSerializer})
    def post(self, request):
        """A cart for the shopper of the token (anonymous without one), in the key's channel;
        optionally with its addresses and shipping method (the same checks as
        ``PUT …/addresses`` and ``POST …/shipping-method``)."""
        principal = principal_from_request(request)
        data = validated(CartCreateInput, request)

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
    @extend_schema(summary="Get a cart", responses={200: CartSerializer})
    def get(self, request, cart_id):
        return cart_response(request, cart_id)


class CartLinesApi(StorefrontApi):
    @extend_schema(summary="Add a line", request=CartLineAddInput, parameters=[IDEMPOTENCY],
                   responses={201: CartSerializer})
    def post(self, request, cart_id):
        """Add ``sku`` + ``quantity`` (base units) or ``sku`` + ``order_uom`` +
        ``order_quantity``; a sku already in the cart merges into its line."""
        principal = principal_from_request(request)
        data = validated(CartLineAddInput, request)

        def work():
            cart = services.cart_add_line(principal=principal, cart_id=cart_id, **data)
            return cart_response(request, cart=cart, status_code=status.HTTP_201_CREATED)

        return run_idempotent(request, principal, work)


class CartLineApi(StorefrontApi):
    @extend_schema(summary="Change a line", request=CartLineUpdateInput,
                   responses={200: CartSerializer})
    def patch(self, request, cart_id, line_id):
        data = validated(CartLineUpdateInput, request)
        cart = services.cart_update_line(principal=principal_from_request(request),
                                         cart_id=cart_id, line_id=line_id, **data)
        return cart_response(request, cart=cart)

    @extend_schema(summary="Remove a line", request=None, responses={200: CartSerializer})
    def delete(self, request, cart_id, line_id):
        cart = services.cart_remove_line(principal=principal_from_request(request),
                                         cart_id=cart_id, line_id=line_id)
        return cart_response(request, cart=cart)


class CartPriceApi(StorefrontApi):
    @extend_schema(summary="Price the cart", request=None, responses={200: CartSerializer})
    def post(self, request, cart_id):
        """Re-price every line (contract or list price, tiers, tax) and shipping; stamps
        ``priced_at``. Checkout needs a cart priced since its last change."""
        cart = services.cart_price(principal=principal_from_request(request), cart_id=cart_id)
        return cart_response(request, cart=cart)


class CartAddressesApi(StorefrontApi):
    @extend_schema(summary="Set addresses", request=s.CartAddressesInput,
                   responses={200: CartSerializer})
    def put(self, request, cart_id):
        data = validated(s.CartAddressesInput, request)
        cart = services.cart_set_addresses(principal=principal_from_request(request),
                                           cart_id=cart_id, **data)
        return cart_response(request, cart=cart)


class CartShippingEstimatesApi(StorefrontApi):
    @extend_schema(summary="Shipping estimates",
                   responses={200: ShippingEstimateSerializer(many=True)})
    def get(self, request, cart_id):
        """The shipping methods of the cart's channel and destination, priced for this cart."""
        return Response(shipping_estimates_data(principal_from_request(request), cart_id))


class CartShippingMethodApi(StorefrontApi):
    @extend_schema(summary="Choose the shipping method", request=ShippingMethodInput,
                   responses={200: CartSerializer})
    def post(self, request, cart_id):
        data = validated(ShippingMethodInput, request)
        cart = services.cart_set_shipping_method(principal=principal_from_request(request),
                                                 cart_id=cart_id, code=data["code"])
        return cart_response(request, cart=cart)


class CheckoutApi(StorefrontApi):
    permission_classes = [SecretKey]

    @extend_schema(
        summary="Check out a cart", request=s.CheckoutInput, parameters=[IDEMPOTENCY],
        responses={
            201: CheckoutOrderSerializer,
            404: OpenApiResponse(description="No such cart for this principal."),
            409: OpenApiResponse(description="The cart cannot be checked out now: "
                                 "cart_converted, not_priced, price_changed, insufficient_stock, "
                                 "over_credit_limit (with credit_limit, outstanding, order_total, "
                                 "shortfall), …"),
        },
    )
    def post(self, request):
        """Place the order: COD and terms are confirmed at once, a payment reference waits
        for capture (``pending_payment``). Without ``payment``, a company on credit terms
        pays on terms and another signed-in customer COD (``defaults`` says which)."""
        principal = principal_from_request(request)
        data = validated(s.CheckoutInput, request)

        def work():
            order = services.cart_checkout(principal=principal, **data)
            return Response(CheckoutOrderSerializer(order).data,
                            status=status.HTTP_201_CREATED)

        return run_idempotent(request, principal, work)
