"""The transaction log keeps the indexes a query uses, and its references to the connection
and the API key carry no database constraint (see the model).

On PostgreSQL the indexes that stay (correlation id, problem code) are the ones that exist,
renamed, and the rest are dropped: no index is built again, so a large log is not locked for a
rebuild. Elsewhere (SQLite) Django's own operations run. The state is Django's either way.
"""

import django.db.models.deletion
from django.db import migrations, models


GENERIC = [
    migrations.AlterField(
        model_name='transactionlog',
        name='api_key',
        field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='log_entries', to='bridges.apikey'),
    ),
    migrations.AlterField(
        model_name='transactionlog',
        name='client',
        field=models.CharField(blank=True, help_text='client_id, key prefix or user as presented', max_length=120),
    ),
    migrations.AlterField(
        model_name='transactionlog',
        name='code',
        field=models.CharField(blank=True, max_length=64),
    ),
    migrations.AlterField(
        model_name='transactionlog',
        name='connection',
        field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='log_entries', to='bridges.inboundconnection'),
    ),
    migrations.AlterField(
        model_name='transactionlog',
        name='correlation_id',
        field=models.CharField(max_length=64),
    ),
    migrations.AlterField(
        model_name='transactionlog',
        name='kind',
        field=models.CharField(choices=[('bridge', 'Bridge'), ('api', 'REST API'), ('webhook', 'Webhook'), ('export', 'Export')], max_length=8),
    ),
    migrations.AlterField(
        model_name='transactionlog',
        name='object_ids',
        field=models.CharField(blank=True, help_text='Cart/order ids the call touched, space-separated.', max_length=300),
    ),
    migrations.AlterField(
        model_name='transactionlog',
        name='status_code',
        field=models.PositiveSmallIntegerField(),
    ),
    migrations.AddIndex(
        model_name='transactionlog',
        index=models.Index(fields=['correlation_id'], name='txlog_correlation_idx'),
    ),
    migrations.AddIndex(
        model_name='transactionlog',
        index=models.Index(fields=['code'], name='txlog_code_idx'),
    ),
]


def _fast_forwards(apps, schema_editor):
    """PostgreSQL: drop what goes, rename what stays (no rebuild)."""
    model = apps.get_model("bridges", "TransactionLog")
    table = model._meta.db_table
    names = schema_editor._constraint_names
    quote = schema_editor.quote_name
    for column, keep in (("correlation_id", "txlog_correlation_idx"),
                         ("code", "txlog_code_idx"),
                         ("kind", None), ("client", None), ("object_ids", None),
                         ("status_code", None), ("connection_id", None)):
        for name in sorted(names(model, [column], index=True)):
            if keep and not name.endswith("_like"):
                schema_editor.execute(f"ALTER INDEX {quote(name)} RENAME TO {quote(keep)}")
                keep = None
            else:
                schema_editor.execute(f"DROP INDEX IF EXISTS {quote(name)}")
    for column in ("connection_id", "api_key_id"):
        for name in names(model, [column], foreign_key=True):
            schema_editor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")


class PostgresWithoutRebuild(migrations.operations.base.Operation):
    """``GENERIC``'s schema changes: by ``_fast_forwards`` on PostgreSQL, by Django
    elsewhere and when migrating backwards. Changes no state (the migration's
    ``state_operations`` do)."""

    reversible = True
    reduces_to_sql = False

    def state_forwards(self, app_label, state):
        pass

    def _each(self, app_label, from_state, operations):
        state = from_state.clone()
        for operation in operations:
            after = state.clone()
            operation.state_forwards(app_label, after)
            yield operation, state, after
            state = after

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            _fast_forwards(from_state.apps, schema_editor)
            return
        for operation, before, after in self._each(app_label, from_state, GENERIC):
            operation.database_forwards(app_label, schema_editor, before, after)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        steps = list(self._each(app_label, to_state, GENERIC))
        for operation, before, after in reversed(steps):
            operation.database_backwards(app_label, schema_editor, after, before)

    def describe(self):
        return "Transaction log indexes and references (no rebuild on PostgreSQL)"


class Migration(migrations.Migration):

    dependencies = [
        ('bridges', '0006_delivery_indexes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=GENERIC,
            database_operations=[PostgresWithoutRebuild()],
        ),
    ]
