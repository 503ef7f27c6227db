"""One error hierarchy for the server: every error has a stable dotted ``code``.

Errors are raised as domain errors and mapped to HTTP statuses or websocket
``error`` messages at the boundary only.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid field: a dotted/indexed path and what is wrong with it."""

    path: str
    message: str


class CallCenterError(Exception):
    """Base error. ``code`` is stable; ``status`` is the HTTP status it maps to."""

    code: str = "internal.error"
    status: int = 500

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 fields: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.fields: list[FieldError] = fields or []

    def to_dict(self) -> dict[str, object]:
        """The ``error`` object of PROTOCOL.md."""
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = [{"path": f.path, "message": f.message} for f in self.fields]
        return body


class ConfigError(CallCenterError):
    """A configuration value or key is wrong; raised at start-up."""

    code = "config.invalid"
    status = 500


class NotFound(CallCenterError):
    code = "not_found"
    status = 404


class ValidationFailed(CallCenterError):
    code = "request.validation"
    status = 422


class Forbidden(CallCenterError):
    code = "auth.forbidden"
    status = 403


class Unauthorized(CallCenterError):
    code = "auth.unauthorized"
    status = 401


class Conflict(CallCenterError):
    code = "conflict"
    status = 409


@dataclass(slots=True)
class ErrorList:
    """Collects several errors before failing (config, flows)."""

    items: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.items.append(message)

    def __bool__(self) -> bool:
        return bool(self.items)
