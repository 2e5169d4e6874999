from decimal import Decimal

import pytest
from django.db import transaction

from orderflow.models import Channel, OutboxEvent
from orderflow.outbox import OutboxOutsideTransaction, emit


@pytest.mark.django_db(transaction=True)
def test_emit_writes_in_the_callers_transaction_and_rolls_back_with_it():
    channel = Channel.objects.create(code="ECOMMERCE", name="Web")
    with transaction.atomic():
        event = emit("order.created", {"total": Decimal("12.50")}, channel=channel,
                     aggregate=channel)
    stored = OutboxEvent.objects.get(pk=event.pk)
    assert stored.public_id.startswith("evt_")
    assert stored.payload == {"total": "12.50"}  # the JSON form receivers will see
    assert stored.aggregate_id == channel.public_id
    assert stored.dispatched_at is None

    with pytest.raises(RuntimeError), transaction.atomic():
        emit("order.canceled", {}, channel=channel)
        raise RuntimeError("the service failed after emitting")
    assert not OutboxEvent.objects.filter(type="order.canceled").exists()


@pytest.mark.django_db(transaction=True)
def test_emit_outside_a_transaction_is_refused():
    with pytest.raises(OutboxOutsideTransaction):
        emit("order.created", {})
    assert OutboxEvent.objects.count() == 0
