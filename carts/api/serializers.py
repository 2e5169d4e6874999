"""Cart API shapes only this API reads; the cart itself and the inputs the bridge accepts too
are in ``carts.presenters``. Input serializers whitelist what a client may send: status,
totals, channel, customer and prices are never read from a request."""

from rest_framework import serializers

from carts.presenters import PaymentInput
from orders.presenters import AddressSerializer


class CartAddressesInput(serializers.Serializer):
    shipping_address = AddressSerializer()
    billing_address = AddressSerializer(required=False, allow_null=True)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)


class CheckoutInput(serializers.Serializer):
    cart_id = serializers.CharField(max_length=40)
    payment = PaymentInput(required=False)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    shipping_address = AddressSerializer(required=False)
    billing_address = AddressSerializer(required=False)
