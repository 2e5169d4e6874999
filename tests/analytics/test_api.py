"""The analytics API: who may read it, the range errors, and the figures it returns."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from analytics.services import rebuild
from tests import factories

DAILY = "/api/v1/analytics/daily"
SUMMARY = "/api/v1/analytics/summary"


@pytest.fixture
def analyst(db, client):
    user = factories.StaffUserFactory()
    user.user_permissions.add(Permission.objects.get(codename="view",
                                                     content_type__app_label="analytics"))
    client.force_login(user)
    return client


def _order(day: date, *, channel, subtotal="100.00", status="confirmed", company=None):
    placed = timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=12))
    return factories.OrderFactory(channel=channel, company=company, status=status,
                                  currency=channel.currency, subtotal=Decimal(subtotal),
                                  tax_total=Decimal("10.00"), shipping_total=Decimal("5.00"),
                                  total=Decimal(subtotal) + Decimal("15.00"), placed_at=placed)


@pytest.mark.django_db
def test_anonymous_and_staff_without_the_permission_are_refused(client):
    response = client.get(DAILY, {"from": "2026-12-01", "to": "2026-12-02"})
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
    client.force_login(factories.StaffUserFactory())  # every app permission but analytics
    response = client.get(SUMMARY)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.django_db
@pytest.mark.parametrize("query, detail", [
    ({"from": "2026-12-05", "to": "2026-12-01"}, "after"),
    ({"from": "2025-01-01", "to": "2026-12-01"}, "at most 366 days"),
])
def test_bad_ranges_are_invalid_range(analyst, query, detail):
    response = analyst.get(DAILY, query)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "invalid_range" and detail in body["detail"]


@pytest.mark.django_db
def test_bad_period_and_bad_date(analyst):
    assert analyst.get(SUMMARY, {"period": "400d"}).json()["code"] == "invalid_range"
    assert analyst.get(SUMMARY, {"period": "week"}).json()["code"] == "invalid_range"
    response = analyst.get(DAILY, {"from": "yesterday", "to": "2026-12-01"})
    assert response.status_code == 400 and response.json()["code"] == "validation_error"


@pytest.mark.django_db
def test_daily_rows_and_filters(analyst):
    web = factories.ChannelFactory(code="ECOMMERCE", currency="JMD")
    b2b = factories.ChannelFactory(code="B2B_PORTAL", currency="USD")
    company = factories.CompanyFactory()
    _order(date(2026, 12, 1), channel=web)
    _order(date(2026, 12, 1), channel=web, status="canceled")
    _order(date(2026, 12, 2), channel=b2b, company=company, subtotal="40.00")
    rebuild(date(2026, 12, 1), date(2026, 12, 2))

    body = analyst.get(DAILY, {"from": "2026-12-01", "to": "2026-12-02"}).json()
    assert body["from"] == "2026-12-01"
    first, second = body["results"]
    assert (first["day"], first["channel"], first["currency"]) == ("2026-12-01", "ECOMMERCE",
                                                                   "JMD")
    assert (first["orders_placed"], first["orders_canceled"], first["orders_counted"]) == (2, 1,
                                                                                           1)
    assert (first["gross_sales"], first["net"], first["average_order_value"]) == (
        "100.00", "115.00", "115.00")
    assert (second["channel"], second["currency"], second["gross_sales"]) == ("B2B_PORTAL",
                                                                              "USD", "40.00")
    only_b2b = analyst.get(DAILY, {"from": "2026-12-01", "to": "2026-12-02",
                                   "channel": "B2B_PORTAL"}).json()["results"]
    assert [r["channel"] for r in only_b2b] == ["B2B_PORTAL"]
    by_company = analyst.get(DAILY, {"from": "2026-12-01", "to": "2026-12-02",
                                     "company": company.public_id}).json()["results"]
    assert [r["gross_sales"] for r in by_company] == ["40.00"]


@pytest.mark.django_db
def test_summary_compares_with_the_previous_period(analyst, django_assert_max_num_queries):
    web = factories.ChannelFactory(code="ECOMMERCE", currency="JMD")
    today = timezone.localdate()
    _order(today, channel=web, subtotal="300.00")
    _order(today - timedelta(days=8), channel=web, subtotal="100.00")  # the week before
    rebuild(today - timedelta(days=14), today)
    with django_assert_max_num_queries(6):
        body = analyst.get(SUMMARY, {"period": "7d"}).json()
    assert (body["period"], body["to"]) == ("7d", today.isoformat())
    [jmd] = body["totals"]
    assert jmd["current"]["gross_sales"] == "300.00"
    assert jmd["previous"]["gross_sales"] == "100.00"
    assert jmd["change_percent"]["gross_sales"] == "200.0"
    assert jmd["change_percent"]["orders_placed"] == "0.0"
