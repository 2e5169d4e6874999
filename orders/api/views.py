from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from bridges.api.permissions import SecretKey, ShopperToken
from orderflow.principals import principal_from_request
from orders.api.serializers import OrderSerializer
from orders.models import Order
from orders.selectors import order_get, order_list


class OrderListApi(ListAPIView):
    """The shopper's own orders, newest first (staff: every order)."""

    permission_classes = [ShopperToken]
    serializer_class = OrderSerializer
    queryset = Order.objects.none()
    filter_backends = []

    def get_queryset(self):
        return order_list(principal=principal_from_request(self.request))


class OrderDetailApi(APIView):
    permission_classes = [SecretKey]
    queryset = Order.objects.none()

    @extend_schema(summary="Get an order", responses={200: OrderSerializer})
    def get(self, request, order_id):
        order = order_get(principal=principal_from_request(request), public_id=order_id)
        return Response(OrderSerializer(order).data)
