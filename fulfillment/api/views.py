"""Shipment and return endpoints: input serializer → permission → selector or service →
output."""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from bridges.access.idempotency import run_idempotent
from fulfillment import services
from fulfillment.api import serializers as s
from fulfillment.api.permissions import (
    FulfillmentReader,
    ReturnManager,
    ReturnRequester,
    ShipmentWriter,
)
from fulfillment.constants import ReturnStatus
from fulfillment.models import Return, Shipment
from fulfillment.presenters import ReturnRequestInput
from fulfillment.return_selectors import return_get, return_list
from fulfillment.shipment_selectors import shipment_get
from orderflow.api.pagination import CursorPage
from orderflow.api.schema import IDEMPOTENCY
from orderflow.errors import NotFound
from orderflow.principals import principal_from_request
from orders.selectors import (
    order_get,
    principal_with_memberships,
    supplier_order_get,
    supplier_order_queryset,
)


def principal(request):
    return principal_with_memberships(principal_from_request(request))


def validated(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


SHIPMENT_ERRORS = {
    400: OpenApiResponse(description="invalid_quantity, invalid_supplier_order"),
    404: OpenApiResponse(description="not_found: no such order or shipment for you"),
    409: OpenApiResponse(description="over_shipment (names line_id, sku, requested, "
                                     "ordered, left), order_not_shippable, nothing_to_ship, "
                                     "invalid_transition"),
}
RETURN_ERRORS = {
    400: OpenApiResponse(description="invalid_return, invalid_receipt, invalid_amount, "
                                     "reason_required"),
    404: OpenApiResponse(description="not_found: no such order or return for you"),
    409: OpenApiResponse(description="over_return (names line_id, sku, requested, shipped, "
                                     "left), order_not_returnable, refund_exceeds_captured "
                                     "(names refundable), invalid_transition"),
}


def shipment_response(request, shipment_id: str, *, status_code=status.HTTP_200_OK):
    shipment = shipment_get(principal=principal(request), public_id=shipment_id)
    return Response(s.ShipmentDetailSerializer(shipment).data, status=status_code)


class OrderShipmentsApi(APIView):
    permission_classes = [ShipmentWriter]
    queryset = Shipment.objects.none()

    @extend_schema(summary="Create a shipment", request=s.ShipmentCreateInput,
                   parameters=[IDEMPOTENCY],
                   responses={201: s.ShipmentDetailSerializer, **SHIPMENT_ERRORS})
    def post(self, request, order_id):
        """A pending shipment of some units of some lines (``lines``), or of every unit not
        yet in a shipment (no ``lines``). Staff ship any line; a supplier login ships the
        lines of its supplier order for this order. Ship it with ``…/ship``."""
        data = dict(validated(s.ShipmentCreateInput, request))
        p = principal(request)
        supplier_order = None
        if p.supplier is not None:
            supplier_order = supplier_order_queryset(principal=p).filter(
                order__public_id=order_id).first()
            if supplier_order is None:
                raise NotFound(f"No order {order_id}.")
            order = supplier_order.order
        else:
            order = order_get(principal=p, public_id=order_id)
            so_id = data.pop("supplier_order_id", None)
            if so_id:
                supplier_order = supplier_order_get(principal=p, public_id=so_id)
        data.pop("supplier_order_id", None)
        lines = data.pop("lines", None)

        def work():
            shipment = services.shipment_create(
                order=order, actor=p.actor, supplier_order=supplier_order,
                lines=({item["line_id"]: item["quantity"] for item in lines}
                       if lines is not None else None), **data)
            return shipment_response(request, shipment.public_id,
                                     status_code=status.HTTP_201_CREATED)

        return run_idempotent(request, p, work)


class ShipmentDetailApi(APIView):
    permission_classes = [FulfillmentReader]
    queryset = Shipment.objects.none()

    @extend_schema(summary="Get a shipment",
                   responses={200: s.ShipmentDetailSerializer, 404: SHIPMENT_ERRORS[404]})
    def get(self, request, shipment_id):
        return shipment_response(request, shipment_id)


class ShipmentActionApi(APIView):
    permission_classes = [ShipmentWriter]
    queryset = Shipment.objects.none()

    def shipment(self, request, shipment_id):
        return shipment_get(principal=principal(request), public_id=shipment_id)


class ShipmentShipApi(ShipmentActionApi):
    @extend_schema(summary="Mark a shipment shipped", request=s.TrackingInput,
                   responses={200: s.ShipmentDetailSerializer, **SHIPMENT_ERRORS})
    def post(self, request, shipment_id):
        """Its units leave stock and roll up into the order: the fulfillment status follows,
        and the last unit completes the order (and issues a terms/COD invoice). The buyer
        gets the shipping e-mail with the tracking link."""
        data = validated(s.TrackingInput, request)
        services.shipment_ship(shipment=self.shipment(request, shipment_id),
                               actor=principal(request).actor, **data)
        return shipment_response(request, shipment_id)


class ShipmentDeliverApi(ShipmentActionApi):
    @extend_schema(summary="Mark a shipment delivered", request=None,
                   responses={200: s.ShipmentDetailSerializer, **SHIPMENT_ERRORS})
    def post(self, request, shipment_id):
        services.shipment_deliver(shipment=self.shipment(request, shipment_id),
                                  actor=principal(request).actor)
        return shipment_response(request, shipment_id)


class ShipmentCancelApi(ShipmentActionApi):
    @extend_schema(summary="Cancel a pending shipment", request=s.ShipmentCancelInput,
                   responses={200: s.ShipmentDetailSerializer, **SHIPMENT_ERRORS})
    def post(self, request, shipment_id):
        """Its quantities are free to ship again."""
        data = validated(s.ShipmentCancelInput, request)
        services.shipment_cancel(shipment=self.shipment(request, shipment_id),
                                 actor=principal(request).actor, reason=data["reason"])
        return shipment_response(request, shipment_id)


# --- returns -----------------------------------------------------------------------------------

def return_response(request, return_id: str, *, status_code=status.HTTP_200_OK):
    r = return_get(principal=principal(request), public_id=return_id, with_events=True)
    return Response(s.ReturnDetailSerializer(r).data, status=status_code)


class OrderReturnsApi(APIView):
    permission_classes = [ReturnRequester]
    queryset = Return.objects.none()

    @extend_schema(summary="Request a return", request=ReturnRequestInput,
                   parameters=[IDEMPOTENCY],
                   responses={201: s.ReturnDetailSerializer, **RETURN_ERRORS})
    def post(self, request, order_id):
        """Ask to send shipped units back, with a reason per line. At most what shipped
        minus what other returns hold (``over_return``). Staff authorize it (the RMA number
        is e-mailed) or reject it."""
        data = validated(ReturnRequestInput, request)
        p = principal(request)
        order = order_get(principal=p, public_id=order_id)

        def work():
            r = services.return_request(order=order, actor=p.actor, comment=data["comment"],
                                        lines=[dict(item) for item in data["lines"]])
            return return_response(request, r.public_id, status_code=status.HTTP_201_CREATED)

        return run_idempotent(request, p, work)


class ReturnFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=ReturnStatus.choices)
    order = filters.CharFilter(field_name="order__public_id", help_text="An order id.")

    class Meta:
        model = Return
        fields = ["status", "order"]


class ReturnListApi(ListAPIView):
    """Returns, newest first: the shopper's own, an approver's company's, staff all."""

    permission_classes = [FulfillmentReader]
    serializer_class = s.ReturnSerializer
    queryset = Return.objects.none()
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = ReturnFilter
    pagination_class = type("ReturnCursorPage", (CursorPage,),
                            {"ordering": ("-created_at", "-id")})

    def get_queryset(self):
        return return_list(principal=principal(self.request))

    @extend_schema(summary="List returns")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ReturnDetailApi(APIView):
    permission_classes = [FulfillmentReader]
    queryset = Return.objects.none()

    @extend_schema(summary="Get a return",
                   responses={200: s.ReturnDetailSerializer, 404: RETURN_ERRORS[404]})
    def get(self, request, return_id):
        """The return with its lines and its timeline."""
        return return_response(request, return_id)


class ReturnActionApi(APIView):
    permission_classes = [ReturnManager]
    queryset = Return.objects.none()

    def return_request(self, request, return_id):
        return return_get(principal=principal(request), public_id=return_id)


class ReturnAuthorizeApi(ReturnActionApi):
    @extend_schema(summary="Authorize a return", request=s.ReturnAuthorizeInput,
                   responses={200: s.ReturnDetailSerializer, **RETURN_ERRORS})
    def post(self, request, return_id):
        """Issues the RMA number; the buyer gets it with the instructions by e-mail."""
        data = validated(s.ReturnAuthorizeInput, request)
        services.return_authorize(return_request=self.return_request(request, return_id),
                                  actor=principal(request).actor, **data)
        return return_response(request, return_id)


class ReturnRejectApi(ReturnActionApi):
    @extend_schema(summary="Reject a return", request=s.ReturnRejectInput,
                   responses={200: s.ReturnDetailSerializer, **RETURN_ERRORS})
    def post(self, request, return_id):
        data = validated(s.ReturnRejectInput, request)
        services.return_reject(return_request=self.return_request(request, return_id),
                               actor=principal(request).actor, reason=data["reason"])
        return return_response(request, return_id)


class ReturnReceiveApi(ReturnActionApi):
    @extend_schema(summary="Receive a return", request=s.ReturnReceiveInput,
                   responses={200: s.ReturnDetailSerializer, **RETURN_ERRORS})
    def post(self, request, return_id):
        """Per line: the quantity that arrived, its condition and whether it goes back on
        the shelf (restock adds to on hand). No money moves: refund is its own step."""
        data = validated(s.ReturnReceiveInput, request)
        services.return_receive(
            return_request=self.return_request(request, return_id),
            actor=principal(request).actor,
            lines={item["line_id"]: {"quantity": item["quantity"],
                                     "condition": item["condition"],
                                     "restock": item["restock"]} for item in data["lines"]})
        return return_response(request, return_id)


class ReturnRefundApi(ReturnActionApi):
    @extend_schema(summary="Refund a received return", request=s.ReturnRefundInput,
                   responses={200: s.ReturnDetailSerializer, **RETURN_ERRORS})
    def post(self, request, return_id):
        """A refund transaction on the order's payment (never more than captured minus
        refunded); a terms/COD order with nothing paid yet gets a credit against its
        invoice instead (``refund_method: invoice_credit``)."""
        data = validated(s.ReturnRefundInput, request)
        services.return_refund(return_request=self.return_request(request, return_id),
                               actor=principal(request).actor, **data)
        return return_response(request, return_id)


class ReturnCloseApi(ReturnActionApi):
    @extend_schema(summary="Close a return", request=s.ReturnCloseInput,
                   responses={200: s.ReturnDetailSerializer, **RETURN_ERRORS})
    def post(self, request, return_id):
        """After the refund, or without one (exchange handled outside, goods never sent)."""
        data = validated(s.ReturnCloseInput, request)
        services.return_close(return_request=self.return_request(request, return_id),
                              actor=principal(request).actor, note=data["note"])
        return return_response(request, return_id)
