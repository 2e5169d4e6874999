"""OpenAPI additions: the problem+json error shape on every operation, shared parameters."""

from drf_spectacular.utils import OpenApiParameter

# Every POST that creates something accepts it (see bridges.access.idempotency).
IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key", {"type": "string", "minLength": 1, "maxLength": 255,
                        "pattern": "^[ -~]+$"}, OpenApiParameter.HEADER,
    description="Retry safely: the same key and body within 24 h replays the first answer; "
                "another body is 422; a request still running with it is 409.",
)

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details with a stable machine-readable code.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "example": "urn:orderflow:problem:validation_error"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "example": "validation_error"},
        "errors": {
            "type": "object",
            "description": "Field name → list of messages (validation errors only).",
            "additionalProperties": {},
        },
    },
    "additionalProperties": True,
}

COMMON_ERRORS = {
    "400": "Invalid input (code validation_error) or a malformed body.",
    "401": "Missing or invalid credentials.",
    "403": "The credentials do not allow this.",
}


SHOPPER_TOKEN_SCHEME = {
    "type": "apiKey",
    "in": "header",
    "name": "X-Storefront-Shopper-Token",
    "description": "Optional with a secret key: a token from POST /api/v1/shopper-tokens naming "
                   "the shopper. Required for the shopper's own orders.",
}


def add_problem_responses(result, generator, request, public):
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    components.setdefault("securitySchemes", {})["shopperToken"] = SHOPPER_TOKEN_SCHEME
    ref = {"$ref": "#/components/schemas/Problem"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            security = operation.get("security", [])
            if {"storefrontKey": []} in security:
                security.append({"storefrontKey": [], "shopperToken": []})
            responses = operation["responses"]
            errors = dict(COMMON_ERRORS)
            if "{" in path:
                errors["404"] = "No such object, or it belongs to another principal."
            if method != "get":
                errors["409"] = "The current state refuses the change (see `code`)."
            if any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", [])):
                errors["409"] = ("The current state refuses the change, or a request with "
                                 "this Idempotency-Key is still running.")
                errors["422"] = "This Idempotency-Key was used with a different request."
            for status_code, description in errors.items():
                responses.setdefault(status_code, {"description": description})
            for status_code, response in responses.items():
                if status_code.startswith(("4", "5")):
                    response["content"] = {"application/problem+json": {"schema": ref}}
    return result
