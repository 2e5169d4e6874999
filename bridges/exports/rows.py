"""The row builders of every file export: one home, so a column means the same thing in the
admin's export, the scheduled exports and the streaming API exports.

A ``Table`` is a list of columns, each read with one ``values_list`` path and rendered to text
exactly as the django-import-export resource of its kind renders it (the resource's own
widgets: ``1``/``0`` booleans, empty cells for nulls, money with the currency's minor digits).
The columns of products and customers *are* their resources' export fields, which
are also the columns their imports read, so an exported file imports back unchanged. Orders are
one row per order line, the order's columns repeated (``OrderResource``).

Rows are read with ``QuerySet.values_list(…).iterator(chunk_size=…)`` (a server-side cursor on
PostgreSQL): one query whatever the number of rows, and only one chunk in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db.models import QuerySet
from import_export.widgets import ForeignKeyWidget, Widget

from catalog.resources import ProductResource
from customers.models import Customer
from customers.resources import CustomerResource
from fulfillment.models import Shipment
from orderflow.money import format_amount
from orderflow.resources import BaseResource, neutralise_formula
from orders.models import OrderLine
from orders.resources import OrderResource

CHUNK_ROWS = 2000  # rows fetched per round trip of the cursor
_TEXT = Widget()  # how a resource renders a value without a widget of its own


@dataclass(frozen=True)
class Column:
    name: str
    path: str  # a ``values_list`` path of the table's model
    render: Callable  # (value, all the row's values by path index) -> str
    computed: bool = False  # rendered by the resource's own method: always text


class Table:
    """Columns over a model; ``rows`` yields each row as rendered text cells."""

    def __init__(self, model, columns: list[Column], *, ordering: tuple[str, ...],
                 lead_paths: tuple[str, ...] = ()):
        self.model = model
        self.columns = columns
        self.ordering = ordering
        self.headers = [c.name for c in columns]
        # ``lead_paths`` come first, at fixed indexes a renderer may read (a currency).
        self.paths = list(dict.fromkeys([*lead_paths, *(c.path for c in columns)]))
        self._index = [self.paths.index(c.path) for c in columns]

    def values(self, queryset: QuerySet) -> QuerySet:
        return queryset.order_by(*self.ordering).values_list(*self.paths)

    def rows(self, queryset: QuerySet, *, spreadsheet: bool = False,
             chunk_size: int = CHUNK_ROWS) -> Iterator[list]:
        """Text cells, as the resource renders them. ``spreadsheet``: a text value that a
        spreadsheet program would run as a formula (``=…``, ``+…``, ``-…``, ``@…``) is
        prefixed with ``'``, as in every CSV/XLSX export of OrderFlow (``BaseResource``); a
        number stays a number (``-5`` is not neutralised)."""
        pairs = [(column.render, index, column.computed)
                 for column, index in zip(self.columns, self._index, strict=True)]
        for values in self.values(queryset).iterator(chunk_size=chunk_size):
            if not spreadsheet:
                yield [render(values[index], values) for render, index, _ in pairs]
                continue
            row = []
            for render, index, computed in pairs:
                raw = values[index]
                cell = render(raw, values)
                row.append(neutralise_formula(cell) if computed or isinstance(raw, str)
                           else cell)
            yield row


def _render(widget) -> Callable:
    def render(value, values):
        return widget.render(value)
    return render


def resource_columns(resource: BaseResource, *, computed: dict[str, Column] | None = None
                     ) -> list[Column]:
    """The resource's export fields as columns: a foreign key by its natural key (the
    widget's ``field``), any other field through its own widget; ``computed`` gives the
    columns the resource computes (its ``dehydrate_…`` methods)."""
    computed = computed or {}
    columns = []
    for field in resource.get_export_fields():
        name = field.column_name
        if name in computed:
            columns.append(computed[name])
        elif isinstance(field.widget, ForeignKeyWidget):
            columns.append(Column(name, f"{field.attribute}__{field.widget.field}",
                                  _render(_TEXT)))
        else:
            columns.append(Column(name, field.attribute, _render(field.widget)))
    return columns


# --- orders: one row per order line ------------------------------------------------------------

def _money(currency_path_index: int) -> Callable:
    def render(value, values):
        return format_amount(value, values[currency_path_index])
    return render


def _order_table() -> Table:
    # The currency is the first path, so the money columns read it at index 0.
    computed = {
        name: Column(name, path, _money(0), computed=True)
        for name, path in (("order_total", "order__total"), ("unit_price", "unit_price"),
                           ("line_total", "line_total"))
    }
    columns = resource_columns(OrderResource(), computed=computed)
    return Table(OrderLine, columns, ordering=("order__placed_at", "order_id", "id"),
                 lead_paths=("order__currency",))


ORDERS = _order_table()


def order_line_rows(orders: QuerySet) -> QuerySet:
    """The lines of these orders (any filtered ``Order`` queryset), oldest order first."""
    return OrderLine.objects.filter(order__in=orders.values("pk"))


# --- products and customers: the columns their imports read --------------------------

PRODUCTS = Table(ProductResource.Meta.model, resource_columns(ProductResource()),
                 ordering=("sku",))
CUSTOMERS = Table(Customer, resource_columns(CustomerResource()), ordering=("email", "id"))


# --- shipments ---------------------------------------------------------------------------------

SHIPMENTS = Table(Shipment, [
    Column(name, path, _render(_TEXT)) for name, path in (
        ("shipment_number", "number"), ("shipment_id", "public_id"),
        ("order_number", "order__number"), ("order_id", "order__public_id"),
        ("status", "status"), ("carrier", "carrier"), ("service", "service"),
        ("tracking_number", "tracking_number"), ("tracking_url", "tracking_url"),
        ("weight_grams", "weight_grams"), ("created_at", "created_at"),
        ("shipped_at", "shipped_at"), ("delivered_at", "delivered_at"),
        ("canceled_at", "canceled_at"),
    )
], ordering=("created_at", "id"))
