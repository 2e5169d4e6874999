"""The shopper's pages: a reminder's link (``/recover/<token>``) and one-click unsubscribe
(``/recover/unsubscribe/<token>``, RFC 8058). Plain HTML, no login: the signed token is the
credential."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from orderflow.errors import Conflict, NotFound
from recovery import services, tokens


def _invalid(request, error: tokens.RecoveryTokenInvalid, *, what: str):
    return render(request, "recovery/invalid.html",
                  {"detail": error.detail, "reason": error.reason, "what": what}, status=400)


@require_GET
def recover(request, token: str):
    """Bring the cart back and send the shopper to the channel's storefront with its id (or
    say it is saved when the channel has no storefront URL)."""
    try:
        cart, problems, email = services.link_follow(token=token)
    except tokens.RecoveryTokenInvalid as error:
        return _invalid(request, error, what="recovery link")
    except (Conflict, NotFound) as error:
        return render(request, "recovery/unavailable.html",
                      {"detail": error.detail, "code": error.code}, status=409)
    target = services.storefront_redirect(cart=cart)
    if target:
        return HttpResponseRedirect(target)
    return render(request, "recovery/saved.html", {"cart": cart, "problems": problems})


@csrf_exempt  # mail clients POST here without a form of ours (RFC 8058 one-click)
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET asks (a link scanner fetching it unsubscribes no one); POST unsubscribes, from our
    button or a mail client's one-click ``List-Unsubscribe=One-Click``."""
    try:
        email = tokens.unsubscribe_resolve(token)
    except tokens.RecoveryTokenInvalid as error:
        return _invalid(request, error, what="unsubscribe link")
    if request.method == "POST":
        services.unsubscribe(email=email)
        return render(request, "recovery/unsubscribed.html", {"address": email.to})
    return render(request, "recovery/unsubscribe.html", {"address": email.to})
