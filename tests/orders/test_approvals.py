"""B2B approval rules: matching orders wait for the company's approvers, level by level."""

from decimal import Decimal

import pytest

from catalog.models import Product
from orderflow.models import OutboxEvent
from orders.models import Order, OrderApproval
from tests import factories
from tests.orders.conftest import timeline, user_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(company_with_approvers):
    company, _, _ = company_with_approvers
    factories.OrderApprovalRuleFactory(company=company, threshold=Decimal("5000.00"), level=1)
    factories.OrderApprovalRuleFactory(company=company, threshold=Decimal("20000.00"), level=2)
    return company


def place(shop, buyer, quantity, kind="terms"):
    client = shop.shopper(buyer)
    cart_id = shop.ready_cart(client, [("COF-250", quantity)])
    response = client.post("/api/v1/checkout", {"cart_id": cart_id, "payment": {"kind": kind}},
                           format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_orders_under_every_threshold_confirm_as_before(shop, rules, company_with_approvers):
    _, _, buyer = company_with_approvers
    order = place(shop, buyer, 1)  # 2817.50 + 1200 shipping
    assert order["status"] == "confirmed" and order["approval_levels"] == []


def test_two_levels_approve_in_turn_and_the_last_confirms(shop, rules,
                                                          company_with_approvers):
    _, approvers, buyer = company_with_approvers
    order = place(shop, buyer, 10)  # 28175.00: over both thresholds
    assert order["status"] == "awaiting_approval" and order["approval_levels"] == [1, 2]
    assert order["confirmed_at"] is None
    assert Product.objects.get(sku="COF-250").stock_reserved == 10
    url = f"/api/v1/orders/{order['id']}"

    early = user_client(approvers[2]).post(f"{url}/approve", {}, format="json")
    assert early.status_code == 200  # a level-2 approver may sign off level 1 …
    again = user_client(approvers[2]).post(f"{url}/approve", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_approved_by_you"
    low = user_client(approvers[1]).post(f"{url}/approve", {}, format="json")
    assert low.status_code == 403 and low.json()["code"] == "not_an_approver"
    assert Order.objects.get(public_id=order["id"]).status == "awaiting_approval"


def test_level_one_then_level_two(shop, rules, company_with_approvers):
    _, approvers, buyer = company_with_approvers
    order = place(shop, buyer, 10)
    url = f"/api/v1/orders/{order['id']}"
    first = user_client(approvers[1]).post(f"{url}/approve", {"comment": "Budget ok"},
                                           format="json")
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "awaiting_approval"
    assert first.json()["approvals"][0]["level"] == 1
    second = user_client(approvers[2]).post(f"{url}/approve", {"comment": "Fine"},
                                            format="json")
    body = second.json()
    assert body["status"] == "confirmed" and body["approved_at"] and body["confirmed_at"]
    assert [(a["level"], a["decision"], a["comment"]) for a in body["approvals"]] == [
        (1, "approved", "Budget ok"), (2, "approved", "Fine")]
    db_order = Order.objects.get(public_id=order["id"])
    assert timeline(db_order) == ["order_placed", "order_approval_recorded", "order_approved"]
    types = list(OutboxEvent.objects.filter(aggregate_id=order["id"])
                 .values_list("type", flat=True))
    assert types == ["order.created", "order.approval_requested", "order.approval_recorded",
                     "order.approved", "order.confirmed"]
    assert body["supplier_orders"]  # forwarding happens on confirmation


def test_decline_ends_the_order_with_the_reason_and_gives_the_stock_back(
        shop, rules, company_with_approvers):
    _, approvers, buyer = company_with_approvers
    order = place(shop, buyer, 3)  # 8452.50: level 1 only
    assert order["approval_levels"] == [1]
    url = f"/api/v1/orders/{order['id']}/decline"
    missing = user_client(approvers[1]).post(url, {}, format="json")
    assert missing.status_code == 400
    response = user_client(approvers[1]).post(url, {"reason": "Not in this quarter"},
                                              format="json")
    body = response.json()
    assert body["status"] == "declined" and body["decline_reason"] == "Not in this quarter"
    assert body["declined_at"]
    assert Product.objects.get(sku="COF-250").stock_reserved == 0
    decision = OrderApproval.objects.get(order__public_id=order["id"])
    assert decision.decision == "declined" and decision.comment == "Not in this quarter"
    assert timeline(Order.objects.get(public_id=order["id"]))[-1] == "order_declined"
    again = user_client(approvers[1]).post(f"{url[:-8]}/approve", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_an_approver_of_another_company_gets_404_and_a_plain_member_403(
        shop, rules, company_with_approvers):
    _, _, buyer = company_with_approvers
    order = place(shop, buyer, 3)
    other = factories.CompanyFactory()
    outsider = factories.UserFactory()
    factories.CompanyApproverFactory(
        company=other, level=9,
        customer=factories.CustomerFactory(company=other, user=outsider))
    url = f"/api/v1/orders/{order['id']}"
    assert user_client(outsider).post(f"{url}/approve", {}, format="json").status_code == 404
    assert user_client(outsider).get(url).status_code == 404

    member = factories.UserFactory()
    buyer.user = member
    buyer.save()
    assert user_client(member).get(url).status_code == 200  # their own order
    refused = user_client(member).post(f"{url}/approve", {}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "not_an_approver"
    # A storefront key is never an approver, even the shopper's own.
    assert shop.shopper(buyer).post(f"{url}/approve", {}, format="json").status_code == 403
    assert Order.objects.get(public_id=order["id"]).status == "awaiting_approval"


def test_staff_with_the_permission_approve_and_without_it_cannot(
        shop, rules, company_with_approvers, staff_client):
    _, _, buyer = company_with_approvers
    order = place(shop, buyer, 3)
    url = f"/api/v1/orders/{order['id']}/approve"
    plain_staff = factories.UserFactory(is_staff=True)
    assert user_client(plain_staff).post(url, {}, format="json").status_code in (403, 404)
    response = staff_client.post(url, {"comment": "On behalf of finance"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "confirmed"


def test_rules_changed_after_placing_do_not_move_the_goalposts(shop, rules,
                                                               company_with_approvers):
    company, approvers, buyer = company_with_approvers
    order = place(shop, buyer, 3)
    factories.OrderApprovalRuleFactory(company=company, threshold=Decimal("1.00"), level=3)
    response = user_client(approvers[1]).post(f"/api/v1/orders/{order['id']}/approve", {},
                                              format="json")
    assert response.json()["status"] == "confirmed"
