"""Order export and import for the admin: one row per order line (CSV/XLSX), order columns
repeated.

Nested JSON (an order with its lines, exactly the ``order.*`` webhook payload) is the
admin action "Export selected orders as JSON"; see ``orders_export_json``.
"""

from decimal import Decimal, InvalidOperation

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from import_export import fields
from import_export.results import RowResult
from import_export.widgets import ForeignKeyWidget

from catalog.models import Product
from catalog.selectors import product_for_sale
from customers.models import Company, Customer
from fulfillment.models import ShippingMethod
from fulfillment.selectors import RATES_PREFETCH
from orderflow.errors import DomainError
from orderflow.models import ActorSource, Channel
from orderflow.money import format_amount
from orderflow.resources import BaseResource, card_data_errors
from orderflow.timeline import Actor
from orders import services
from orders.constants import MAX_LINE_QUANTITY, PaymentKind
from orders.events import order_payload
from orders.models import Order, OrderLine


class OrderResource(BaseResource):
    number = fields.Field(attribute="order", column_name="order_number",
                          widget=ForeignKeyWidget(Order, field="number"))
    order_id = fields.Field(attribute="order__public_id", column_name="order_id")
    status = fields.Field(attribute="order__status", column_name="status")
    payment_status = fields.Field(attribute="order__payment_status",
                                  column_name="payment_status")
    fulfillment_status = fields.Field(attribute="order__fulfillment_status",
                                      column_name="fulfillment_status")
    channel = fields.Field(attribute="order__channel__code", column_name="channel")
    company = fields.Field(attribute="order__company__code", column_name="company")
    email = fields.Field(attribute="order__email", column_name="email")
    currency = fields.Field(attribute="order__currency", column_name="currency")
    order_total = fields.Field(column_name="order_total")
    placed_at = fields.Field(attribute="order__placed_at", column_name="placed_at")
    exported_at = fields.Field(attribute="order__exported_at", column_name="exported_at")
    line_id = fields.Field(attribute="public_id", column_name="line_id")
    unit_price = fields.Field(column_name="unit_price")
    line_total = fields.Field(column_name="line_total")

    class Meta(BaseResource.Meta):
        model = OrderLine
        fields = ["number", "order_id", "status", "payment_status", "fulfillment_status",
                  "channel", "company", "email", "currency", "order_total", "placed_at",
                  "exported_at", "line_id", "sku", "name", "quantity", "quantity_shipped",
                  "order_uom", "order_quantity", "unit_price", "line_total"]
        export_order = fields

    def dehydrate_order_total(self, line):
        return format_amount(line.order.total, line.order.currency)

    def dehydrate_unit_price(self, line):
        return format_amount(line.unit_price, line.order.currency)

    def dehydrate_line_total(self, line):
        return format_amount(line.line_total, line.order.currency)

    def export(self, queryset=None, **kwargs):
        """The admin hands over orders; each becomes one row per line."""
        if queryset is not None and queryset.model is Order:
            queryset = (OrderLine.objects.filter(order__in=queryset.values("pk"))
                        .select_related("order__channel", "order__company")
                        .order_by("order__placed_at", "order_id", "id"))
        return super().export(queryset=queryset, **kwargs)

    def get_queryset(self):
        return OrderLine.objects.select_related("order__channel", "order__company")


def orders_export_json(queryset) -> list[dict]:
    """Orders with their lines and payments nested, as the webhooks carry them."""
    orders = queryset.select_related("channel", "customer", "company").prefetch_related(
        "lines", "payments")
    return [order_payload(order) for order in orders]


# --- import ----------------------------------------------------------------------------------

ORDER_COLUMNS = ["external_reference", "channel", "email", "company", "currency",
                 "payment_kind", "payment_reference", "paid", "shipping_method",
                 "shipping_total", "ship_name", "ship_company", "ship_line1", "ship_line2",
                 "ship_city", "ship_region", "ship_postal_code", "ship_country", "ship_phone",
                 "notes"]
LINE_COLUMNS = ["sku", "quantity", "order_uom", "order_quantity", "unit_price"]
IMPORT_COLUMNS = ORDER_COLUMNS + LINE_COLUMNS
ADDRESS_KEYS = {"ship_name": "full_name", "ship_company": "company_name",
                "ship_line1": "line1", "ship_line2": "line2", "ship_city": "city",
                "ship_region": "region", "ship_postal_code": "postal_code",
                "ship_country": "country", "ship_phone": "phone"}
TRUE = {"1", "true", "yes", "y", "paid"}
FALSE = {"", "0", "false", "no", "n"}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets hand integers over as floats
    return str(value).strip()


def _flatten_nested(dataset: tablib.Dataset) -> tablib.Dataset:
    """JSON with the lines nested in each order (the shape of the JSON export) becomes one
    row per line with the order's columns repeated, like the CSV."""
    if "lines" not in (dataset.headers or []):
        return dataset
    flat = tablib.Dataset(headers=IMPORT_COLUMNS)
    for order in dataset.dict:
        base = {k: order.get(k) for k in ORDER_COLUMNS if k in order}
        base.setdefault("external_reference", order.get("number"))
        for key, value in (order.get("shipping_address") or {}).items():
            column = next((c for c, k in ADDRESS_KEYS.items() if k == key), None)
            if column:
                base.setdefault(column, value)
        if order.get("payments") and "payment_kind" not in base:
            base["payment_kind"] = order["payments"][0].get("kind")
            base.setdefault("payment_reference", order["payments"][0].get("reference"))
        if "paid" not in base and order.get("payment_status") == "paid":
            base["paid"] = "true"
        for line in order.get("lines") or [{}]:
            row = {**base, **{k: line.get(k) for k in LINE_COLUMNS if k in line}}
            flat.append([row.get(column) for column in IMPORT_COLUMNS])
    return flat


class OrderImportResource(BaseResource):
    """Orders from a file: CSV/XLSX one row per line, the order's columns repeated on each
    of its lines and grouped by ``external_reference`` (or ``order_number``); JSON either
    the same rows or orders with their ``lines`` nested.

    Every order goes through ``orders.services.order_import`` (stock, pricing, payment,
    timeline, outbox). Any bad row — a bad value, an unknown sku/channel/company, a row that
    disagrees with the other rows of its order, or an order the service refuses (stock,
    credit, already imported) — is reported on its row and nothing is imported.
    """

    class Meta(BaseResource.Meta):
        model = Order
        fields = IMPORT_COLUMNS
        import_id_fields = []
        skip_diff = True

    def get_diff_headers(self):
        return list(IMPORT_COLUMNS)

    def get_user_visible_fields(self):
        return []

    def get_import_fields(self):
        return []

    # Rows are grouped into orders and imported per order, so the per-row machinery of
    # ModelResource is replaced wholesale; the surrounding transaction (and its rollback on
    # any error or dry run) stays ``import_data``'s.
    def import_data_inner(self, dataset, dry_run, raise_errors, using_transactions,
                          collect_failed_rows, **kwargs):
        dataset = _flatten_nested(dataset)
        result = self.get_result_class()()
        result.diff_headers = self.get_diff_headers()
        result.total_rows = len(dataset)
        headers = [h.strip() if isinstance(h, str) else h for h in (dataset.headers or [])]
        rows = [dict(zip(headers, values, strict=False)) for values in dataset]
        for row in rows:
            if not _text(row.get("external_reference")) and row.get("order_number"):
                row["external_reference"] = row["order_number"]
        missing = [c for c in ("external_reference", "channel", "email", "sku")
                   if c not in headers and not (c == "external_reference"
                                                and "order_number" in headers)]
        if missing:
            result.append_base_error(self.get_error_result_class()(
                ValidationError(f"Missing column(s): {', '.join(missing)}.")))
            return result

        user = kwargs.get("user")
        actor = (Actor.staff(user, source=ActorSource.ADMIN) if getattr(user, "pk", None)
                 else Actor.system("import"))
        source = kwargs.get("file_name") or "import"
        errors: dict[int, dict[str, list[str]]] = {}
        parsed: dict[int, dict] = {}
        for number, row in enumerate(rows, start=1):
            parsed[number], row_errors = self._parse(row)
            for column, messages in card_data_errors(row).items():
                row_errors.setdefault(column, []).extend(messages)
            if row_errors:
                errors[number] = row_errors

        groups: dict[tuple, list[int]] = {}
        for number, row in enumerate(rows, start=1):
            key = (_text(row.get("channel")).upper(), _text(row.get("external_reference")))
            groups.setdefault(key, []).append(number)
        for numbers in groups.values():
            first = rows[numbers[0] - 1]
            for number in numbers[1:]:
                differ = [c for c in ORDER_COLUMNS
                          if _text(rows[number - 1].get(c)) != _text(first.get(c))]
                if differ:
                    errors.setdefault(number, {}).setdefault(NON_FIELD_ERRORS, []).append(
                        f"Differs from row {numbers[0]} of the same order in: "
                        f"{', '.join(differ)}.")

        orders: dict[int, Order] = {}
        skipped: set[int] = set()
        for numbers in groups.values():
            if any(n in errors for n in numbers):
                continue
            head = parsed[numbers[0]]
            try:
                with transaction.atomic():
                    order = services.order_import(
                        **head["order"], actor=actor, source=source,
                        lines=[parsed[n]["line"] for n in numbers])
            except DomainError as exc:
                if exc.code == "duplicate_order":
                    # Imported before (same channel and external reference): left as it
                    # is, so the same file imported twice changes nothing the second time.
                    skipped.update(numbers)
                    continue
                number = numbers[0]
                sku = exc.extra.get("sku")
                if sku:
                    number = next((n for n in numbers
                                   if parsed[n]["line"]["product"].sku == sku), number)
                field = "sku" if sku else NON_FIELD_ERRORS
                messages = [exc.detail] + [m for ms in (exc.errors or {}).values() for m in ms]
                errors.setdefault(number, {}).setdefault(field, []).extend(messages)
                continue
            for number in numbers:
                orders[number] = order

        for number, row in enumerate(rows, start=1):
            row_result = self.get_row_result_class()()
            row_result.row_values = row
            if number in errors:
                row_result.import_type = RowResult.IMPORT_TYPE_INVALID
                row_result.validation_error = ValidationError(errors[number])
                result.append_invalid_row(number, row, row_result.validation_error)
            elif number in skipped:
                row_result.import_type = RowResult.IMPORT_TYPE_SKIP
            else:
                row_result.import_type = RowResult.IMPORT_TYPE_NEW
                row_result.diff = [_text(row.get(c)) for c in IMPORT_COLUMNS]
                row_result.add_instance_info(orders.get(number))
                row_result.instance = orders.get(number)
            result.increment_row_result_total(row_result)
            result.append_row_result(row_result)
        return result

    def _parse(self, row: dict) -> tuple[dict, dict[str, list[str]]]:
        """One row's values as the service wants them, and what is wrong with it."""
        errors: dict[str, list[str]] = {}

        def fail(column, message):
            errors.setdefault(column, []).append(message)

        channel = None
        code = _text(row.get("channel"))
        if not code:
            fail("channel", "Required.")
        else:
            channel = Channel.objects.filter(code__iexact=code).first()
            if channel is None:
                fail("channel", f"Unknown channel {code}.")
        if not _text(row.get("external_reference")):
            fail("external_reference", "Required: the order's id in the source system.")
        email = _text(row.get("email")).lower()
        try:
            validate_email(email)
        except ValidationError:
            fail("email", "A valid e-mail address is required.")
        currency = _text(row.get("currency")).upper()
        if channel is not None and currency and currency != channel.currency:
            fail("currency", f"The {channel.code} channel sells in {channel.currency}.")
        company = None
        if _text(row.get("company")):
            company = (Company.objects.select_related("price_list")
                       .filter(code=_text(row.get("company"))).first())
            if company is None:
                fail("company", f"Unknown company {_text(row.get('company'))}.")
        customer = Customer.objects.select_related("company").filter(
            email__iexact=email).first() if email else None
        if customer is not None and company is None:
            company = customer.company
        elif customer is not None and customer.company_id not in (None, company.pk):
            fail("company", f"{email} buys for another company.")
        kind = _text(row.get("payment_kind")).lower() or PaymentKind.COD
        if kind not in PaymentKind.values:
            fail("payment_kind", f"One of {', '.join(PaymentKind.values)}.")
        paid_text = _text(row.get("paid")).lower()
        if paid_text not in TRUE | FALSE:
            fail("paid", "true or false.")
        method = None
        if _text(row.get("shipping_method")):
            name = _text(row.get("shipping_method"))
            method = (ShippingMethod.objects.prefetch_related(RATES_PREFETCH)
                      .filter(code=name).first()
                      or ShippingMethod.objects.prefetch_related(RATES_PREFETCH)
                      .filter(name__iexact=name).first())
            if method is None:
                fail("shipping_method", f"Unknown shipping method {name}.")
        shipping_total = self._money(row, "shipping_total", fail)
        address = {key: _text(row.get(column)) for column, key in ADDRESS_KEYS.items()
                   if _text(row.get(column))}
        if address:
            for column in ("ship_name", "ship_line1", "ship_city", "ship_country"):
                if not _text(row.get(column)):
                    fail(column, "Required with a shipping address.")
            address["country"] = address.get("country", "").upper()

        product = None
        sku = _text(row.get("sku"))
        if not sku:
            fail("sku", "Required.")
        else:
            try:
                product = product_for_sale(sku=sku, queryset=Product.objects.select_related(
                    "tax_class", "supplier").prefetch_related("units", "tax_class__rates"))
            except DomainError as error:
                fail("sku", (error.errors or {}).get("sku", [error.detail])[0])
        uom = _text(row.get("order_uom")).upper()
        quantity = self._count(row, "order_quantity" if uom else "quantity", fail)
        order_quantity = None
        if uom and quantity is not None and product is not None:
            order_quantity = quantity
            factor = product.conversion_factor(uom)
            if factor is None:
                fail("order_uom", f"{product.sku} is not sold in {uom}.")
            else:
                quantity = order_quantity * factor
        unit_price = self._money(row, "unit_price", fail)
        order = {"channel": channel, "email": email, "external_reference":
                 _text(row.get("external_reference")), "customer": customer,
                 "company": company, "payment_kind": kind,
                 "payment_reference": _text(row.get("payment_reference")),
                 "paid": paid_text in TRUE, "shipping_address": address or None,
                 "shipping_method": method, "shipping_total": shipping_total,
                 "notes": _text(row.get("notes"))}
        line = {"product": product, "quantity": quantity, "order_uom": uom,
                "order_quantity": order_quantity, "unit_price": unit_price}
        return {"order": order, "line": line}, errors

    @staticmethod
    def _count(row, column, fail) -> int | None:
        text = _text(row.get(column))
        try:
            value = int(text)
        except ValueError:
            fail(column, "A whole number is required.")
            return None
        if not 1 <= value <= MAX_LINE_QUANTITY:
            fail(column, f"Between 1 and {MAX_LINE_QUANTITY}.")
            return None
        return value

    @staticmethod
    def _money(row, column, fail) -> Decimal | None:
        text = _text(row.get(column))
        if not text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            fail(column, "An amount such as 12.50 is required.")
            return None
        if value < 0 or not value.is_finite():
            fail(column, "Must be zero or more.")
            return None
        return value
