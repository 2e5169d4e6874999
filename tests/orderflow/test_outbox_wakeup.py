"""Waking the outbox dispatcher after commit, against the real broker."""

import pytest
import redis
from django.conf import settings
from django.db import transaction

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
    assert json.loads(message)["headers"]["task"] == outbox.DISPATCH_TASK
