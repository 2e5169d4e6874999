"""The one gate every API and bridge request passes before any view runs, anything is
stored or anything but a redacted transaction-log entry is written (docs/api.md, "What
every request must be").

In order, each refusal a problem+json with a stable ``code``:

1. the path: a NUL or lone surrogate → 400 ``malformed_request``; a card number → 400
   ``card_data_forbidden``;
2. the query string (raw and decoded, keys and values) and the headers that are stored or
   echoed (``Idempotency-Key``, ``X-Request-Id``, ``X-Client-Id``): a card number → 400
   ``card_data_forbidden``;
3. a body over ``ORDERFLOW_MAX_BODY_BYTES`` (by Content-Length, before reading) → 413
   ``payload_too_large``; a multipart file upload to the API (the import API) has its own
   limit, ``ORDERFLOW_IMPORT_MAX_BYTES``, and its rows are screened by the import job;
4. a body that is not UTF-8 — a declared charset other than UTF-8, a UTF-16/32 byte-order
   mark, a NUL byte or invalid UTF-8 — → 415 ``unsupported_charset``;
5. a JSON body nested deeper than ``ORDERFLOW_MAX_JSON_DEPTH`` or with a NUL or lone
   surrogate in a key or string → 400 ``malformed_request``;
6. a card number in any JSON key or value, or anywhere in a body that is not JSON → 400
   ``card_data_forbidden``.

Refusals are not repeated by Django's request log (it would print the path verbatim).
"""

from __future__ import annotations

import codecs
import json
import re
from urllib.parse import unquote_plus

from django.conf import settings
from django.http.multipartparser import parse_header_parameters

from orderflow.api.errors import problem_json_response
from orderflow.carddata import GUARDED_PREFIXES, find_card_number, looks_like_card_number

STORED_HEADERS = {
    "HTTP_IDEMPOTENCY_KEY": "Idempotency-Key",
    "HTTP_X_REQUEST_ID": "X-Request-Id",
    "HTTP_X_CLIENT_ID": "X-Client-Id",
}
UTF8_NAMES = {"utf-8", "utf8"}
# Room for the multipart boundaries and form fields around an uploaded file.
MULTIPART_OVERHEAD = 64 * 1024
WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# A NUL or a lone surrogate: neither can be stored in a PostgreSQL text column.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class Refused(Exception):
    def __init__(self, response):
        self.response = response


def card_data_problem(field: str):
    return problem_json_response(
        status_code=400,
        code="card_data_forbidden",
        title="Card data is not accepted",
        detail=(
            f"The field '{field}' holds what looks like a payment card number. OrderFlow never "
            "accepts card data: send your payment provider's reference instead."
        ),
        field=field,
    )


def malformed(detail: str, **extra):
    return problem_json_response(status_code=400, code="malformed_request", detail=detail,
                                 **extra)


class InputGateMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(GUARDED_PREFIXES):
            try:
                inspect(request)
            except Refused as refused:
                response = refused.response
                response._has_been_logged = True  # Django's log would print the path as sent
                return response
        return self.get_response(request)


def inspect(request) -> None:
    if UNSTORABLE.search(request.path):
        raise Refused(malformed("The path holds a NUL or an unpaired surrogate.", field="path"))
    if looks_like_card_number(request.path):
        raise Refused(card_data_problem("path"))
    inspect_query(request)
    for key, name in STORED_HEADERS.items():
        if looks_like_card_number(request.META.get(key, "")):
            raise Refused(card_data_problem(f"header.{name}"))
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if request.content_type == "multipart/form-data" and request.path.startswith("/api/"):
        # A file upload (the import API is the only REST route that parses one): it has its
        # own size limit, Django streams it to disk, and the import job screens every cell
        # for card data before a row is stored (imports.services).
        if length > settings.ORDERFLOW_IMPORT_MAX_BYTES + MULTIPART_OVERHEAD:
            limit = settings.ORDERFLOW_IMPORT_MAX_BYTES
            raise Refused(problem_json_response(
                status_code=413, code="file_too_large", max_bytes=limit,
                detail=f"The upload is larger than {limit} bytes (ORDERFLOW_IMPORT_MAX_BYTES)."))
        return
    if length > settings.ORDERFLOW_MAX_BODY_BYTES:
        raise Refused(too_large())
    body = request.body
    if not body:
        return
    text = decode_utf8(request, body)
    is_json = request.path.startswith("/bridge/") or (request.content_type or "").endswith("json")
    if is_json:
        try:
            data = json.loads(text)
        except RecursionError:
            raise Refused(too_deep(settings.ORDERFLOW_MAX_JSON_DEPTH)) from None
        except ValueError:
            pass  # the parser answers malformed_request; the raw text is scanned below
        else:
            inspect_json(data)
            field = find_card_number(data)
            if field:
                raise Refused(card_data_problem(field))
            return
    if looks_like_card_number(text):
        raise Refused(card_data_problem("body"))


def inspect_query(request) -> None:
    raw = request.META.get("QUERY_STRING", "")
    if not raw:
        return
    decoded = unquote_plus(raw, errors="replace")
    if looks_like_card_number(raw) or looks_like_card_number(decoded):
        field = "query"
        for key, values in request.GET.lists():
            if looks_like_card_number(key) or any(map(looks_like_card_number, values)):
                field = "query" if looks_like_card_number(key) else f"query.{key}"
                break
        raise Refused(card_data_problem(field))


def too_large():
    limit = settings.ORDERFLOW_MAX_BODY_BYTES
    return problem_json_response(
        status_code=413, code="payload_too_large",
        detail=f"The body is larger than {limit} bytes (ORDERFLOW_MAX_BODY_BYTES).",
        limit=limit)


def unsupported_charset(detail: str):
    return problem_json_response(status_code=415, code="unsupported_charset",
                                 detail=f"{detail} Send the body in UTF-8.")


def decode_utf8(request, body: bytes) -> str:
    """The body as text: UTF-8 is the only charset accepted (JSON without one is UTF-8)."""
    _, params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
    charset = params.get("charset", "").strip().lower()
    if charset and charset not in UTF8_NAMES:
        raise Refused(unsupported_charset(f"The charset '{charset[:40]}' is not accepted."))
    if body.startswith(WIDE_BOMS) or b"\x00" in body:
        raise Refused(unsupported_charset("The body looks like UTF-16 or UTF-32."))
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(unsupported_charset("The body is not valid UTF-8.")) from None


def inspect_json(data) -> None:
    """Depth, NUL and lone surrogates, without recursion (a deep body cannot exhaust the
    stack here)."""
    limit = settings.ORDERFLOW_MAX_JSON_DEPTH
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth > limit:
                raise Refused(too_deep(limit))
            for key, item in value.items():
                if UNSTORABLE.search(key):
                    raise Refused(unstorable())
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            if depth > limit:
                raise Refused(too_deep(limit))
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and UNSTORABLE.search(value):
            raise Refused(unstorable())


def too_deep(limit: int):
    return malformed(f"The JSON body is nested deeper than {limit} levels.")


def unstorable():
    return malformed("A JSON key or string holds a NUL (\\u0000) or an unpaired surrogate.")
