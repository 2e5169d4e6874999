"""Integration buttons in a real browser: reveal a connection's secret (with the permission and
not without), send a webhook test event and see the delivery, run an export now and see the
run. These buttons once did nothing: their forms were nested in the change form."""

import pytest
from django.contrib.auth.models import Permission

from bridges.access.services import connection_create
from bridges.exports import services as exports
from bridges.models import BridgeScope, WebhookDelivery
from bridges.webhooks import services as webhooks
from tests import factories
from tests.browser.conftest import PASSWORD
from tests.orders.conftest import make_order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connection(transactional_db):
    return connection_create(name="POS bridge", channel=factories.ChannelFactory(),
                             scopes=[BridgeScope.CARTS_CREATE])


def test_reveal_a_connection_secret_with_the_permission(visit, staff, connection):
    visit.login("ops")
    page = visit.goto(f"/admin/bridges/inboundconnection/{connection.pk}/change/", "connection")
    assert connection.secret not in page.content()
    page = visit.click("#reveal", "reveal confirmation")
    assert connection.secret not in page.content()  # a link shows, only the POST reveals
    visit.click("#confirm", "secret revealed")
    assert visit.text("#secret") == connection.secret


def test_no_reveal_without_the_permission(visit, connection):
    user = factories.StaffUserFactory(username="clerk")
    user.set_password(PASSWORD)
    user.save()
    user.user_permissions.remove(Permission.objects.get(codename="settings_manage"))
    visit.login("clerk")
    page = visit.goto(f"/admin/bridges/inboundconnection/{connection.pk}/change/",
                      "connection without settings.manage")
    assert connection.secret not in page.content() and not page.is_visible("#reveal")
    response = page.goto(visit.base_url +
                         f"/admin/bridges/inboundconnection/{connection.pk}/reveal-secret/")
    visit.shot("reveal url without permission")
    assert response.status == 403 and connection.secret not in page.content()


def test_send_a_webhook_test_event_and_see_the_delivery(visit, staff):
    endpoint = webhooks.webhook_endpoint_create(url="https://erp.example.com/hooks",
                                                event_types=["order.*"], description="ERP")
    visit.login("ops")
    page = visit.goto(f"/admin/bridges/webhookendpoint/{endpoint.pk}/change/", "endpoint")
    assert "No deliveries yet" in visit.text("#recent-deliveries")
    visit.click("#send-test", "send test confirmation")
    page = visit.click("#confirm", "after send test")
    assert "Test event queued" in page.content()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event_type == "webhook.test"
    assert "webhook.test" in visit.text("#recent-deliveries")
    visit.click(f"#recent-deliveries a:text-is('{delivery.sequence}')", "the delivery")
    assert delivery.public_id in visit.page.content()


@pytest.fixture
def eager():
    from orderflow.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


def test_run_an_export_now_and_see_the_run(visit, staff, tmp_path, eager):
    make_order(status="confirmed")
    schedule = exports.export_schedule_create(name="ERP orders", cron="*/15 * * * *",
                                              destination="directory",
                                              directory=str(tmp_path), format="json")
    visit.login("ops")
    visit.goto(f"/admin/bridges/exportschedule/{schedule.pk}/change/", "export schedule")
    assert "No runs yet" in visit.text("#recent-runs")
    visit.click("#run-now", "run now confirmation")
    visit.click("#confirm", "after run now")
    run = schedule.runs.get()
    assert (run.trigger, run.status) == ("manual", "succeeded")
    visit.goto(f"/admin/bridges/exportschedule/{schedule.pk}/change/", "schedule with its run")
    assert "Run now (admin)" in visit.text("#recent-runs")
    assert "Succeeded" in visit.text("#recent-runs")
