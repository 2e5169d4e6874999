"""Tracking numbers from a CSV/XLSX file: one row per line and parcel,
``order_number, line_sku, quantity, carrier, tracking_number``.

Rows with the same order, carrier and tracking number are one parcel: a shipment of those
lines, created and shipped through ``fulfillment.services`` (stock, roll-up, timeline,
outbox, the buyer's e-mail). Any bad row — an unknown order or sku, a quantity that is not
a whole number, more than is left to ship, an order that does not ship — is reported on its
row and nothing is imported (the preview is a dry run of the same)."""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from import_export.results import RowResult

from fulfillment import services
from fulfillment.models import Shipment
from orderflow.errors import DomainError
from orderflow.models import ActorSource
from orderflow.resources import BaseResource, card_data_errors
from orderflow.timeline import Actor
from orders.models import Order

COLUMNS = ["order_number", "line_sku", "quantity", "carrier", "tracking_number"]


def _text(value) -> str:
    return "" if value is None else str(value).strip()


class TrackingImportResource(BaseResource):
    class Meta(BaseResource.Meta):
        model = Shipment
        fields = COLUMNS
        import_id_fields = []
        skip_diff = True

    def get_diff_headers(self):
        return list(COLUMNS)

    def get_user_visible_fields(self):
        return []

    def get_import_fields(self):
        return []

    def import_data_inner(self, dataset, dry_run, raise_errors, using_transactions,
                          collect_failed_rows, **kwargs):
        result = self.get_result_class()()
        result.diff_headers = self.get_diff_headers()
        result.total_rows = len(dataset)
        headers = [h.strip() if isinstance(h, str) else h for h in (dataset.headers or [])]
        missing = [c for c in COLUMNS if c not in headers]
        if missing:
            result.append_base_error(self.get_error_result_class()(
                ValidationError(f"Missing column(s): {', '.join(missing)}.")))
            return result
        rows = [dict(zip(headers, values, strict=False)) for values in dataset]
        user = kwargs.get("user")
        actor = (Actor.staff(user, source=ActorSource.ADMIN) if getattr(user, "pk", None)
                 else Actor.system("tracking import"))

        errors: dict[int, dict[str, list[str]]] = {}
        orders = {o.number: o for o in Order.objects.filter(
            number__in={_text(r.get("order_number")) for r in rows}).prefetch_related("lines")}
        parcels: dict[tuple, dict] = {}
        for number, row in enumerate(rows, start=1):
            def fail(column, message, number=number):
                errors.setdefault(number, {}).setdefault(column, []).append(message)

            order = orders.get(_text(row.get("order_number")))
            if order is None:
                fail("order_number", f"No order {_text(row.get('order_number'))!r}.")
                continue
            sku = _text(row.get("line_sku"))
            line = next((ln for ln in order.lines.all() if ln.sku == sku), None)
            if line is None:
                fail("line_sku", f"Order {order.number} has no line {sku!r}.")
            try:
                quantity = int(_text(row.get("quantity")))
                if quantity < 1:
                    raise ValueError
            except ValueError:
                fail("quantity", f"{_text(row.get('quantity'))!r} is not a whole number "
                                 "above 0.")
                continue
            if not _text(row.get("tracking_number")):
                fail("tracking_number", "A tracking number is needed.")
            for column, messages in card_data_errors(row).items():
                for message in messages:
                    fail(column, message)
            if number in errors:
                continue
            key = (order.number, _text(row.get("carrier")), _text(row.get("tracking_number")))
            parcel = parcels.setdefault(key, {"order": order, "lines": {}, "rows": []})
            parcel["lines"][line.public_id] = parcel["lines"].get(line.public_id, 0) + quantity
            parcel["rows"].append((number, line.public_id))

        shipments: dict[int, Shipment] = {}
        skipped: set[int] = set()
        for (_, carrier, tracking), parcel in parcels.items():
            if any(n in errors for n, _ in parcel["rows"]):
                continue
            if Shipment.objects.filter(order=parcel["order"], carrier=carrier,
                                       tracking_number=tracking).exists():
                # This parcel was imported before: the same file twice ships nothing twice.
                skipped.update(n for n, _ in parcel["rows"])
                continue
            try:
                with transaction.atomic():
                    shipment = services.shipment_create(
                        order=parcel["order"], lines=parcel["lines"], actor=actor,
                        carrier=carrier, tracking_number=tracking)
                    services.shipment_ship(shipment=shipment, actor=actor)
            except DomainError as exc:
                line_id = exc.extra.get("line_id")
                number = next((n for n, lid in parcel["rows"] if lid == line_id),
                              parcel["rows"][0][0])
                column = "quantity" if line_id else NON_FIELD_ERRORS
                messages = [exc.detail] + [m for ms in (exc.errors or {}).values() for m in ms]
                errors.setdefault(number, {}).setdefault(column, []).extend(messages)
                continue
            for number, _ in parcel["rows"]:
                shipments[number] = shipment

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
                row_result.diff = [_text(row.get(c)) for c in COLUMNS]
                row_result.add_instance_info(shipments.get(number))
                row_result.instance = shipments.get(number)
            result.increment_row_result_total(row_result)
            result.append_row_result(row_result)
        return result
