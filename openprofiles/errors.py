"""Typed service errors, raised from any layer and formatted only by the serializer.

Each class is named after an error shape of the botocore models; the HTTP status is read from the
model when the error is serialized, so it is never copied by hand. The few errors that are not
model shapes (an unknown route, an operation not implemented yet, a body that is not JSON) carry
their own status.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An error the client is meant to see: a code, a message and the shape's extra members."""

    code: str = "ServiceError"
    status: int | None = None  # None: taken from the error shape in the service model

    def __init__(self, message: str, **members: Any) -> None:
        super().__init__(message)
        self.message = message
        self.members = members

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


# Customer Profiles error shapes


class BadRequestException(ServiceError):
    code = "BadRequestException"


class ResourceNotFoundException(ServiceError):
    code = "ResourceNotFoundException"


class AccessDeniedException(ServiceError):
    code = "AccessDeniedException"


class ThrottlingException(ServiceError):
    code = "ThrottlingException"


class InternalServerException(ServiceError):
    code = "InternalServerException"

# Amazon Connect error shapes


class InvalidParameterException(ServiceError):
    code = "InvalidParameterException"


class InvalidRequestException(ServiceError):
    code = "InvalidRequestException"


class DuplicateResourceException(ServiceError):
    code = "DuplicateResourceException"


class LimitExceededException(ServiceError):
    code = "LimitExceededException"


class InternalServiceException(ServiceError):
    code = "InternalServiceException"


class InvalidContactFlowException(ServiceError):
    code = "InvalidContactFlowException"

# Errors of the protocol itself, outside any model


class UnknownOperationException(ServiceError):
    code = "UnknownOperationException"
    status = 404


class NotImplementedException(ServiceError):
    code = "NotImplementedException"
    status = 501


class SerializationException(ServiceError):
    code = "SerializationException"
    status = 400
