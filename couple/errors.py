"""Errors an operation raises; entry points turn them into a clear 4xx and change nothing."""


class OperationError(Exception):
    status = 400

    def __init__(self, message: str, field: str | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra

    def as_dict(self) -> dict:
        out = {"error": self.message}
        if self.field:
            out["field"] = self.field
        out.update(self.extra)
        return out


class InvalidInput(OperationError):
    status = 400


class NotFound(OperationError):
    status = 404

    def __init__(self, message: str = "Not found."):
        super().__init__(message)


class Forbidden(OperationError):
    status = 403


class Conflict(OperationError):
    """A write based on an old copy; `current` carries the copy to merge with."""

    status = 409
