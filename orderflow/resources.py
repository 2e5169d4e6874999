"""Base for every django-import-export resource."""

from import_export import resources

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
