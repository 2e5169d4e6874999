from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from catalog.models import (
    PriceList,
    PriceListEntry,
    Product,
    ProductUnit,
    Supplier,
    TaxClass,
    TaxRate,
)
from customers.models import Address, Company, CompanyApprover, Customer
from orderflow.models import Channel


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class StaffUserFactory(UserFactory):
    """A staff user with every permission of the OrderFlow apps (not a superuser)."""

    is_staff = True

    class Meta:
        skip_postgeneration_save = True

    @factory.post_generation
    def all_app_permissions(self, create, extracted, **kwargs):
        if create and not self.is_superuser:
            self.user_permissions.set(
                Permission.objects.filter(
                    content_type__app_label__in=[
                        "orderflow", "catalog", "customers", "carts", "orders", "quotes",
                        "fulfillment", "bridges", "imports",
                    ]
                )
            )


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ["code"]

    code = "ECOMMERCE"
    name = "Web shop"
    currency = "JMD"


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRate
        django_get_or_create = ["tax_class", "country"]

    country = ""
    name = "GCT 15%"
    rate = Decimal("0.1500")


class TaxClassFactory(factory.django.DjangoModelFactory):
    """A tax class with one any-country rate (15 % unless ``rate__rate`` says otherwise)."""

    class Meta:
        model = TaxClass
        django_get_or_create = ["code"]
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"tax{n}")
    name = factory.LazyAttribute(lambda t: t.code.title())
    rate = factory.RelatedFactory(TaxRateFactory, factory_related_name="tax_class")


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"supplier{n}")
    name = factory.LazyAttribute(lambda s: f"Supplier {s.code}")
    is_external = True


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.LazyAttribute(lambda p: f"Product {p.sku}")
    base_uom = "EA"
    tax_class = factory.SubFactory(TaxClassFactory, code="standard")
    supplier = factory.SubFactory(SupplierFactory)
    list_price = Decimal("100.00")
    currency = "JMD"
    stock_on_hand = 100


class ProductUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductUnit

    product = factory.SubFactory(ProductFactory)
    uom = "CS12"
    name = "Case of 12"
    factor = 12


class PriceListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceList
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"contract-{n}")
    name = factory.LazyAttribute(lambda p: f"Contract {p.code}")
    currency = "JMD"


class PriceListEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceListEntry

    price_list = factory.SubFactory(PriceListFactory)
    product = factory.SubFactory(ProductFactory)
    min_quantity = 1
    unit_price = Decimal("90.00")


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"company-{n}")
    name = factory.LazyAttribute(lambda c: f"Company {c.code}")
    credit_limit = Decimal("100000.00")
    payment_terms = "NET30"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = "Casey"
    last_name = factory.Sequence(lambda n: f"Customer{n}")


class CompanyApproverFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CompanyApprover

    company = factory.SubFactory(CompanyFactory)
    customer = factory.SubFactory(CustomerFactory, company=factory.SelfAttribute("..company"))
    level = 1


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    customer = factory.SubFactory(CustomerFactory)
    full_name = "Casey Customer"
    line1 = "1 Harbour Street"
    city = "Kingston"
    country = "JM"


# --- orders ----------------------------------------------------------------------------------

class OrderFactory(factory.django.DjangoModelFactory):
    """An order row as checkout leaves it (use ``tests.orders.conftest.make_order`` for one
    with lines, reserved stock and a payment)."""

    class Meta:
        model = "orders.Order"

    channel = factory.SubFactory(ChannelFactory)
    email = factory.Sequence(lambda n: f"buyer{n}@example.com")
    status = "confirmed"
    currency = "JMD"
    total = Decimal("0")
    placed_at = factory.LazyFunction(timezone.now)
    number = factory.Sequence(lambda n: f"OF-9{n:05d}")


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.OrderLine"

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    sku = factory.LazyAttribute(lambda line: line.product.sku)
    name = factory.LazyAttribute(lambda line: line.product.name)
    quantity = 1
    unit_price = factory.LazyAttribute(lambda line: line.product.list_price)
    line_subtotal = factory.LazyAttribute(lambda line: line.unit_price * line.quantity)
    tax_rate = Decimal("0")
    tax_amount = Decimal("0")
    line_total = factory.LazyAttribute(lambda line: line.line_subtotal)


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.Payment"

    order = factory.SubFactory(OrderFactory)
    kind = "cod"
    amount = factory.LazyAttribute(lambda p: p.order.total)
    currency = "JMD"


class OrderApprovalRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.OrderApprovalRule"

    company = factory.SubFactory(CompanyFactory)
    threshold = Decimal("5000.00")
    level = 1


class SupplierUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "catalog.SupplierUser"

    supplier = factory.SubFactory(SupplierFactory)
    user = factory.SubFactory(UserFactory)
