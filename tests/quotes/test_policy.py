"""The approval policy as a table, and over random quotes (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quotes.constants import ALLOWED_STATUS_CHANGES, QUOTE_TRANSITIONS, QuoteStatus, RuleKind
from quotes.policy import PolicyLine, PolicyRule, approval_levels_for, discount_percent

RULES = [PolicyRule("Discount over 10 %", RuleKind.LINE_DISCOUNT_OVER, Decimal("10"), 1),
         PolicyRule("Margin under 15 %", RuleKind.MARGIN_UNDER, Decimal("15"), 1),
         PolicyRule("Total over 50,000", RuleKind.TOTAL_OVER, Decimal("50000"), 2),
         PolicyRule("Discount over 25 %", RuleKind.LINE_DISCOUNT_OVER, Decimal("25"), 2)]


def levels(price, total="1000", cost=None, list_price="100"):
    line = PolicyLine("SKU", Decimal(list_price), Decimal(price),
                      None if cost is None else Decimal(cost))
    return approval_levels_for(lines=[line], total=Decimal(total), rules=RULES)[0]


@pytest.mark.parametrize(("price", "total", "cost", "expected"), [
    ("100", "1000", None, []),          # list price, small
    ("90", "1000", None, []),           # exactly 10 % is not over 10 %
    ("89.99", "1000", None, [1]),       # over 10 %
    ("75", "1000", None, [1]),          # exactly 25 %: level 1 only
    ("74.99", "1000", None, [1, 2]),    # over 25 %: both
    ("100", "50000.01", None, [2]),     # total over 50,000, no discount: level 2 alone
    ("100", "1000", "86", [1]),         # margin 14 % under 15 %
    ("100", "1000", "85", []),          # margin exactly 15 %
    ("95", "60000", "90", [1, 2]),      # thin margin and a big total
])
def test_policy_table(price, total, cost, expected):
    assert levels(price, total, cost) == expected


def test_reasons_name_the_rule_and_the_line():
    _, reasons = approval_levels_for(
        lines=[PolicyLine("SKU", Decimal("100"), Decimal("70"))], total=Decimal("60000"),
        rules=RULES)
    assert [(r["level"], r["rule"]) for r in reasons] == [
        (1, "Discount over 10 %"), (2, "Discount over 25 %"), (2, "Total over 50,000")]
    assert reasons[0]["detail"] == "SKU discounted 30.00 % (over 10 %)"
    assert reasons[2]["detail"] == "total 60,000.00 over 50,000.00"


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)


@given(lines=st.lists(st.tuples(money, money, st.none() | money), min_size=1, max_size=6),
       total=money)
def test_levels_follow_the_worst_line_and_the_total(lines, total):
    policy_lines = [PolicyLine(f"S{i}", list_price, price, cost)
                    for i, (list_price, price, cost) in enumerate(lines)]
    got, reasons = approval_levels_for(lines=policy_lines, total=total, rules=RULES)
    worst = max(discount_percent(list_price=li.list_price, unit_price=li.unit_price)
                for li in policy_lines)
    margins = [li.margin_percent for li in policy_lines if li.margin_percent is not None]
    expected = set()
    if worst > 10 or (margins and min(margins) < 15):
        expected.add(1)
    if worst > 25 or total > 50000:
        expected.add(2)
    assert got == sorted(expected)
    assert got == sorted({r["level"] for r in reasons})
    assert 0 <= worst <= 100


def test_every_transition_and_every_illegal_one():
    statuses = set(QuoteStatus.values)
    for action, (sources, target) in QUOTE_TRANSITIONS.items():
        assert sources <= statuses and target in statuses, action
    finals = {QuoteStatus.CONVERTED, QuoteStatus.DECLINED, QuoteStatus.EXPIRED,
              QuoteStatus.WITHDRAWN}
    assert not any(source in finals for source, _ in ALLOWED_STATUS_CHANGES)
    assert (QuoteStatus.DRAFT, QuoteStatus.SENT) not in ALLOWED_STATUS_CHANGES
    assert (QuoteStatus.PENDING_APPROVAL, QuoteStatus.SENT) not in ALLOWED_STATUS_CHANGES
    assert (QuoteStatus.SENT, QuoteStatus.CONVERTED) not in ALLOWED_STATUS_CHANGES
