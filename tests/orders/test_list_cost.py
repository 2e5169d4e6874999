"""What one page of the staff order list costs: the permission check does not build the list
a second time, a page is a fixed number of queries whatever its size, and the page shows each
order exactly as the order detail's shape (``OrderSerializer``) does."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.generics import GenericAPIView
from rest_framework.test import APIRequestFactory, force_authenticate

from orderflow.principals import Principal
from orders.api.serializers import OrderListSerializer
from orders.api.views import OrderListApi
from orders.models import Order
from orders.presenters import OrderSerializer
from orders.selectors import order_list, order_queryset
from tests import factories
from tests.orders.conftest import make_order, user_client

pytestmark = pytest.mark.django_db

STAFF_LIST = "/api/v1/orders?status=confirmed&channel=B2B_PORTAL&limit=50"


def staff_session(user) -> Client:
    """A staff user signed in by session, as in the back office (session and user queries
    included in the count)."""
    client = Client()
    client.force_login(user)
    return client


def page(client, path=STAFF_LIST):
    response = client.get(path)
    assert response.status_code == 200, response.content[:300]
    return response.json()["results"]


def queries_of(client, path=STAFF_LIST):
    with CaptureQueriesContext(connection) as captured:
        results = page(client, path)
    return results, [q["sql"] for q in captured.captured_queries]


def touching(queries, table):
    return [sql for sql in queries if f'"{table}"' in sql]


@pytest.fixture
def b2b():
    return factories.ChannelFactory(code="B2B_PORTAL")


def orders_in(channel, count, *, company=None, customer=None):
    product = factories.ProductFactory(stock_on_hand=10_000)
    return [make_order(channel=channel, lines=[(product, 1), (product, 2)], company=company,
                       customer=customer) for _ in range(count)]


def test_the_permission_check_does_not_build_the_list_again(b2b, monkeypatch):
    orders_in(b2b, 2)
    built = []
    original = OrderListApi.get_queryset
    monkeypatch.setattr(OrderListApi, "get_queryset",
                        lambda self: built.append(1) or original(self))
    client = staff_session(factories.StaffUserFactory())
    page(client)  # the user's permission cache and the session warm up
    built.clear()
    results, queries = queries_of(client)
    assert len(results) == 2
    assert built == [1]
    # The principal's memberships (is this staff login also a supplier?) are looked up once.
    assert len(touching(queries, "catalog_supplieruser")) == 1


def test_model_permissions_still_decide_the_staff_list(b2b):
    orders_in(b2b, 1)
    no_view = factories.StaffUserFactory()
    no_view.user_permissions.remove(Permission.objects.get(codename="view_order"))
    response = staff_session(no_view).get(STAFF_LIST)
    assert response.status_code == 403

    only_view = factories.UserFactory(is_staff=True)
    only_view.user_permissions.add(Permission.objects.get(codename="view_order"))
    assert len(page(staff_session(only_view))) == 1
    # Staff who are also a supplier's login are that supplier here, not staff: no orders.
    supplier_staff = factories.StaffUserFactory()
    factories.SupplierUserFactory(user=supplier_staff)
    assert page(staff_session(supplier_staff)) == []


def test_a_page_of_50_costs_the_queries_of_a_page_of_5(b2b):
    company = factories.CompanyFactory()
    customer = factories.CustomerFactory(company=company)
    orders_in(b2b, 5, company=company, customer=customer)
    client = staff_session(factories.StaffUserFactory())
    page(client)  # warm the user's permission cache
    small, small_queries = queries_of(client)
    assert len(small) == 5
    orders_in(b2b, 45)
    large, large_queries = queries_of(client)
    assert len(large) == 50
    assert len(large_queries) == len(small_queries)
    # session, user, the user's and their groups' permissions (Django's per-request cache),
    # the supplier login lookup, the page (customer and company joined), its channels, its
    # lines, its payments: nothing per order.
    assert len(large_queries) <= 9, large_queries
    assert len(touching(large_queries, "orderflow_channel")) == 2  # the filter joins it too
    assert len(touching(large_queries, "orders_orderline")) == 1
    assert len(touching(large_queries, "orders_payment")) == 1
    assert all(o["lines"] and o["payments"] for o in large)


def _api_views():
    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "view_class", None)
                if view is not None and issubclass(view, GenericAPIView):
                    yield pattern, view
    return walk(get_resolver().url_patterns)


def test_views_with_a_scoped_get_queryset_name_the_same_model_in_queryset():
    """The staff permission check reads the model from ``queryset`` (not ``get_queryset()``):
    every list view that has both must name the same model in each."""
    user = factories.UserFactory(is_staff=True, is_superuser=True)
    checked = []
    for pattern, view_class in _api_views():
        if "get_queryset" not in {name for klass in view_class.__mro__
                                  if klass is not GenericAPIView
                                  for name in vars(klass)}:
            continue
        assert view_class.queryset is not None, view_class
        if pattern.pattern.converters:
            continue  # needs an object from the path; read below by name
        request = APIRequestFactory().get("/")
        force_authenticate(request, user=user)
        view = view_class()
        view.setup(request)
        view.request = view.initialize_request(request)
        view.format_kwarg = None
        assert view.get_queryset().model is view_class.queryset.model, view_class
        checked.append(view_class.__name__)
    assert "OrderListApi" in checked and len(checked) >= 5, checked


def test_the_staff_list_filters_still_apply(b2b):
    now = timezone.now()
    inside, outside = orders_in(b2b, 2)
    Order.objects.filter(pk=outside.pk).update(placed_at=now - timedelta(days=40))
    # To the minute: with seconds, the 14 digits of a timestamp can pass the Luhn check and
    # be refused as card data (card_data_forbidden).
    after = f"{now - timedelta(days=30):%Y-%m-%dT%H:%MZ}"
    results = page(user_client(factories.StaffUserFactory()),
                   f"{STAFF_LIST}&placed_at_after={after}")
    assert [o["id"] for o in results] == [inside.public_id]


def test_the_list_shows_each_order_exactly_as_the_order_shape(b2b):
    """The list's serializer builds a page by hand; it must give OrderSerializer's JSON, key
    by key and in order, for every kind of value (empty and filled, several currencies)."""
    company = factories.CompanyFactory()
    customer = factories.CustomerFactory(company=company)
    address = {"full_name": "Ann Lee", "line1": "1 Hope Rd", "city": "Kingston",
               "country": "JM", "phone": ""}
    full = make_order(channel=b2b, company=company, customer=customer, approval_levels=(1, 2),
                      shipping_address=address, billing_address={**address, "line2": None},
                      shipping_method_name="Standard", notes="Leave at the gate",
                      external_reference="ERP-7", metadata={"erp": {"id": 7}, "tags": ["a"]},
                      cancel_reason="", decline_reason="too dear",
                      confirmed_at=timezone.now(), exported_at=timezone.now(),
                      lines=[(None, 2), (None, 1)])
    line = full.lines.first()
    line.order_uom, line.order_quantity, line.metadata = "case", 1, {"gift": True}
    line.tax_rate, line.tax_amount = "0.1500", "1.5000"
    line.save()
    payment = full.payments.get()
    payment.reference, payment.amount_captured, payment.refund_owed = "pi_1", "3.3333", "1"
    payment.save()
    factories.PaymentFactory(order=full, kind="terms", amount="0")
    usd = make_order(channel=factories.ChannelFactory(currency="USD"), currency="USD",
                     lines=[(None, 3)])
    jpy = make_order(channel=factories.ChannelFactory(currency="JPY"), currency="JPY",
                     lines=[(None, 1)], tax_total="0.4999")
    Order.objects.filter(pk=jpy.pk).update(subtotal="1234.5000")
    bare = factories.OrderFactory(channel=b2b, shipping_address=None, billing_address=None)

    staff = Principal(user=factories.StaffUserFactory())
    ids = [full.pk, usd.pk, jpy.pk, bare.pk]
    expected = OrderSerializer(order_queryset(principal=staff).filter(pk__in=ids)
                               .order_by("id"), many=True).data
    shown = OrderListSerializer(order_list(principal=staff).filter(pk__in=ids)
                                .order_by("id"), many=True).data
    # Also without the list's prefetched lists (lines.all(), payments.all()).
    unprefetched = OrderListSerializer(order_queryset(principal=staff).filter(pk__in=ids)
                                       .order_by("id"), many=True).data
    assert len(shown) == 4 and unprefetched == shown
    assert shown[2]["subtotal"] == "1235" and shown[0]["lines"][0]["tax_rate"] == "0.1500"
    for want, got in zip(expected, shown, strict=True):
        assert list(got) == list(want)
        for key in want:
            assert got[key] == want[key], key
        assert [list(x) for x in got["lines"]] == [list(x) for x in want["lines"]]
        assert [list(x) for x in got["payments"]] == [list(x) for x in want["payments"]]
    assert set(OrderListSerializer().fields) == set(OrderSerializer().fields)
