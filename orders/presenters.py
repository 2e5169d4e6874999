"""How an order is shown to API clients — the orders REST API, checkout (carts.api) and the
bridge (bridges.hmac) — by serializers whose declared fields produce the output.

The ``order.*`` webhooks carry ``orders.events.order_payload``, a builder of its own: today the
two shapes are the same, and each is pinned by its contract tests (tests/orders,
tests/bridges/test_webhook_payloads.py).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC

from drf_spectacular.utils import extend_schema_field
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from rest_framework import serializers
from rest_framework.fields import get_attribute

from orderflow.display import address_lines, money, rate
from orderflow.money import format_amount


class AddressSerializer(serializers.Serializer):
    """A postal address, as carts and orders accept and show it."""

    full_name = serializers.CharField(max_length=200)
    company_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", help_text="ISO 3166 alpha-2, e.g. JM.")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)

    def validate_country(self, value):
        return value.upper()


@extend_schema_field(AddressSerializer)
class AddressSnapshotField(serializers.DictField):
    """The address stored on the order when it was placed (or imported), shown as stored."""


class AmountField(serializers.CharField):
    """Money as a string with exactly its currency's minor digits (``"12.50"``); the currency
    is read from the same object, at the dotted path ``currency``."""

    def __init__(self, *, currency: str = "currency", **kwargs):
        self.currency_attrs = currency.split(".")
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        amount = super().get_attribute(instance)
        return None if amount is None else (amount, get_attribute(instance, self.currency_attrs))

    def to_representation(self, value):
        amount, currency = value
        return format_amount(amount, currency)


class OptionalCharField(serializers.CharField):
    """Text that is null when blank."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return str(value) if value else None


class UTCDateTimeField(serializers.DateTimeField):
    """A timestamp in UTC (``…Z``), whatever the server's TIME_ZONE."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)


class OrderLineSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    order_uom = OptionalCharField()
    order_quantity = serializers.IntegerField(allow_null=True)
    quantity_shipped = serializers.IntegerField()
    unit_price = AmountField(currency="order.currency")
    line_subtotal = AmountField(currency="order.currency")
    tax_rate = serializers.CharField()
    tax_amount = AmountField(currency="order.currency")
    line_total = AmountField(currency="order.currency")
    metadata = serializers.DictField()


class PaymentSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    kind = serializers.CharField()
    reference = OptionalCharField()
    amount = AmountField(currency="order.currency")
    currency = serializers.CharField()
    status = serializers.CharField()
    captured = AmountField(source="amount_captured", currency="order.currency")
    refunded = AmountField(source="amount_refunded", currency="order.currency")
    refund_owed = AmountField(currency="order.currency",
                              help_text="Money still to give back to the buyer.")
    amount_due = AmountField(currency="order.currency",
                             help_text="Money still to collect beyond amount.")


class ShipmentLineSerializer(serializers.Serializer):
    line_id = serializers.CharField(source="order_line.public_id")
    sku = serializers.CharField(source="order_line.sku")
    name = serializers.CharField(source="order_line.name")
    quantity = serializers.IntegerField()


class ShipmentSerializer(serializers.Serializer):
    """A shipment of an order (``order.shipments``: the fulfillment app's rows, read through
    the reverse relation, so orders imports nothing of fulfillment): what went in which
    parcel, with which carrier and tracking."""

    id = serializers.CharField(source="public_id")
    number = serializers.CharField()
    status = serializers.CharField()
    carrier = OptionalCharField()
    service = OptionalCharField()
    tracking_number = OptionalCharField()
    tracking_url = OptionalCharField()
    weight_grams = serializers.IntegerField(allow_null=True)
    lines = ShipmentLineSerializer(many=True, source="lines.all")
    created_at = UTCDateTimeField()
    shipped_at = UTCDateTimeField(allow_null=True)
    delivered_at = UTCDateTimeField(allow_null=True)
    canceled_at = UTCDateTimeField(allow_null=True)


class OrderSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    number = serializers.CharField()
    status = serializers.CharField()
    payment_status = serializers.CharField()
    fulfillment_status = serializers.CharField()
    channel = serializers.CharField(source="channel.code")
    customer_id = serializers.CharField(source="customer.public_id", allow_null=True)
    company_id = serializers.CharField(source="company.public_id", allow_null=True)
    email = serializers.CharField()
    currency = serializers.CharField()
    subtotal = AmountField()
    tax_total = AmountField()
    shipping_total = AmountField()
    total = AmountField()
    shipping_method = OptionalCharField(source="shipping_method_name")
    shipping_address = AddressSnapshotField(allow_null=True)
    billing_address = AddressSnapshotField(allow_null=True)
    lines = OrderLineSerializer(many=True, source="lines.all")
    payments = PaymentSerializer(many=True, source="payments.all")
    notes = serializers.CharField()
    external_reference = OptionalCharField(
        help_text="The order's id in the system it was imported from.")
    metadata = serializers.DictField()
    approval_levels = serializers.ListField(child=serializers.IntegerField())
    cancel_reason = OptionalCharField()
    decline_reason = OptionalCharField()
    placed_at = UTCDateTimeField()
    confirmed_at = UTCDateTimeField(allow_null=True)
    approved_at = UTCDateTimeField(allow_null=True)
    declined_at = UTCDateTimeField(allow_null=True)
    completed_at = UTCDateTimeField(allow_null=True)
    canceled_at = UTCDateTimeField(allow_null=True)
    exported_at = UTCDateTimeField(allow_null=True)


class DefaultTakenSerializer(serializers.Serializer):
    value = serializers.CharField(allow_null=True,
                                  help_text="What was taken: a code, an address id, a kind.")
    source = serializers.CharField(help_text="Where from: channel, customer, company, "
                                             "company_terms, shipping_address.")
    detail = serializers.CharField()


class DefaultsField(serializers.DictField):
    """What a cart or a checkout took by default, by field (``shipping_method``,
    ``shipping_address``, ``billing_address``, ``payment``)."""

    def __init__(self, **kwargs):
        super().__init__(child=DefaultTakenSerializer(), **kwargs)


class CheckoutOrderSerializer(OrderSerializer):
    """The order checkout placed, with the defaults it took (from the converted cart)."""

    defaults = DefaultsField(source="cart.defaults")


class OrderWithShipmentsSerializer(OrderSerializer):
    """An order with its shipments and tracking: what the bridge's ``order.get`` answers."""

    shipments = ShipmentSerializer(many=True, source="shipments.all")


# --- the invoice document ------------------------------------------------------------------

def _pdf_text(value) -> str:
    """Text for fpdf2's built-in fonts (Helvetica: Latin-1). Accents outside Latin-1 are
    dropped (``ż`` → ``z``), dashes and arrows become ASCII, anything else a ``?``: no font
    file is read and nothing is fetched at run time."""
    text = str(value if value is not None else "")
    text = text.translate({0x2014: "-", 0x2013: "-", 0x2192: "->", 0x2018: "'", 0x2019: "'",
                           0x201C: '"', 0x201D: '"', 0x2026: "...", 0x2022: "*",
                           0x0141: "L", 0x0142: "l", 0x0110: "D", 0x0111: "d"})
    out = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        base = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
        out.append(base or "?")
    return "".join(out)


def invoice_pdf(invoice, *, compress: bool = True) -> bytes:
    """The invoice as a PDF document (fpdf2, its built-in Helvetica): the same document as the
    admin's printable page — seller channel, bill-to and ship-to, the order's lines with
    formatted money (``orderflow.display.money``), subtotal, tax, shipping and amount due.
    The admin's Download PDF button and ``GET /api/v1/invoices/{id}.pdf`` both send it."""
    order = invoice.order
    currency = invoice.currency

    def fmt(amount):
        return _pdf_text(money(amount, currency))

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_compression(compress)
    pdf.set_title(_pdf_text(f"Invoice {invoice.number}"))
    pdf.set_creator("OrderFlow")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    width = pdf.epw

    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(width / 2, 10, _pdf_text(f"Invoice {invoice.number}"))
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(width / 2, 10, _pdf_text(invoice.get_status_display().upper()), align="R",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 10)
    dates = [f"Issued {invoice.issued_at:%d %b %Y}", f"Due {invoice.due_date:%d %b %Y}"]
    if invoice.paid_at:
        dates.append(f"Paid {invoice.paid_at:%d %b %Y}")
    pdf.cell(width / 2, 6, _pdf_text(f"Order {order.number} - {order.channel.name}"))
    pdf.cell(width / 2, 6, _pdf_text(" - ".join(dates)), align="R",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)

    bill = address_lines(order.billing_address)
    if invoice.company is not None:
        bill = [invoice.company.name, *bill]
        if invoice.company.tax_id:
            bill.append(f"Tax id {invoice.company.tax_id}")
    ship = address_lines(order.shipping_address)
    top = pdf.get_y()
    for x, title, lines in ((pdf.l_margin, "Bill to", bill),
                            (pdf.l_margin + width / 2, "Ship to", ship)):
        pdf.set_xy(x, top)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(width / 2, 6, title, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(width / 2 - 4, 5, _pdf_text("\n".join(lines) or "-"),
                       new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_xy(pdf.l_margin, max(pdf.get_y(), top + 30))
    pdf.ln(4)

    headings = ("SKU", "Description", "Qty", "Unit price", "Tax", "Amount")
    with pdf.table(col_widths=(28, 62, 20, 28, 14, 30), text_align=(
            "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"), line_height=6,
            borders_layout="HORIZONTAL_LINES", first_row_as_headings=True) as table:
        table.row([_pdf_text(h) for h in headings])
        for line in order.lines.order_by("id"):
            quantity = (f"{line.order_quantity} {line.order_uom}" if line.order_uom
                        else str(line.quantity))
            table.row([_pdf_text(line.sku), _pdf_text(line.name), _pdf_text(quantity),
                       fmt(line.unit_price), _pdf_text(rate(line.tax_rate)),
                       fmt(line.line_subtotal)])
    pdf.ln(4)
    shipping = "Shipping"
    if order.shipping_method_name:
        shipping = f"Shipping ({order.shipping_method_name})"
    for label, amount, style in (("Subtotal", fmt(order.subtotal), ""),
                                 ("Tax", fmt(order.tax_total), ""),
                                 (_pdf_text(shipping), fmt(order.shipping_total), ""),
                                 ("Amount due", fmt(invoice.amount), "B")):
        pdf.set_font("Helvetica", style, 10)
        pdf.cell(width - 40, 6, label, align="R")
        pdf.cell(40, 6, amount, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
