"""The one credit check: may a company buy this much more on credit terms?

Used by checkout, order edits, order imports and quote conversion. Credit in use is
``selectors.company_outstanding`` (unpaid invoices, plus open terms orders not invoiced yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from orderflow.errors import Conflict
from orderflow.money import format_amount
from orders.selectors import company_outstanding

ZERO = Decimal("0")


class TermsNotAvailable(Conflict):
    code = "terms_not_available"
    title = "Credit terms not available"


class OverCreditLimit(Conflict):
    code = "over_credit_limit"
    title = "Over the credit limit"


@dataclass(frozen=True)
class CreditPosition:
    credit_limit: Decimal
    outstanding: Decimal  # in use, without the order being decided
    order_total: Decimal
    currency: str

    @property
    def shortfall(self) -> Decimal:
        return max(self.outstanding + self.order_total - self.credit_limit, ZERO)

    def as_problem(self) -> dict:
        """The structured answer a buyer sees (problem+json members), money as strings."""
        money = {name: format_amount(getattr(self, name), self.currency)
                 for name in ("credit_limit", "outstanding", "order_total", "shortfall")}
        return {"code": OverCreditLimit.code, **money, "currency": self.currency}


def credit_position(*, company, order_total: Decimal, replacing: Decimal = ZERO
                    ) -> CreditPosition:
    """Where ``company`` stands with an order of ``order_total`` on terms. ``replacing``: the
    part of the credit in use that this order replaces (an edited order's old total)."""
    return CreditPosition(credit_limit=company.credit_limit,
                          outstanding=company_outstanding(company=company) - replacing,
                          order_total=order_total, currency=company.currency)


def credit_check(*, company, order_total: Decimal, replacing: Decimal = ZERO) -> None:
    """Refuse terms without a company, or an order that would take the company over its
    credit limit (``over_credit_limit`` with the limit, what is in use, the order's total and
    the shortfall)."""
    if company is None:
        raise TermsNotAvailable("Credit terms are only available to company buyers.")
    position = credit_position(company=company, order_total=order_total, replacing=replacing)
    if position.shortfall > ZERO:
        details = position.as_problem()
        del details["code"]
        raise OverCreditLimit("This order would take the company over its credit limit.",
                              **details)
