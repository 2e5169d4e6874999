"""``POST /bridge/{client_id}/{action}``: the signed single endpoint for headless checkout.

Checks run in a fixed order, each refusal a problem+json with a stable code:
duplicate header 400 → unknown client / client mismatch 401 → disabled 403 → IP not allowed
403 → body over 1 MiB 413 → timestamp missing/malformed/outside the window 401 → signature
wrong 401 → replayed 401 for a write (503 if the guard's store is down) → scope missing 403 →
unknown action 404 → body not JSON / invalid 400.
"""

from __future__ import annotations

import json
import time

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from bridges.access.idempotency import run_idempotent
from bridges.access.network import client_ip, ip_allowed, parse_allow_list
from bridges.access.selectors import connection_get
from bridges.access.services import connection_valid_secrets
from bridges.hmac import replay
from bridges.hmac.actions import ACTIONS
from bridges.hmac.signing import sign, signature_matches
from bridges.models import InboundConnection
from orderflow.errors import DomainError, ValidationFailed
from orderflow.models import ActorSource
from orderflow.principals import Principal

SIGNED_HEADERS = ("HTTP_X_CLIENT_ID", "HTTP_X_TIMESTAMP", "HTTP_X_SIGNATURE")


def refuse(status: int, code: str, detail: str):
    return DomainError(detail, code=code, status=status)


def verify(request, client_id: str, *, one_use: bool = True) -> InboundConnection:
    """Authenticate and authorise the raw request; returns the connection. ``one_use``: the
    signature is refused if already accepted within the window (every write; a read may be
    sent again)."""
    meta = request.META
    for header in SIGNED_HEADERS:
        # A proxy joins a repeated header with commas; none of ours ever contains one.
        if "," in meta.get(header, ""):
            name = header[5:].replace("_", "-").title()
            raise refuse(400, "duplicate_header", f"The header {name} was sent more than once.")

    header_client = meta.get("HTTP_X_CLIENT_ID", "")
    connection = connection_get(client_id=client_id)
    if connection is None or header_client != client_id:
        raise refuse(401, "unknown_client",
                     "Unknown client, or X-Client-Id does not match the path.")
    request._request.orderflow_log = {"connection": connection}
    if not connection.is_enabled:
        raise refuse(403, "connection_disabled", "This connection is disabled.")
    if not ip_allowed(client_ip(request), parse_allow_list(connection.allowed_ips)):
        raise refuse(403, "ip_not_allowed", "Requests from this address are not allowed.")
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.ORDERFLOW_BRIDGE_MAX_BODY:
        # Refused before reading: an unauthenticated client cannot make us hash megabytes.
        raise refuse(413, "payload_too_large", "The body is larger than 1 MiB.")

    timestamp = meta.get("HTTP_X_TIMESTAMP", "")
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise refuse(401, "invalid_timestamp", "X-Timestamp must be unix seconds.")
    skew = abs(time.time() - int(timestamp))
    if skew > connection.replay_window_seconds:
        raise refuse(401, "timestamp_out_of_window",
                     f"X-Timestamp is more than {connection.replay_window_seconds} s away "
                     "from the server's clock.")

    received = meta.get("HTTP_X_SIGNATURE", "")
    body = request.body
    valid = [
        sign(secret=secret, timestamp=timestamp, client_id=client_id, method=request.method,
             path=request.path, body=body)
        for secret in connection_valid_secrets(connection)
    ]
    # Compare against every valid secret, always, so timing does not reveal which matched.
    matches = [signature_matches(expected, received) for expected in valid]
    if not any(matches):
        raise refuse(401, "invalid_signature", "The signature does not match.")
    if not one_use:
        return connection
    try:
        fresh = replay.first_use(client_id=client_id, signature=received,
                                 window_seconds=connection.replay_window_seconds)
    except replay.ReplayGuardUnavailable:
        raise refuse(503, "replay_guard_unavailable",
                     "The replay guard cannot be reached; try again.") from None
    if not fresh:
        raise refuse(401, "replayed", "This signed request was already accepted.")
    return connection


class BridgeApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = []

    @extend_schema(exclude=True)
    def post(self, request, client_id: str, action: str):
        spec = ACTIONS.get(action)
        # An unknown action counts as a write: the guard applies until it is known harmless.
        connection = verify(request, client_id, one_use=spec is None or not spec.read_only)
        if spec is not None and spec.scope not in connection.scopes:
            raise refuse(403, "scope_missing",
                         f"This connection lacks the scope {spec.scope} for {action}.")
        if spec is None:
            raise refuse(404, "unknown_action", f"There is no bridge action '{action}'.")
        request._request.orderflow_log["action"] = action
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            raise refuse(400, "malformed_request", "The body is not valid JSON.") from None
        if not isinstance(payload, dict):
            raise ValidationFailed("The body must be a JSON object.")
        serializer = spec.input(data=payload)
        serializer.is_valid(raise_exception=True)
        principal = Principal(connection=connection, source=ActorSource.BRIDGE)

        def work():
            status, data = spec.handler(principal, dict(serializer.validated_data))
            return Response(data, status=status)

        return run_idempotent(request, principal, work, data=payload)
