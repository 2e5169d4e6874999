"""Base for every django-import-export resource.

Per chunk (one ``import_data`` call), a resource reads what it needs in a few queries instead
of a few per row: the rows' existing instances by natural key (``ChunkInstanceLoader``), the
referenced rows of every foreign-key column (``CachedForeignKeyWidget``), and model
validation checks the natural key's uniqueness against that chunk instead of the database
(``BaseResource.validate_instance``).
"""

import functools
import operator
from decimal import InvalidOperation

from django.core.exceptions import (
    FieldDoesNotExist,
    MultipleObjectsReturned,
    ObjectDoesNotExist,
    ValidationError,
)
from django.db import models
from django.db.models import F, Q
from import_export import instance_loaders, resources, widgets

from orderflow.carddata import looks_like_card_number

# Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value):
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class CachedForeignKeyWidget(widgets.ForeignKeyWidget):
    """A ``ForeignKeyWidget`` that looks a chunk's references up in one query: the resource
    primes it with the column's values before the rows are read (``prime``); a value it was
    not primed with (changed by ``before_import_row``, say) is looked up alone, as before.
    Errors are the same as the plain widget's (``DoesNotExist``, ``MultipleObjectsReturned``).
    """

    def __init__(self, model, field="pk", **kwargs):
        super().__init__(model, field=field, **kwargs)
        self._found: dict[str, list] = {}

    def _cacheable(self) -> bool:
        return not (self.use_natural_foreign_keys or self.key_is_id or "__" in self.field)

    def prime(self, values) -> None:
        """Load the rows referenced by ``values`` (one query); remembered until the widget
        (the resource instance, one per chunk) goes away."""
        if not self._cacheable():
            return
        wanted = {str(v) for v in values if v is not None and str(v) != ""}
        wanted -= self._found.keys()
        if not wanted:
            return
        for key in wanted:
            self._found[key] = []
        for obj in self.model.objects.filter(**{f"{self.field}__in": wanted}):
            self._found.setdefault(str(getattr(obj, self.field)), []).append(obj)

    def get_instance_by_lookup_fields(self, value, row, **kwargs):
        key = str(value)
        if not self._cacheable() or key not in self._found:
            return super().get_instance_by_lookup_fields(value, row, **kwargs)
        found = self._found[key]
        if not found:
            raise self.model.DoesNotExist(f"{self.model.__name__} matching query does not exist.")
        if len(found) > 1:
            raise self.model.MultipleObjectsReturned(f"more than one {self.model.__name__}")
        return found[0]


class ChunkInstanceLoader(instance_loaders.ModelInstanceLoader):
    """django-import-export's ``CachedInstanceLoader`` for any natural key (one field or
    several, foreign keys included): one query loads the chunk's existing instances. A row
    whose key it did not see when it was built (``before_import_row`` normalised it) is
    looked up alone."""

    def __init__(self, resource, dataset=None):
        super().__init__(resource, dataset)
        self.key_fields = [resource.fields[name] for name in resource.get_import_id_fields()]
        self.model = resource._meta.model
        self.seen: set[tuple] = set()
        self.instances: dict[tuple, object] = {}
        columns = [f.column_name for f in self.key_fields]
        if not self.key_fields or dataset is None or not dataset.headers or \
                any(c not in dataset.headers for c in columns) or \
                not all(self._is_model_field(f) for f in self.key_fields):
            return  # nothing cached: every row is looked up alone
        values: list[set] = [set() for _ in self.key_fields]
        for row in dataset.dict:
            try:
                key = self._row_key(row)
            except Exception:  # noqa: BLE001 - a bad key cell is the row's error, later
                continue
            self.seen.add(key)
            for i, part in enumerate(key):
                values[i].add(part)
        if not self.seen:
            return
        query = Q()
        for field, parts in zip(self.key_fields, values, strict=True):
            attname = self._attname(field)
            known = {p for p in parts if p is not None}
            q = Q(**{f"{attname}__in": known}) if known else Q(pk__in=[])
            if None in parts:
                q |= Q(**{f"{attname}__isnull": True})
            query &= q
        # The rows' foreign keys come along: comparing a row with its instance (skip_unchanged)
        # reads them.
        related = [f.name for f in self.model._meta.concrete_fields if f.many_to_one
                   and f.name in {g.attribute for g in resource.get_import_fields()}]
        for obj in self.get_queryset().filter(query).select_related(*related):
            self.instances[tuple(getattr(obj, self._attname(f)) for f in self.key_fields)] = obj

    def _is_model_field(self, field) -> bool:
        try:
            self.model._meta.get_field(field.attribute or "")
        except FieldDoesNotExist:
            return False
        return True

    def _attname(self, field) -> str:
        model_field = self.model._meta.get_field(field.attribute)
        return model_field.attname

    def _row_key(self, row) -> tuple:
        key = []
        for field in self.key_fields:
            value = field.clean(row)
            key.append(value.pk if isinstance(value, models.Model) else value)
        return tuple(key)

    def get_instance(self, row):
        key = self._row_key(row)
        if key in self.instances:
            return self.instances[key]
        if key in self.seen:
            return None
        return super().get_instance(row)


# Lookups a check constraint's condition is evaluated with in Python (anything else goes to
# the database, as Django does).
LOOKUPS = {"exact": operator.eq, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt,
           "lte": operator.le}


class _NotInPython(Exception):
    pass


def _q_holds(q: Q, instance) -> bool:
    """A check constraint's condition on an unsaved instance, in Python: comparisons of a
    field with a constant or another field (``F``). A comparison with NULL holds, as in SQL's
    CHECK. Raises ``_NotInPython`` for anything else."""
    results = []
    for child in q.children:
        if isinstance(child, Q):
            results.append(_q_holds(child, instance))
            continue
        path, value = child
        name, _, lookup = path.partition("__")
        if lookup not in LOOKUPS or "__" in lookup:
            raise _NotInPython
        left = getattr(instance, instance._meta.get_field(name).attname)
        if isinstance(value, F):
            if "__" in value.name:
                raise _NotInPython
            value = getattr(instance, instance._meta.get_field(value.name).attname)
        elif hasattr(value, "resolve_expression"):
            raise _NotInPython
        results.append(True if left is None or value is None else
                       LOOKUPS[lookup](left, value))
    holds = all(results) if q.connector == Q.AND else any(results)
    return not holds if q.negated else holds


@functools.cache
def _constraints(model) -> tuple[tuple[models.BaseConstraint, frozenset[str]], ...]:
    """A model's constraints, each with the fields a check constraint reads."""
    return tuple((c, frozenset(Q(c.condition).referenced_base_fields)
                  if isinstance(c, models.CheckConstraint) else frozenset())
                 for c in model._meta.constraints)


class BaseResource(resources.ModelResource):
    """Natural keys, model validation, all-or-nothing imports, formula-safe exports."""

    def get_import_fields(self):
        """Computed once per resource instance (one chunk) instead of once per row: the
        fields do not change after ``__init__``."""
        if "_import_fields" not in self.__dict__:
            self._import_fields = super().get_import_fields()
        return self._import_fields

    def get_or_init_instance(self, instance_loader, row):
        """A key that an earlier row of the chunk created is that row's instance again (the
        later row updates it, as it would once the first was saved), also when the first is
        still waiting for its bulk insert."""
        self._row_key = None
        instance = None
        if isinstance(instance_loader, ChunkInstanceLoader):
            try:
                self._row_key = instance_loader._row_key(row)
            except Exception:  # noqa: BLE001 - the key cell's error is reported later
                self._row_key = None
            instance = getattr(self, "_created_in_chunk", {}).get(self._row_key)
        if instance is not None:
            new = False
        else:
            instance, new = super().get_or_init_instance(instance_loader, row)
        # Without a diff (skip_diff) the values as read stand in for django-import-export's
        # deep copy, so skip_unchanged still works.
        self._read_values = None if new else [f.get_value(instance)
                                              for f in self.get_import_fields()]
        return instance, new

    def skip_row(self, instance, original, row, import_validation_errors=None):
        """django-import-export's skip_unchanged, also with ``skip_diff`` (the import job's
        resources keep no diff): a row whose every imported field reads as it did is
        skipped."""
        if not self._meta.skip_diff:
            return super().skip_row(instance, original, row, import_validation_errors)
        if not self._meta.skip_unchanged or import_validation_errors or \
                getattr(self, "_read_values", None) is None:
            return False
        fields = self.get_import_fields()
        if any(isinstance(f.widget, widgets.ManyToManyWidget) for f in fields):
            return False
        return all(f.get_value(instance) == before
                   for f, before in zip(fields, self._read_values, strict=True))

    def save_instance(self, instance, is_create, row, **kwargs):
        if self._meta.use_bulk and not is_create:
            if instance.pk is None:
                # Created by an earlier row of this batch: its bulk insert takes these values.
                self.before_save_instance(instance, row, **kwargs)
                self.after_save_instance(instance, row, **kwargs)
                return
            for f in self._auto_now_fields():
                f.pre_save(instance, add=False)  # bulk_update does not call pre_save
        super().save_instance(instance, is_create, row, **kwargs)
        if is_create and getattr(self, "_row_key", None) is not None:
            self.__dict__.setdefault("_created_in_chunk", {})[self._row_key] = instance

    def _auto_now_fields(self):
        return [f for f in self._meta.model._meta.concrete_fields if getattr(f, "auto_now", False)]

    def get_bulk_update_fields(self):
        """The model fields the file's columns write (not the resource's field names: a
        column may be named apart from its attribute), and ``auto_now`` timestamps."""
        keys = set(self.get_import_id_fields())
        names = {self.fields[name].attribute for name in self.fields
                 if name not in keys and self.fields[name].attribute
                 and "__" not in self.fields[name].attribute}
        return sorted(names | {f.name for f in self._auto_now_fields()})

    def before_import(self, dataset, **kwargs):
        """Prime every cached foreign-key column with the chunk's values (one query each)."""
        super().before_import(dataset, **kwargs)
        self._created_in_chunk: dict[tuple, object] = {}
        headers = dataset.headers or []
        for field in self.get_import_fields():
            if isinstance(field.widget, CachedForeignKeyWidget) and field.column_name in headers:
                field.widget.prime(dataset[field.column_name])

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """``full_clean`` without the queries a chunk makes redundant: the natural key's
        uniqueness is what the instance loader matched (a key twice in the chunk is one
        instance: ``get_or_init_instance``), a foreign key the chunk read is not looked up
        again, fields the file cannot set are left to the model, and check constraints are
        evaluated in Python where they are plain comparisons."""
        errors = dict(import_validation_errors or {})
        if self._meta.clean_model_instances:
            try:
                instance.full_clean(exclude=set(errors) | self._loaded_references(instance),
                                    validate_unique=False, validate_constraints=False)
            except ValidationError as e:
                errors = e.update_error_dict(errors)
            try:
                if validate_unique:
                    instance.validate_unique(exclude=set(errors) | self._unique_exempt_fields)
                self._validate_constraints(instance, set(errors))
            except ValidationError as e:
                errors = e.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def _loaded_references(instance) -> set[str]:
        """Foreign keys set to a row read from the database (by a cached widget or with the
        instance): ``full_clean`` would only query again that it exists."""
        return {f.name for f in instance._meta.concrete_fields
                if f.many_to_one and f.is_cached(instance)
                and getattr(instance, f.name) is not None
                and getattr(instance, f.name).pk == getattr(instance, f.attname)}

    @functools.cached_property
    def _unique_exempt_fields(self) -> frozenset[str]:
        return frozenset(self._unique_exempt())

    def _unique_exempt(self) -> set[str]:
        """Fields whose uniqueness is not checked per row: the natural key (matched by the
        instance loader) and the model fields this resource never writes (generated ids)."""
        attributes = {f.attribute for f in self.get_import_fields() if f.attribute}
        keys = {self.fields[name].attribute for name in self.get_import_id_fields()}
        return keys | {f.name for f in self._meta.model._meta.concrete_fields
                       if f.name not in attributes}

    def _validate_constraints(self, instance, exclude: set[str]) -> None:
        """``Model.validate_constraints``, a plain check constraint in Python (no query); a
        constraint on a field that already has an error is skipped, as Django skips it."""
        errors = {}
        for constraint, reads in _constraints(type(instance)):
            if isinstance(constraint, models.CheckConstraint):
                if reads & exclude:
                    continue
                try:
                    holds = _q_holds(Q(constraint.condition), instance)
                except (_NotInPython, TypeError, AttributeError):
                    holds = None
                if holds is True:
                    continue
                if holds is False:
                    errors.setdefault(NON_FIELD, []).append(
                        ValidationError(constraint.get_violation_error_message(),
                                        code=constraint.violation_error_code))
                    continue
            skip = exclude | self._unique_exempt_fields \
                if isinstance(constraint, models.UniqueConstraint) else exclude
            try:
                constraint.validate(instance.__class__, instance, exclude=skip)
            except ValidationError as e:
                errors = e.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

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
        instance_loader_class = ChunkInstanceLoader
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        use_transactions = True


NON_FIELD = "__all__"


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
