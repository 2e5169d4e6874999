"""Recovery and unsubscribe tokens: signed (django.core.signing, with SECRET_KEY), opaque (they
carry only the random public id of the e-mail sent, never the cart or the address) and, for
recovery links, expiring after the channel's link days."""

from __future__ import annotations

from datetime import timedelta

from django.core import signing

from orderflow.errors import ValidationFailed
from recovery.models import RecoveryEmail
from recovery.selectors import recovery_config

LINK_SALT = "orderflow.recovery.link"
UNSUBSCRIBE_SALT = "orderflow.recovery.unsubscribe"


class RecoveryTokenInvalid(ValidationFailed):
    """The token was altered, has expired, or names no e-mail we sent."""

    def __init__(self, detail: str, *, reason: str):
        super().__init__(detail, code="recovery_token_invalid", reason=reason)
        self.reason = reason


def link_token(email: RecoveryEmail) -> str:
    return signing.TimestampSigner(salt=LINK_SALT).sign(email.public_id)


def unsubscribe_token(email: RecoveryEmail) -> str:
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(email.public_id)


def _email(public_id: str) -> RecoveryEmail:
    email = (RecoveryEmail.objects.select_related("cart__channel")
             .filter(public_id=public_id).first())
    if email is None:
        raise RecoveryTokenInvalid("This link names nothing we sent.", reason="unknown")
    return email


def link_resolve(token: str) -> RecoveryEmail:
    """The e-mail whose recovery link ``token`` is; ``RecoveryTokenInvalid`` when altered or
    older than the channel's link days."""
    signer = signing.TimestampSigner(salt=LINK_SALT)
    try:
        public_id = signer.unsign(token)
    except signing.BadSignature:
        raise RecoveryTokenInvalid("This recovery link is not valid (it was changed or cut "
                                   "short).", reason="tampered") from None
    email = _email(public_id)
    days = recovery_config(email.cart.channel).link_days
    try:
        signer.unsign(token, max_age=timedelta(days=days))
    except signing.SignatureExpired:
        raise RecoveryTokenInvalid(f"This recovery link has expired (links work for {days} "
                                   f"days).", reason="expired") from None
    return email


def unsubscribe_resolve(token: str) -> RecoveryEmail:
    """Unsubscribe links never expire: an address may always opt out."""
    try:
        public_id = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        raise RecoveryTokenInvalid("This unsubscribe link is not valid.",
                                   reason="tampered") from None
    return _email(public_id)
