"""Domain errors raised by services and selectors.

Each carries an HTTP status, a stable ``code`` and optional structured ``extra`` members; the
API error handler turns them into problem+json, the admin shows ``detail`` as a message.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "domain_error"
    title = "Request refused"

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None,
                 errors: dict | None = None, **extra):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        if status:
            self.status = status
        self.errors = errors
        self.extra = extra


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


class ValidationFailed(DomainError):
    status = 400
    code = "validation_error"
    title = "Invalid input"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict with the current state"


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "Transition not allowed"

    def __init__(self, *, entity: str, from_status: str, to_status: str):
        super().__init__(
            f"A {entity} cannot go from '{from_status}' to '{to_status}'.",
            from_status=from_status,
            to_status=to_status,
        )


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    title = "Not enough stock"
