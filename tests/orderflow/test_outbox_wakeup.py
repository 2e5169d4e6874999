"""Waking the outbox dispatcher after commit, against the real broker."""

import pytest
import redis
from django.conf import settings
from django.db import transaction

from bridges.tasks import dispatch_outbox_task
from orderflow import outbox

pytestmark = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis"),
    reason="the coalescing flag lives in the Redis broker (CI always runs on it)",
)


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    from orderflow.wakeup import flags_clear_all

    client.delete("celery")
    flags_clear_all(client)
    yield client
    client.delete("celery")
    flags_clear_all(client)


def test_one_wake_up_per_dispatcher_run_however_many_transactions_commit(broker):
    for _ in range(5):
        outbox._dispatch_after_commit()
    assert broker.llen("celery") == 1  # one dispatch task queued for five commits
    assert broker.ttl(outbox.WAKE_FLAG) > 0  # a lost task blocks wake-ups only briefly

    outbox.wake_flag_clear()  # the dispatcher is done: commits from now on wake it again
    outbox._dispatch_after_commit()
    assert broker.llen("celery") == 2


@pytest.mark.django_db(transaction=True)
def test_a_committed_emit_queues_the_dispatch_task(broker):
    import json

    with transaction.atomic():
        outbox.emit("order.created", {"number": "OF-1"})
        outbox.emit("order.confirmed", {"number": "OF-1"})
    (message,) = broker.lrange("celery", 0, -1)
    assert json.loads(message)["headers"]["task"] == settings.ORDERFLOW_OUTBOX_DISPATCH_TASK
    assert settings.ORDERFLOW_OUTBOX_DISPATCH_TASK == dispatch_outbox_task.name  # the real task


def test_a_dispatcher_chain_keeps_the_wake_up_and_a_second_chain_stands_down(broker):
    outbox._dispatch_after_commit()  # a commit wakes the dispatcher: one task
    assert outbox.wake_flag_hold("chain-a")  # its first link takes the flag
    assert broker.get(outbox.WAKE_FLAG) == b"chain-a" and broker.ttl(outbox.WAKE_FLAG) > 0
    outbox._dispatch_after_commit()  # commits while the chain runs send no task
    assert broker.llen("celery") == 1
    assert outbox.wake_flag_hold("chain-a")  # its next link keeps it
    assert not outbox.wake_flag_hold("chain-b")  # a stray second chain ends at once
    outbox.wake_flag_clear()
    outbox._dispatch_after_commit()
    assert broker.llen("celery") == 2
