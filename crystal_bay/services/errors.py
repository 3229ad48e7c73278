"""Domain errors. Each carries a stable code (for i18n and API bodies) and a plain message."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the user can understand; never a bug."""

    code: str = "error"
    status_code: int = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field


class NotFound(DomainError):
    code = "not_found"
    status_code = 404


class ValidationFailed(DomainError):
    code = "invalid"
    status_code = 422


class PipelineError(DomainError):
    code = "pipeline_refused"
    status_code = 409


class AuthError(DomainError):
    code = "auth_failed"
    status_code = 401


class PermissionDenied(DomainError):
    code = "forbidden"
    status_code = 403
