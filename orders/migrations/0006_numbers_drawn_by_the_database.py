"""Order and invoice numbers become columns the database computes from the row's id (see
``orderflow.models.human_number``) instead of a second UPDATE after the INSERT. Existing rows
keep their numbers: they were always the same function of the id."""

import django.db.models.functions.comparison
import django.db.models.functions.text
from django.db import migrations, models


def human_number(prefix):
    text = django.db.models.functions.comparison.Cast("id", models.CharField(max_length=20))
    return models.GeneratedField(
        db_persist=True,
        expression=django.db.models.functions.text.Concat(
            models.Value(prefix),
            models.Case(
                models.When(
                    id__lt=1000000,
                    then=django.db.models.functions.text.Right(
                        django.db.models.functions.text.Concat(models.Value("000000"), text),
                        6)),
                default=text)),
        output_field=models.CharField(max_length=20),
        unique=True,
    )


class Migration(migrations.Migration):
    dependencies = [("orders", "0005_order_updated_at_idx")]

    operations = [
        migrations.RemoveField(model_name="order", name="number"),
        migrations.AddField(model_name="order", name="number", field=human_number("OF-")),
        migrations.RemoveField(model_name="invoice", name="number"),
        migrations.AddField(model_name="invoice", name="number", field=human_number("INV-")),
    ]
