"""The approvals inbox (``/approvals/``): server-rendered pages for B2B approvers, signed in
with Django's auth. No JavaScript; every form is CSRF-protected and posts to a view that
calls a service, then redirects (a reload never decides twice).

An approver sees quotes waiting at their level (``QuoteApprovalLevel`` groups) and orders of
the companies they approve for (``CompanyApprover``); another item's URL is 404, a signed-in
user who approves nothing gets a 403 page that says so.
"""

from __future__ import annotations

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from orderflow.errors import DomainError, NotFound
from orderflow.timeline import Actor
from orders.models import OrderApproval, OrderEvent
from quotes import services
from quotes.selectors import (
    approver_levels,
    decided_items,
    inbox_filter,
    inbox_items,
    inbox_order_get,
    inbox_quote_get,
    is_approver,
    level_names,
    order_approver_memberships,
    order_pending_level,
    pending_level,
    quote_approvals,
    quote_timeline,
    quote_versions,
)

SORTS = [("oldest", "Oldest first"), ("newest", "Newest first"), ("total", "Largest total"),
         ("discount", "Largest discount")]
AGES = [("", "Any age"), ("1", "1+ days"), ("3", "3+ days"), ("7", "7+ days")]
KINDS = [("", "Quotes and orders"), ("quote", "Quotes"), ("order", "Orders")]


class LoginView(auth_views.LoginView):
    template_name = "approvals/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return reverse("approvals:inbox")


class LogoutView(auth_views.LogoutView):
    next_page = "approvals:login"


def approver_required(view):
    """Signed in (else to the login page) and an approver of something (else the 403
    page); a missing or foreign item is 404."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("approvals:login"))
        if not is_approver(user=request.user):
            return render(request, "approvals/forbidden.html", status=403)
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.detail) from None

    return wrapped


class FilterForm(forms.Form):
    kind = forms.ChoiceField(choices=KINDS, required=False)
    age = forms.ChoiceField(choices=AGES, required=False)
    customer = forms.CharField(required=False, max_length=100)
    sort = forms.ChoiceField(choices=SORTS, required=False)


def _listing(request, items, *, tab: str):
    form = FilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    items = inbox_filter(items, kind=filters.get("kind", ""),
                         min_age=int(filters["age"]) if filters.get("age") else None,
                         customer=filters.get("customer", ""),
                         sort=filters.get("sort") or ("newest" if tab == "decided" else "oldest"))
    waiting = len(inbox_items(user=request.user)) if tab == "decided" else len(items)
    return render(request, "approvals/inbox.html", {
        "items": items, "tab": tab, "form": form, "waiting_count": waiting,
        "filtered": any(filters.values()) if filters else False})


@require_GET
@approver_required
def inbox(request):
    return _listing(request, inbox_items(user=request.user), tab="waiting")


@require_GET
@approver_required
def decided(request):
    return _listing(request, decided_items(user=request.user), tab="decided")


# --- quotes ----------------------------------------------------------------------------------

def _quote_context(request, quote):
    user = request.user
    version = quote.current
    approvals = quote_approvals(quote=quote)
    waiting = (pending_level(version=version, approvals=approvals)
               if quote.status == "pending_approval" else None)
    mine = [a for a in approvals if a.user_id == user.pk and a.version_id == version.pk]
    can_decide = (waiting is not None and waiting in approver_levels(user=user)
                  and quote.author_id != user.pk and not mine)
    why_not = ""
    if quote.status == "pending_approval" and not can_decide:
        if quote.author_id == user.pk:
            why_not = "You wrote this quote: someone else must approve it."
        elif mine:
            why_not = "You already decided on this version."
        else:
            why_not = f"It waits for level {waiting}, not yours."
    names = level_names()
    lines = list(version.lines.all())
    versions = quote_versions(quote=quote)
    return {
        "quote": quote, "version": version, "lines": lines,
        "earlier": [v for v in versions if v.pk != version.pk],
        "approvals": approvals, "waiting_level": waiting,
        "waiting_name": names.get(waiting, ""), "can_decide": can_decide, "why_not": why_not,
        "levels": [{"level": lv, "name": names.get(lv, f"Level {lv}"),
                    "reasons": [r["detail"] for r in version.approval_reasons
                                if r["level"] == lv],
                    "decision": next((a for a in approvals if a.version_id == version.pk
                                      and a.level == lv), None)}
                   for lv in version.approval_levels],
        "request_lines": list(quote.request.lines.all()) if quote.request_id else [],
        "timeline": quote_timeline(quote=quote),
        "largest_discount": max((line.discount_percent for line in lines), default=None),
    }


@require_GET
@approver_required
def quote_detail(request, quote_id):
    quote = inbox_quote_get(user=request.user, public_id=quote_id)
    return render(request, "approvals/quote_detail.html", _quote_context(request, quote))


class DecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[("approve", "Approve"), ("decline", "Decline"),
                                        ("changes", "Request changes")])
    comment = forms.CharField(required=False, max_length=2000)
    version = forms.IntegerField(required=False, min_value=1)
    level = forms.IntegerField(required=False, min_value=1, max_value=9)

    def clean(self):
        data = super().clean()
        if data.get("action") == "decline" and not (data.get("comment") or "").strip():
            self.add_error("comment", "A decline needs a reason.")
        if data.get("action") == "changes" and not (data.get("comment") or "").strip():
            self.add_error("comment", "Say what should change.")
        return data


def _refused(request, exc: DomainError) -> None:
    if exc.code in ("stale_decision", "quote_superseded", "already_decided",
                    "invalid_transition"):
        messages.warning(request, "This page was out of date, so nothing was recorded: "
                                  f"{exc.detail}")
    else:
        messages.error(request, exc.detail)


@require_POST
@approver_required
def quote_decide(request, quote_id):
    quote = inbox_quote_get(user=request.user, public_id=quote_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        context = _quote_context(request, quote)
        context["form"] = form
        return render(request, "approvals/quote_detail.html", context, status=400)
    data = form.cleaned_data
    common = {"quote": quote, "user": request.user, "actor": Actor.staff(request.user),
              "version": data.get("version"), "level": data.get("level")}
    comment = (data.get("comment") or "").strip()
    try:
        if data["action"] == "approve":
            quote = services.quote_approve(comment=comment, **common)
            messages.success(request, f"{quote.number} approved.")
        elif data["action"] == "decline":
            quote = services.quote_reject(reason=comment, **common)
            messages.success(request, f"{quote.number} declined.")
        else:
            quote = services.quote_request_changes(comment=comment, **common)
            messages.success(request, f"{quote.number} sent back for changes.")
    except DomainError as exc:
        _refused(request, exc)
        return redirect("approvals:quote", quote_id=quote_id)
    return redirect("approvals:inbox")


# --- orders ----------------------------------------------------------------------------------

def _order_context(request, order):
    waiting = order_pending_level(order=order) if order.status == "awaiting_approval" else None
    my_level = order_approver_memberships(user=request.user).get(order.company_id)
    approvals = list(OrderApproval.objects.filter(order=order).order_by("created_at", "id"))
    mine = any(a.user_id == request.user.pk for a in approvals)
    return {
        "order": order, "lines": list(order.lines.order_by("id")), "approvals": approvals,
        "waiting_level": waiting,
        "can_decide": waiting is not None and my_level is not None and waiting <= my_level
        and not mine,
        "why_not": "You already decided on this order." if mine else "",
        "timeline": list(OrderEvent.objects.filter(order=order).order_by("-created_at", "-id")),
    }


@require_GET
@approver_required
def order_detail(request, order_id):
    order = inbox_order_get(user=request.user, public_id=order_id)
    return render(request, "approvals/order_detail.html", _order_context(request, order))


@require_POST
@approver_required
def order_decide(request, order_id):
    order = inbox_order_get(user=request.user, public_id=order_id)
    form = DecisionForm(request.POST)
    if not form.is_valid() or form.cleaned_data["action"] == "changes":
        context = _order_context(request, order)
        context["form"] = form
        return render(request, "approvals/order_detail.html", context, status=400)
    data = form.cleaned_data
    comment = (data.get("comment") or "").strip()
    try:
        if data["action"] == "approve":
            services.inbox_order_approve(order=order, user=request.user,
                                         level=data.get("level"), comment=comment)
            messages.success(request, f"{order.number} approved.")
        else:
            services.inbox_order_decline(order=order, user=request.user,
                                         level=data.get("level"), reason=comment)
            messages.success(request, f"{order.number} declined.")
    except DomainError as exc:
        _refused(request, exc)
        return redirect("approvals:order", order_id=order_id)
    return redirect("approvals:inbox")
