"""The emulator's one exception: a gRPC status and a message in GA4's style, sent back to the caller."""

from __future__ import annotations

import grpc


class EmulatorError(Exception):
    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.NOT_FOUND, message)


def denied(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.PERMISSION_DENIED, message)


def exists(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.ALREADY_EXISTS, message)


def exhausted(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.RESOURCE_EXHAUSTED, message)


def failed_precondition(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.FAILED_PRECONDITION, message)


def unimplemented(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.UNIMPLEMENTED, message)
