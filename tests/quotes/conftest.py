"""A B2B storefront with a company buyer, quote approval levels (groups of users) and the
policy of the issue: discount over 10 % or margin under 15 % → level 1 (sales managers);
total over 50,000 or discount over 25 % → level 2 (finance)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from orderflow.timeline import Actor
from quotes import services
from quotes.constants import RuleKind
from quotes.models import QuoteApprovalLevel, QuoteApprovalRule
from tests import factories
from tests.storefront import build_storefront

PASSWORD = "correct-horse-battery"


@dataclass
class QuoteWorld:
    shop: object
    company: object
    buyer: object
    author: object  # staff who writes quotes
    level1: object  # sales manager
    level2: object  # finance
    other_level1: object

    @property
    def actor(self) -> Actor:
        return Actor.staff(self.author)

    def buyer_client(self, customer=None):
        return self.shop.shopper(customer or self.buyer)


def policy_rules() -> None:
    for name, kind, threshold, level in (
            ("Discount over 10 %", RuleKind.LINE_DISCOUNT_OVER, "10", 1),
            ("Margin under 15 %", RuleKind.MARGIN_UNDER, "15", 1),
            ("Total over 50,000", RuleKind.TOTAL_OVER, "50000", 2),
            ("Discount over 25 %", RuleKind.LINE_DISCOUNT_OVER, "25", 2)):
        QuoteApprovalRule.objects.create(name=name, kind=kind, threshold=Decimal(threshold),
                                         level=level)


def approver(username: str, group: Group):
    user = factories.UserFactory(username=username, first_name=username.title())
    user.groups.add(group)
    return user


@pytest.fixture
def world(db) -> QuoteWorld:
    shop = build_storefront("B2B_PORTAL")
    company = factories.CompanyFactory(code="acme", name="Acme Hotels",
                                       credit_limit=Decimal("500000.00"), payment_terms="NET30",
                                       email="buying@acme.example")
    buyer = factories.CustomerFactory(company=company, email="buyer@acme.example")
    factories.AddressFactory(customer=None, company=company, is_default_shipping=True)
    sales = Group.objects.create(name="Sales managers")
    finance = Group.objects.create(name="Finance")
    QuoteApprovalLevel.objects.create(level=1, name="Sales managers", group=sales)
    QuoteApprovalLevel.objects.create(level=2, name="Finance", group=finance)
    policy_rules()
    author = factories.StaffUserFactory(username="sam.sales")
    return QuoteWorld(shop=shop, company=company, buyer=buyer, author=author,
                      level1=approver("manager", sales), level2=approver("finance", finance),
                      other_level1=approver("manager2", sales))


def line(sku="COF-250", quantity=10, **kwargs):
    return services.LineInput(sku=sku, quantity=quantity, **kwargs)


def make_quote(world: QuoteWorld, lines=None, **kwargs):
    return services.quote_create(actor=world.actor, author=world.author, company=world.company,
                                 customer=world.buyer, lines=lines or [line()],
                                 valid_until=kwargs.pop("valid_until", None)
                                 or timezone.localdate() + timedelta(days=14), **kwargs)


def sent_quote(world: QuoteWorld, lines=None, **kwargs):
    """A quote that needed no approval, sent to the buyer."""
    quote = make_quote(world, lines, **kwargs)
    quote = services.quote_submit(quote=quote, actor=world.actor)
    assert quote.status == "approved"
    return services.quote_send(quote=quote, actor=world.actor)
