"""Order endpoints: input serializer → permission → selector or service → output."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.filters import OrderingFilter
from rest_framework.generics import ListAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from bridges.access.idempotency import run_idempotent
from orderflow.api.pagination import CursorPage
from orderflow.api.schema import IDEMPOTENCY
from orderflow.errors import NotFound
from orderflow.principals import principal_from_request
from orders import services
from orders.api import serializers as s
from orders.api.filters import TIMESTAMPS, InvoiceFilter, OrderFilter, SupplierOrderFilter
from orders.api.permissions import (
    OrderDetailReader,
    OrderReader,
    PaymentRecorder,
    SignedInUser,
    StaffOrderManager,
    SupplierOrStaff,
)
from orders.constants import TransactionKind
from orders.models import Invoice, Order, Payment, SupplierOrder
from orders.presenters import invoice_pdf
from orders.selectors import (
    invoice_get,
    invoice_queryset,
    order_edit_get,
    order_get,
    order_list,
    order_queryset,
    payment_get,
    principal_with_memberships,
    supplier_order_get,
    supplier_order_queryset,
)

NULLABLE_TIMESTAMPS = {"confirmed_at", "approved_at", "declined_at", "completed_at",
                       "canceled_at", "exported_at"}


def principal(request):
    return principal_with_memberships(principal_from_request(request))


def validated(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def order_detail_response(request, order_id: str, *, status_code=status.HTTP_200_OK):
    order = order_get(principal=principal(request), public_id=order_id, with_details=True)
    return Response(s.OrderDetailSerializer(order).data, status=status_code)


class OrderCursorPage(CursorPage):
    ordering = ("-placed_at", "-id")


class TimestampOrdering(OrderingFilter):
    """Order by any timestamp. Ordering by one that may be empty (``confirmed_at`` …) lists
    the orders that have it: cursors cannot page across empty values."""

    def filter_queryset(self, request, queryset, view):
        ordering = self.get_ordering(request, queryset, view) or []
        for field in ordering[:1]:
            name = field.lstrip("-")
            if name in NULLABLE_TIMESTAMPS:
                queryset = queryset.filter(**{f"{name}__isnull": False})
        return super().filter_queryset(request, queryset, view)

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if ordering and "id" not in {f.lstrip("-") for f in ordering}:
            # A unique tie-breaker keeps cursor pages stable.
            ordering = [*ordering, "-id" if ordering[0].startswith("-") else "id"]
        return ordering


class OrderListApi(ListAPIView):
    """Orders, newest first: a shopper's own (secret key + shopper token), an approver's
    company's, or — for staff — every order, with filters for batch sync
    (``status=confirmed&exported=false``)."""

    permission_classes = [OrderReader]
    serializer_class = s.OrderSerializer
    queryset = Order.objects.none()
    filter_backends = [DjangoFilterBackend, TimestampOrdering]
    filterset_class = OrderFilter
    ordering_fields = TIMESTAMPS
    pagination_class = OrderCursorPage

    def get_queryset(self):
        return order_list(principal=principal_from_request(self.request))

    def get_serializer_class(self):
        # The schema documents the shape as OrderSerializer (the "Order" component); a page
        # is built by its cheaper twin, which gives the same JSON.
        if getattr(self, "swagger_fake_view", False):
            return s.OrderSerializer
        return s.OrderListSerializer

    @extend_schema(summary="List orders")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class OrderDetailApi(APIView):
    permission_classes = [OrderDetailReader]
    queryset = Order.objects.none()

    @extend_schema(summary="Get an order", responses={200: s.OrderDetailSerializer})
    def get(self, request, order_id):
        """The order with its payments and their transactions, invoices, approvals and
        supplier orders."""
        return order_detail_response(request, order_id)


# --- status actions ------------------------------------------------------------------------

class OrderApproveApi(APIView):
    permission_classes = [SignedInUser]
    queryset = Order.objects.none()

    @extend_schema(summary="Approve an order", request=s.CommentInput,
                   responses={200: s.OrderDetailSerializer,
                              403: OpenApiResponse(description="not_an_approver")})
    def post(self, request, order_id):
        """Approve the level this order waits for, as an approver of its company (signed in
        as their user) or staff with ``orders.approve_order``. The last level confirms it."""
        data = validated(s.CommentInput, request)
        p = principal(request)
        order = order_get(principal=p, public_id=order_id)
        services.order_approve(order=order, principal=p, comment=data["comment"])
        return order_detail_response(request, order_id)


class OrderDeclineApi(APIView):
    permission_classes = [SignedInUser]
    queryset = Order.objects.none()

    @extend_schema(summary="Decline an order", request=s.DeclineInput,
                   responses={200: s.OrderDetailSerializer,
                              403: OpenApiResponse(description="not_an_approver")})
    def post(self, request, order_id):
        """End an order awaiting approval as ``declined`` with the reason; its stock goes
        back."""
        data = validated(s.DeclineInput, request)
        p = principal(request)
        order = order_get(principal=p, public_id=order_id)
        services.order_decline(order=order, principal=p, reason=data["reason"])
        return order_detail_response(request, order_id)


class StaffOrderActionApi(APIView):
    permission_classes = [StaffOrderManager]
    queryset = Order.objects.none()

    def order(self, request, order_id):
        return order_get(principal=principal(request), public_id=order_id)


class OrderConfirmApi(StaffOrderActionApi):
    @extend_schema(summary="Confirm an order waiting for payment", request=s.CommentInput,
                   responses={200: s.OrderDetailSerializer})
    def post(self, request, order_id):
        data = validated(s.CommentInput, request)
        services.order_confirm(order=self.order(request, order_id),
                               actor=principal(request).actor, note=data["comment"])
        return order_detail_response(request, order_id)


class OrderCancelApi(StaffOrderActionApi):
    @extend_schema(summary="Cancel an order", request=s.CancelInput,
                   responses={200: s.OrderDetailSerializer})
    def post(self, request, order_id):
        """Reserved stock goes back, authorizations are voided, captured money becomes a
        refund owed (``payments[].refund_owed``)."""
        data = validated(s.CancelInput, request)
        services.order_cancel(order=self.order(request, order_id),
                              actor=principal(request).actor, reason=data["reason"],
                              note=data["note"])
        return order_detail_response(request, order_id)


class OrderCompleteApi(StaffOrderActionApi):
    @extend_schema(summary="Complete a fully shipped order", request=None,
                   responses={200: s.OrderDetailSerializer})
    def post(self, request, order_id):
        services.order_complete(order=self.order(request, order_id),
                                actor=principal(request).actor)
        return order_detail_response(request, order_id)


class OrderMarkExportedApi(StaffOrderActionApi):
    @extend_schema(summary="Mark an order exported", request=None,
                   responses={200: s.OrderDetailSerializer})
    def post(self, request, order_id):
        """Stamps ``exported_at`` (kept if already set), so the ERP's next pull of
        ``exported=false`` skips it."""
        services.order_mark_exported(order=self.order(request, order_id),
                                     actor=principal(request).actor)
        return order_detail_response(request, order_id)


class OrdersMarkExportedApi(StaffOrderActionApi):
    @extend_schema(summary="Mark many orders exported", request=s.OrderIdsInput,
                   operation_id="orders_mark_exported_bulk",
                   responses={200: s.MarkedExportedSerializer,
                              404: OpenApiResponse(description="Some ids are unknown; "
                                                   "nothing was marked (see missing).")})
    def post(self, request):
        """All or nothing: every id must name an order, else nothing is stamped."""
        ids = list(dict.fromkeys(validated(s.OrderIdsInput, request)["ids"]))
        p = principal(request)
        orders = [Order(pk=pk, public_id=public_id) for pk, public_id in
                  order_queryset(principal=p).filter(public_id__in=ids)
                  .values_list("pk", "public_id")]
        missing = sorted(set(ids) - {o.public_id for o in orders})
        if missing:
            raise NotFound(f"No order {', '.join(missing[:5])}"
                           + (" …" if len(missing) > 5 else "") + ".", missing=missing)
        marked = services.orders_mark_exported(orders=orders, actor=p.actor)
        return Response({"ids": [o.public_id for o in marked],
                         "exported_at": {o.public_id: o.exported_at for o in marked}})


class OrderInvoiceIssueApi(StaffOrderActionApi):
    @extend_schema(summary="Issue the order's invoice", request=None,
                   responses={201: s.InvoiceSerializer})
    def post(self, request, order_id):
        invoice = services.invoice_issue(order=self.order(request, order_id),
                                         actor=principal(request).actor)
        invoice = invoice_get(principal=principal(request), public_id=invoice.public_id)
        return Response(s.InvoiceSerializer(invoice).data, status=status.HTTP_201_CREATED)


# --- edits ---------------------------------------------------------------------------------

EDIT_ERRORS = {
    400: OpenApiResponse(description="invalid_edit, invalid_quantity, unknown_sku, "
                         "unknown_unit, empty_edit, order_needs_lines, "
                         "shipping_method_unavailable"),
    409: OpenApiResponse(description="order_not_editable, quantity_below_shipped, "
                         "product_inactive, order_invoiced, invalid_transition, edit_stale, "
                         "insufficient_stock, over_credit_limit"),
}


class OrderEditsApi(StaffOrderActionApi):
    @extend_schema(summary="Stage an order edit", request=s.OrderEditInput,
                   parameters=[IDEMPOTENCY], responses={201: s.OrderEditSerializer, **EDIT_ERRORS})
    def post(self, request, order_id):
        """Validate and price the changes against the order as it is now and keep them as a
        staged edit with its preview: the new lines and totals, the stock to reserve or
        release, and the money to collect or refund. The order does not change until the
        edit is applied."""
        data = validated(s.OrderEditInput, request)
        p = principal(request)
        note = data.pop("note", "")

        def work():
            edit = services.order_edit_stage(order=self.order(request, order_id),
                                             changes=data, actor=p.actor, note=note)
            edit = order_edit_get(principal=p, order_id=order_id, edit_id=edit.public_id)
            return Response(s.OrderEditSerializer(edit).data, status=status.HTTP_201_CREATED)

        return run_idempotent(request, p, work)


class OrderEditDetailApi(StaffOrderActionApi):
    @extend_schema(summary="Get an order edit", responses={200: s.OrderEditSerializer})
    def get(self, request, order_id, edit_id):
        edit = order_edit_get(principal=principal(request), order_id=order_id,
                              edit_id=edit_id)
        return Response(s.OrderEditSerializer(edit).data)


class OrderEditApplyApi(StaffOrderActionApi):
    @extend_schema(summary="Apply a staged order edit", request=None,
                   responses={200: s.OrderDetailSerializer, **EDIT_ERRORS})
    def post(self, request, order_id, edit_id):
        """One transaction: stock adjusted, lines rewritten, totals re-priced, the balance
        recorded on the payments (``amount_due`` or ``refund_owed``), ``order.updated``.
        Refused with nothing changed when the order moved since staging (``edit_stale``)
        or stock is short (``insufficient_stock``)."""
        p = principal(request)
        edit = order_edit_get(principal=p, order_id=order_id, edit_id=edit_id)
        services.order_edit_apply(edit=edit, actor=p.actor)
        return order_detail_response(request, order_id)


class OrderEditDiscardApi(StaffOrderActionApi):
    @extend_schema(summary="Discard a staged order edit", request=None,
                   responses={200: s.OrderEditSerializer, **EDIT_ERRORS})
    def post(self, request, order_id, edit_id):
        p = principal(request)
        edit = order_edit_get(principal=p, order_id=order_id, edit_id=edit_id)
        services.order_edit_discard(edit=edit, actor=p.actor)
        edit = order_edit_get(principal=p, order_id=order_id, edit_id=edit_id)
        return Response(s.OrderEditSerializer(edit).data)


# --- payments ------------------------------------------------------------------------------

class PaymentTransactionApi(APIView):
    """Record a provider result on a payment."""

    permission_classes = [PaymentRecorder]
    queryset = Payment.objects.none()
    kind: str = ""

    def post(self, request, order_id, payment_id):
        data = validated(s.TransactionInput, request)
        p = principal(request)
        order, payment = payment_get(principal=p, order_id=order_id, payment_id=payment_id)
        if self.kind == TransactionKind.VOID:
            data.pop("amount", None)  # a void releases whatever is still authorized
        services.PAYMENT_SERVICES[self.kind](order=order, payment=payment, actor=p.actor,
                                             **data)
        order, _ = payment_get(principal=p, order_id=order_id, payment_id=payment_id)
        return Response(s.OrderSerializer(order).data)


def _payment_api(kind: str, summary: str, doc: str):
    @extend_schema(summary=summary, request=s.TransactionInput,
                   responses={200: s.OrderSerializer})
    def post(self, request, order_id, payment_id):
        return PaymentTransactionApi.post(self, request, order_id, payment_id)

    post.__doc__ = doc
    return type(f"Payment{kind.title()}Api", (PaymentTransactionApi,),
                {"kind": kind, "post": post, "__doc__": doc})


PaymentAuthorizeApi = _payment_api(
    TransactionKind.AUTHORIZE, "Record an authorization",
    "The provider authorized an amount (default: the payment's amount).")
PaymentCaptureApi = _payment_api(
    TransactionKind.CAPTURE, "Record a capture",
    "The provider captured money (default: the order's whole balance). Capturing the whole "
    "balance of a pending_payment order confirms it.")
PaymentRefundApi = _payment_api(
    TransactionKind.REFUND, "Record a refund",
    "The provider refunded money (default: what is owed, else everything captured).")
PaymentVoidApi = _payment_api(
    TransactionKind.VOID, "Record a void", "The provider released the open authorization.")


# --- invoices ------------------------------------------------------------------------------

class InvoiceListApi(ListAPIView):
    """Invoices, newest first: the shopper's own, an approver's company's, staff all."""

    permission_classes = [OrderReader]
    serializer_class = s.InvoiceSerializer
    queryset = Invoice.objects.none()
    filter_backends = [DjangoFilterBackend]
    filterset_class = InvoiceFilter
    pagination_class = type("InvoiceCursorPage", (CursorPage,),
                            {"ordering": ("-issued_at", "-id")})

    def get_queryset(self):
        return invoice_queryset(principal=principal(self.request))

    @extend_schema(summary="List invoices")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PdfRenderer(BaseRenderer):
    """``?format=pdf`` / ``Accept: application/pdf`` on an invoice. The document itself is
    sent as a plain response; what reaches this renderer is an error body, sent as JSON (its
    problem+json content type is set by the error handler)."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else json.dumps(data).encode()


def invoice_pdf_response(invoice) -> HttpResponse:
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{invoice.number}.pdf"'
    return response


INVOICE_PDF = OpenApiResponse(OpenApiTypes.BINARY, description="The invoice as a PDF document.")
NO_INVOICE = OpenApiResponse(description="No such invoice for this principal.")


class InvoiceDetailApi(APIView):
    permission_classes = [OrderReader]
    queryset = Invoice.objects.none()
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(summary="Get an invoice",
                   description="JSON; with `?format=pdf` (or `Accept: application/pdf`) the "
                               "printable invoice as a PDF document.",
                   responses={(200, "application/json"): s.InvoiceSerializer,
                              (200, "application/pdf"): INVOICE_PDF, 404: NO_INVOICE})
    def get(self, request, invoice_id):
        invoice = invoice_get(principal=principal(request), public_id=invoice_id)
        if request.accepted_renderer.format == "pdf":
            return invoice_pdf_response(invoice)
        return Response(s.InvoiceSerializer(invoice).data)


class InvoicePdfApi(APIView):
    """``GET /api/v1/invoices/{id}.pdf``: the document B2B buyers reconcile against, scoped
    like the invoice itself (another principal's invoice answers 404)."""

    permission_classes = [OrderReader]
    queryset = Invoice.objects.none()
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(summary="Download an invoice as PDF",
                   responses={(200, "application/pdf"): INVOICE_PDF, 404: NO_INVOICE})
    def get(self, request, invoice_id):
        return invoice_pdf_response(invoice_get(principal=principal(request),
                                                public_id=invoice_id))


class InvoiceMarkPaidApi(APIView):
    permission_classes = [StaffOrderManager]
    queryset = Invoice.objects.none()

    @extend_schema(summary="Mark an invoice paid", request=s.InvoicePaidInput,
                   responses={200: s.InvoiceSerializer})
    def post(self, request, invoice_id):
        """The buyer paid: the balance is captured on the order's terms/COD payment."""
        data = validated(s.InvoicePaidInput, request)
        p = principal(request)
        invoice = invoice_get(principal=p, public_id=invoice_id)
        services.invoice_mark_paid(invoice=invoice, actor=p.actor, **data)
        return Response(s.InvoiceSerializer(invoice_get(principal=p,
                                                        public_id=invoice_id)).data)


# --- supplier orders -----------------------------------------------------------------------

class SupplierOrderListApi(ListAPIView):
    """The supplier orders of the signed-in supplier login (staff: all)."""

    permission_classes = [SupplierOrStaff]
    serializer_class = s.SupplierOrderSerializer
    queryset = SupplierOrder.objects.none()
    filter_backends = [DjangoFilterBackend]
    filterset_class = SupplierOrderFilter
    pagination_class = CursorPage

    def get_queryset(self):
        return supplier_order_queryset(principal=principal(self.request))

    @extend_schema(summary="List supplier orders")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SupplierOrderDetailApi(APIView):
    permission_classes = [SupplierOrStaff]
    queryset = SupplierOrder.objects.none()

    @extend_schema(summary="Get a supplier order", responses={200: s.SupplierOrderSerializer})
    def get(self, request, supplier_order_id):
        so = supplier_order_get(principal=principal(request), public_id=supplier_order_id)
        return Response(s.SupplierOrderSerializer(so).data)


class SupplierOrderAcknowledgeApi(APIView):
    permission_classes = [SupplierOrStaff]
    queryset = SupplierOrder.objects.none()

    @extend_schema(summary="Acknowledge a supplier order", request=None,
                   responses={200: s.SupplierOrderSerializer})
    def post(self, request, supplier_order_id):
        p = principal(request)
        so = supplier_order_get(principal=p, public_id=supplier_order_id)
        services.supplier_order_acknowledge(supplier_order=so, actor=p.actor)
        so = supplier_order_get(principal=p, public_id=supplier_order_id)
        return Response(s.SupplierOrderSerializer(so).data)

