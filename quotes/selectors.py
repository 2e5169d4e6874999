"""Quote reads, scoped by principal, and who approves what.

Visibility: staff with the view permission see every quote and request; a buyer (secret key
+ shopper token of a company customer) sees their company's requests, and its quotes once
sent; approvers see quotes at their level in the inbox. Anything else is 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from customers.models import CompanyApprover
from orderflow.errors import NotFound
from orders.constants import OrderStatus
from orders.models import Order, OrderApproval
from quotes.models import (
    Quote,
    QuoteApproval,
    QuoteApprovalLevel,
    QuoteApprovalRule,
    QuoteEvent,
    QuoteLine,
    QuoteRequest,
    QuoteRequestLine,
    QuoteVersion,
)
from quotes.policy import PolicyRule


def _is_staff_reader(principal, perm: str) -> bool:
    user = principal.user
    return bool(principal.is_staff and user is not None and user.has_perm(perm))


def _buyer_company_id(principal):
    """The buyer's company: a storefront principal with a shopper token of a company
    customer. None for anyone else."""
    customer = principal.customer
    if principal.api_key is None and principal.connection is None:
        return None
    return customer.company_id if customer is not None else None


# --- quote requests --------------------------------------------------------------------------

def quote_request_queryset(*, principal) -> QuerySet[QuoteRequest]:
    qs = (QuoteRequest.objects.select_related("channel", "company", "customer", "cart")
          .prefetch_related(Prefetch("lines", queryset=QuoteRequestLine.objects.order_by("id"))))
    if _is_staff_reader(principal, "quotes.view_quoterequest"):
        return qs
    company_id = _buyer_company_id(principal)
    if company_id is None:
        return qs.none()
    return qs.filter(company_id=company_id)


def quote_request_get(*, principal, public_id: str) -> QuoteRequest:
    request = quote_request_queryset(principal=principal).filter(public_id=public_id).first()
    if request is None:
        raise NotFound(f"No quote request {public_id}.")
    return request


# --- quotes ------------------------------------------------------------------------------------

def _lines_prefetch(prefix: str = "") -> Prefetch:
    return Prefetch(f"{prefix}lines", queryset=QuoteLine.objects.order_by("id"))


def quote_queryset(*, principal, with_details: bool = False) -> QuerySet[Quote]:
    qs = Quote.objects.select_related("channel", "company", "customer", "request", "current",
                                      "order", "author")
    qs = qs.prefetch_related(_lines_prefetch("current__"))
    if with_details:
        qs = qs.prefetch_related(
            Prefetch("versions", queryset=QuoteVersion.objects.order_by("number")
                     .prefetch_related(_lines_prefetch())),
            Prefetch("approvals", queryset=QuoteApproval.objects.select_related("version")
                     .order_by("created_at", "id")),
        )
    if _is_staff_reader(principal, "quotes.view_quote"):
        return qs
    company_id = _buyer_company_id(principal)
    if company_id is None:
        return qs.none()
    # A buyer sees a quote once it was sent.
    return qs.filter(company_id=company_id, sent_at__isnull=False)


def quote_get(*, principal, public_id: str, with_details: bool = False) -> Quote:
    quote = quote_queryset(principal=principal, with_details=with_details).filter(
        public_id=public_id).first()
    if quote is None:
        raise NotFound(f"No quote {public_id}.")
    return quote


def buyer_version(quote: Quote) -> QuoteVersion | None:
    """The version a buyer sees: the latest one that was sent (staff may be preparing a
    newer one)."""
    if quote.current_id and quote.current.sent_at is not None:
        return quote.current
    return (QuoteVersion.objects.filter(quote=quote, sent_at__isnull=False)
            .prefetch_related(_lines_prefetch()).order_by("-number").first())


def quote_timeline(*, quote: Quote) -> list[QuoteEvent]:
    return list(QuoteEvent.objects.filter(quote=quote).order_by("-created_at", "-id"))


# --- the approval policy and its approvers ---------------------------------------------------

def active_policy_rules() -> list[PolicyRule]:
    return [PolicyRule(name=r.name, kind=r.kind, threshold=r.threshold, level=r.level)
            for r in QuoteApprovalRule.objects.filter(is_active=True).order_by("level", "id")]


def approver_levels(*, user) -> set[int]:
    """The quote approval levels whose group ``user`` belongs to."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    return set(QuoteApprovalLevel.objects.filter(group__user=user)
               .values_list("level", flat=True))


def level_names() -> dict[int, str]:
    return dict(QuoteApprovalLevel.objects.values_list("level", "name"))


def level_approvers(*, level: int) -> QuerySet:
    """The active users who approve at ``level``."""
    return get_user_model().objects.filter(
        is_active=True, groups__quote_approval_levels__level=level).distinct()


def pending_level(*, version: QuoteVersion, approvals: list[QuoteApproval] | None = None
                  ) -> int | None:
    """The first required level of ``version`` without an approval, None when all have one."""
    if approvals is None:
        approvals = list(QuoteApproval.objects.filter(version=version))
    approved = {a.level for a in approvals
                if a.version_id == version.pk and a.decision == "approved"}
    return next((level for level in version.approval_levels if level not in approved), None)



# --- the approvals inbox -------------------------------------------------------------------


@dataclass
class InboxItem:
    """One row of an approver's inbox: a quote at their level or an order of their
    company awaiting approval."""

    kind: str  # "quote" or "order"
    public_id: str
    number: str
    company: str
    company_code: str
    total: Decimal
    currency: str
    since: datetime
    level: int | None
    reason: str
    largest_discount: Decimal | None = None
    status: str = ""
    decision: str = ""  # "decided by me": what I decided
    decided_at: datetime | None = None
    obj: object = field(default=None, repr=False)

    @property
    def status_label(self) -> str:
        return self.status.replace("_", " ")

    @property
    def decision_label(self) -> str:
        return self.decision.replace("_", " ").capitalize()

    @property
    def age_days(self) -> int:
        return max((timezone.now() - self.since).days, 0)


def order_approver_memberships(*, user) -> dict[int, int]:
    """``{company id: level}`` of the companies ``user`` approves orders for (through the
    buyer record their login belongs to)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return {}
    return dict(CompanyApprover.objects.filter(customer__user=user, customer__is_active=True)
                .values_list("company_id", "level"))


def is_approver(*, user) -> bool:
    return bool(approver_levels(user=user) or order_approver_memberships(user=user))


def _largest_discount(version) -> Decimal | None:
    discounts = [line.discount_percent for line in version.lines.all()]
    return max(discounts) if discounts else None


def _quote_item(quote: Quote, reason_level: int | None) -> InboxItem:
    version = quote.current
    reasons = [r["detail"] for r in version.approval_reasons
               if reason_level is None or r["level"] == reason_level]
    return InboxItem(kind="quote", public_id=quote.public_id, number=quote.number,
                     company=quote.company.name, company_code=quote.company.code,
                     total=version.total, currency=version.currency,
                     since=version.submitted_at or quote.updated_at,
                     level=quote.awaiting_level if reason_level is None else reason_level,
                     reason="; ".join(reasons), largest_discount=_largest_discount(version),
                     status=quote.status, obj=quote)


def _inbox_quotes(user) -> QuerySet[Quote]:
    return (Quote.objects.select_related("company", "current")
            .prefetch_related(_lines_prefetch("current__")))


def _order_pending_level(order: Order, decided: set[int]) -> int | None:
    return next((level for level in order.approval_levels if level not in decided), None)


def _order_item(order: Order, level: int | None) -> InboxItem:
    rule = f"total over the company's level {level} threshold" if level else ""
    return InboxItem(kind="order", public_id=order.public_id, number=order.number,
                     company=order.company.name if order.company_id else "",
                     company_code=order.company.code if order.company_id else "",
                     total=order.total, currency=order.currency, since=order.placed_at,
                     level=level, reason=rule, status=order.status, obj=order)


def inbox_items(*, user) -> list[InboxItem]:
    """What waits for ``user``: quotes pending at one of their levels (not their own, not
    decided by them on this version) and orders of their companies awaiting approval at a
    level they may decide."""
    items = []
    levels = approver_levels(user=user)
    if levels:
        mine = QuoteApproval.objects.filter(user=user).values_list("version_id", flat=True)
        quotes = (_inbox_quotes(user)
                  .filter(status="pending_approval", awaiting_level__in=levels)
                  .exclude(author=user).exclude(current_id__in=mine))
        items += [_quote_item(quote, None) for quote in quotes]
    memberships = order_approver_memberships(user=user)
    if memberships:
        orders = (Order.objects.select_related("company")
                  .filter(status=OrderStatus.AWAITING_APPROVAL, company_id__in=memberships)
                  .prefetch_related("approvals"))
        for order in orders:
            approvals = list(order.approvals.all())
            if any(a.user_id == user.pk for a in approvals):
                continue
            level = _order_pending_level(order, {a.level for a in approvals})
            if level is not None and level <= memberships[order.company_id]:
                items.append(_order_item(order, level))
    return items


def decided_items(*, user, limit: int = 100) -> list[InboxItem]:
    """What ``user`` decided, newest first."""
    items = []
    for approval in (QuoteApproval.objects.filter(user=user)
                     .select_related("quote__company", "quote__current", "version")
                     .prefetch_related(_lines_prefetch("version__"))
                     .order_by("-created_at")[:limit]):
        quote, version = approval.quote, approval.version
        reasons = [r["detail"] for r in version.approval_reasons
                   if r["level"] == approval.level]
        items.append(InboxItem(
            kind="quote", public_id=quote.public_id, number=f"{quote.number} v{version.number}",
            company=quote.company.name, company_code=quote.company.code, total=version.total,
            currency=version.currency, since=version.submitted_at or approval.created_at,
            level=approval.level, reason="; ".join(reasons),
            largest_discount=_largest_discount(version), status=quote.status,
            decision=approval.decision, decided_at=approval.created_at, obj=quote))
    for approval in (OrderApproval.objects.filter(user=user).select_related("order__company")
                     .order_by("-created_at")[:limit]):
        item = _order_item(approval.order, approval.level)
        item.decision, item.decided_at = approval.decision, approval.created_at
        items.append(item)
    items.sort(key=lambda item: item.decided_at, reverse=True)
    return items[:limit]


def inbox_filter(items: list[InboxItem], *, kind: str = "", min_age: int | None = None,
                 customer: str = "", sort: str = "oldest") -> list[InboxItem]:
    if kind in ("quote", "order"):
        items = [i for i in items if i.kind == kind]
    if min_age:
        items = [i for i in items if i.age_days >= min_age]
    if customer:
        needle = customer.strip().lower()
        items = [i for i in items if needle in i.company.lower()
                 or needle == i.company_code.lower()]
    keys = {
        "oldest": (lambda i: i.since, False),
        "newest": (lambda i: i.since, True),
        "total": (lambda i: i.total, True),
        "discount": (lambda i: i.largest_discount or Decimal("-1"), True),
    }
    key, reverse = keys.get(sort, keys["oldest"])
    return sorted(items, key=key, reverse=reverse)


def inbox_quote_get(*, user, public_id: str) -> Quote:
    """A quote the approver may open: one waiting at their level, or one decided at their
    level (by them or a colleague: a page opened before someone else decided then tells
    it was out of date). Anything else is 404."""
    levels = approver_levels(user=user)
    if not levels:
        raise NotFound(f"No quote {public_id} in your inbox.")
    qs = Quote.objects.select_related("company", "customer", "current", "request", "author",
                                      "order", "channel").filter(public_id=public_id)
    quote = qs.filter(Q(status="pending_approval", awaiting_level__in=levels)
                      | Q(approvals__user=user)
                      | Q(approvals__level__in=levels)).distinct().first()
    if quote is None:
        raise NotFound(f"No quote {public_id} in your inbox.")
    return quote


def inbox_order_get(*, user, public_id: str) -> Order:
    """An order of a company the user approves for, that awaits approval or they decided."""
    memberships = order_approver_memberships(user=user)
    order = (Order.objects.select_related("company", "customer", "channel")
             .filter(public_id=public_id, company_id__in=list(memberships))
             .filter(Q(status=OrderStatus.AWAITING_APPROVAL) | Q(approvals__user=user))
             .distinct().first())
    if order is None:
        raise NotFound(f"No order {public_id} in your inbox.")
    return order


def order_pending_level(*, order: Order) -> int | None:
    decided = set(OrderApproval.objects.filter(order=order).values_list("level", flat=True))
    return _order_pending_level(order, decided)


def quote_versions(*, quote: Quote) -> list[QuoteVersion]:
    return list(QuoteVersion.objects.filter(quote=quote).order_by("-number")
                .prefetch_related(_lines_prefetch()))


def quote_approvals(*, quote: Quote) -> list[QuoteApproval]:
    return list(QuoteApproval.objects.filter(quote=quote).select_related("version")
                .order_by("created_at", "id"))
