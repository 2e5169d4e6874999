"""Base for every django-import-export resource."""

from decimal import InvalidOperation

from django.core.exceptions import MultipleObjectsReturned, ObjectDoesNotExist, ValidationError
from import_export import resources, widgets

from orderflow.carddata import looks_like_card_number

# Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value):
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class BaseResource(resources.ModelResource):
    """Natural keys, model validation, all-or-nothing imports, formula-safe exports."""

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        # Only text that came from a text attribute: a negative number stays a number.
        raw = field.get_value(instance) if field.attribute else value
        if isinstance(raw, str):
            return neutralise_formula(value)
        return value

    def before_import_row(self, row, **kwargs):
        """No card number is stored by any path: a row holding one is refused before it is
        read into a model (the API's input gate leaves uploaded files to this check)."""
        errors = card_data_errors(row)
        if errors:
            raise ValidationError(errors)
        super().before_import_row(row, **kwargs)

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        """A cell that cannot be read is explained in words a person can act on, naming the
        row and the column (``row 2, column list_price: 'abc' is not a number``), instead of
        Python's ``[<class 'decimal.ConversionSyntax'>]``."""
        try:
            return super().import_field(field, instance, row, is_m2m=is_m2m, **kwargs)
        except (ValueError, InvalidOperation, ObjectDoesNotExist,
                MultipleObjectsReturned) as exc:
            raise ValueError(cell_error(field, row, exc, kwargs.get("row_number"))) from None

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None,
                    collect_failed_rows=False, rollback_on_validation_errors=True, **kwargs):
        # A file with any bad row imports nothing: validation errors roll back too.
        return super().import_data(
            dataset, dry_run=dry_run, raise_errors=raise_errors,
            use_transactions=use_transactions, collect_failed_rows=collect_failed_rows,
            rollback_on_validation_errors=True, **kwargs,
        )

    class Meta:
        abstract = True
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        use_transactions = True


def card_data_errors(row: dict) -> dict[str, list[str]]:
    """The cells of an imported row that look like a card number, by column. Every resource
    refuses such a row, including those that replace the per-row import (orders, tracking)."""
    return {str(column): ["looks like a card number; card data is never stored, remove it "
                          "from the file"]
            for column, value in row.items()
            if value is not None and looks_like_card_number(str(value))}


def cell_error(field, row, exc, row_number=None) -> str:
    value = row.get(field.column_name)
    widget = field.widget
    where = f"column {field.column_name}"
    if row_number is not None:
        where = f"row {row_number}, {where}"
    if isinstance(widget, widgets.ForeignKeyWidget):
        what = widget.model._meta.verbose_name
        if isinstance(exc, MultipleObjectsReturned):
            return f"{where}: more than one {what} with {widget.field} '{value}'"
        return f"{where}: no {what} with {widget.field} '{value}'"
    if isinstance(widget, widgets.DecimalWidget) or isinstance(exc, InvalidOperation):
        return f"{where}: '{value}' is not a number"
    if isinstance(widget, widgets.IntegerWidget):
        return f"{where}: '{value}' is not a whole number"
    if isinstance(widget, widgets.BooleanWidget):
        return f"{where}: '{value}' is not yes/no (use 1/0, true/false)"
    if isinstance(widget, widgets.DateWidget | widgets.DateTimeWidget):
        return f"{where}: '{value}' is not a date"
    return f"{where}: {exc}"
