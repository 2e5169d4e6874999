from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from bridges.access.keys import shopper_token_issue
from bridges.access.permissions import SecretKey, is_storefront
from customers.models import Customer
from orderflow.errors import NotFound, ValidationFailed


class ShopperTokenInput(serializers.Serializer):
    customer_id = serializers.CharField(required=False, max_length=40)
    email = serializers.EmailField(required=False, max_length=254)

    def validate(self, attrs):
        if bool(attrs.get("customer_id")) == bool(attrs.get("email")):
            raise serializers.ValidationError("Send customer_id or email (one of them).")
        return attrs


class ShopperTokenOutput(serializers.Serializer):
    token = serializers.CharField()
    customer_id = serializers.CharField()
    expires_at = serializers.DateTimeField()


class ShopperTokenApi(APIView):
    permission_classes = [SecretKey]
    queryset = Customer.objects.none()

    @extend_schema(summary="Issue a shopper token", request=ShopperTokenInput,
                   responses={201: ShopperTokenOutput,
                              404: OpenApiResponse(description="No such active customer.")})
    def post(self, request):
        """A short-lived signed token naming one customer, for ``X-Storefront-Shopper-Token``.
        Only a secret key may ask, and the token only works with that key."""
        if not is_storefront(request):
            raise ValidationFailed("Shopper tokens are issued to storefront secret keys.",
                                   code="storefront_key_required")
        data = ShopperTokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        lookup = ({"public_id": data.validated_data["customer_id"]}
                  if data.validated_data.get("customer_id")
                  else {"email__iexact": data.validated_data["email"]})
        customer = Customer.objects.filter(is_active=True, **lookup).first()
        if customer is None:
            raise NotFound("No such customer.")
        token, expires_at = shopper_token_issue(api_key=request.user.api_key, customer=customer)
        return Response(
            ShopperTokenOutput({"token": token, "customer_id": customer.public_id,
                                "expires_at": expires_at}).data,
            status=status.HTTP_201_CREATED,
        )
