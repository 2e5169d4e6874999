"""Storefront endpoints of abandoned-cart recovery: the shopper's e-mail on a cart, and the
recovery of a cart from a reminder's link (docs/recovery.md)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from bridges.access.permissions import StorefrontKey
from carts import services as cart_services
from carts.models import Cart
from carts.presenters import CartSerializer, cart_data
from orderflow.principals import principal_from_request
from recovery.api.serializers import CartEmailInput, RecoverInput
from recovery.services import link_follow


def _validated(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def recovered_data(principal, cart, problems, step) -> dict:
    return {**cart_data(principal, cart=cart), "problems": problems, "recovered_step": step}


class CartEmailApi(APIView):
    permission_classes: list[type[BasePermission]] = [StorefrontKey]
    queryset = Cart.objects.none()

    @extend_schema(summary="Set the shopper's e-mail", request=CartEmailInput,
                   responses={200: CartSerializer})
    def put(self, request, cart_id):
        """The address reminders of an abandoned cart go to (a cart without one is never
        abandoned), with ``marketing_consent``."""
        data = _validated(CartEmailInput, request)
        principal = principal_from_request(request)
        cart = cart_services.cart_set_email(principal=principal, cart_id=cart_id, **data)
        return Response(cart_data(principal, cart=cart))


class CartRecoverApi(APIView):
    permission_classes: list[type[BasePermission]] = [StorefrontKey]
    queryset = Cart.objects.none()

    @extend_schema(
        summary="Recover a cart from a reminder's link", request=RecoverInput,
        responses={
            200: CartSerializer,
            400: OpenApiResponse(description="recovery_token_invalid: the token was changed, "
                                             "has expired or is for another channel "
                                             "(``reason``: tampered, expired, unknown, "
                                             "channel)."),
            409: OpenApiResponse(description="cart_converted or cart_not_active (expired)."),
        },
    )
    def post(self, request):
        """The cart of the link, ``active`` again and re-priced; ``problems`` names what
        changed since the shopper left (``price_changed`` with the old and new price) and
        what still stands between it and checkout. ``recovered_step``: the reminder whose
        link brought it back."""
        data = _validated(RecoverInput, request)
        principal = principal_from_request(request)
        cart, problems, email = link_follow(token=data["token"],
                                            channel=principal.channel if principal.is_storefront
                                            else None)
        return Response(recovered_data(principal, cart, problems, email.step))
