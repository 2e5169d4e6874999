"""The quote approval policy: which levels a quote version needs, and why.

Pure functions over lines and rules, so the policy table can be tested (and fuzzed) without a
database. ``approval_levels_for`` is what ``quote_submit`` calls with the active rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from quotes.constants import RuleKind

HUNDRED = Decimal("100")


@dataclass(frozen=True)
class PolicyLine:
    sku: str
    list_price: Decimal
    unit_price: Decimal
    unit_cost: Decimal | None = None

    @property
    def discount_percent(self) -> Decimal:
        return discount_percent(list_price=self.list_price, unit_price=self.unit_price)

    @property
    def margin_percent(self) -> Decimal | None:
        if self.unit_cost is None or self.unit_price <= 0:
            return None if self.unit_cost is None else Decimal("-100")
        return ((self.unit_price - self.unit_cost) * HUNDRED / self.unit_price).quantize(
            Decimal("0.01"))


@dataclass(frozen=True)
class PolicyRule:
    name: str
    kind: str
    threshold: Decimal
    level: int


def discount_percent(*, list_price: Decimal, unit_price: Decimal) -> Decimal:
    """How far below the list price a quoted price is, in percent (0 when at or above it)."""
    if list_price <= 0 or unit_price >= list_price:
        return Decimal("0.00")
    return ((list_price - unit_price) * HUNDRED / list_price).quantize(Decimal("0.01"))


def _match(rule: PolicyRule, lines: list[PolicyLine], total: Decimal) -> str | None:
    """Why ``rule`` applies, or None."""
    if rule.kind == RuleKind.LINE_DISCOUNT_OVER:
        hits = [line for line in lines if line.discount_percent > rule.threshold]
        if hits:
            worst = max(hits, key=lambda line: line.discount_percent)
            return (f"{worst.sku} discounted {worst.discount_percent} % "
                    f"(over {rule.threshold.normalize():f} %)")
    elif rule.kind == RuleKind.MARGIN_UNDER:
        hits = [line for line in lines
                if line.margin_percent is not None and line.margin_percent < rule.threshold]
        if hits:
            worst = min(hits, key=lambda line: line.margin_percent)
            return (f"{worst.sku} margin {worst.margin_percent} % "
                    f"(under {rule.threshold.normalize():f} %)")
    elif rule.kind == RuleKind.TOTAL_OVER:
        if total > rule.threshold:
            return f"total {total:,.2f} over {rule.threshold:,.2f}"
    return None


def approval_levels_for(*, lines: Iterable[PolicyLine], total: Decimal,
                        rules: Iterable[PolicyRule]) -> tuple[list[int], list[dict]]:
    """``(levels lowest first, reasons)``: each reason is ``{level, rule, detail}``."""
    lines = list(lines)
    reasons = []
    for rule in rules:
        detail = _match(rule, lines, total)
        if detail is not None:
            reasons.append({"level": rule.level, "rule": rule.name, "detail": detail})
    reasons.sort(key=lambda r: (r["level"], r["rule"]))
    return sorted({r["level"] for r in reasons}), reasons
