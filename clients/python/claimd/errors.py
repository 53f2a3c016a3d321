"""Exceptions: one class per error code of the wire contract, and connection failures apart.

A daemon error leaves the connection usable; a ConnectionError means the connection is gone
(or, after a timeout, can no longer be trusted) and the client must be reopened.
"""
import builtins
from typing import Any, Dict, Optional

__all__ = ["Error", "BadRequest", "UnknownMethod", "Invalid", "NotFound", "Conflict", "TooLarge",
           "Forbidden", "Busy", "StorageFull", "ReadOnly", "Internal", "ConnectionError",
           "Timeout", "ProtocolError", "error_from_reply"]


class Error(Exception):
    """An error answered by the daemon: `code` (e.g. "not_found"), `message`, `field` (the
    parameter at fault, a path like "claims[3].speaker", or None), `id` (the existing record it
    names, e.g. the duplicate of a conflict, or None) and `raw` (the whole error object as
    received). Codes this client does not know come as this base class."""

    code: Optional[str] = None

    def __init__(self, message: str = "", code: Optional[str] = None, field: Optional[str] = None,
                 id: Optional[int] = None, raw: Any = None) -> None:
        if code is not None:
            self.code = code
        self.message = message
        self.field = field
        self.id = id
        self.raw = raw
        Exception.__init__(self, message)

    def __str__(self) -> str:
        s = "%s: %s" % (self.code, self.message)
        if self.field is not None:
            s += " (field %s)" % self.field
        if self.id is not None:
            s += " (id %d)" % self.id
        return s

    def __repr__(self) -> str:
        return "%s(%r, field=%r, id=%r)" % (type(self).__name__, self.message, self.field, self.id)


class BadRequest(Error):
    """The envelope was malformed (not a 4-element request, params not [] or [map])."""
    code = "bad_request"


class UnknownMethod(Error):
    """No such method (an older daemon, or a typo in call())."""
    code = "unknown_method"


class Invalid(Error):
    """A parameter is missing, of the wrong type or out of range; `field` names it."""
    code = "invalid"


class NotFound(Error):
    """The id (or name, in entity.merge) does not exist; `field` names the parameter."""
    code = "not_found"


class Conflict(Error):
    """A `rev` mismatch, a duplicate with on_duplicate "error", or a non-empty backup directory;
    `id` names the existing record when there is one."""
    code = "conflict"


class TooLarge(Error):
    """The request, a text, a list or a batch is over its limit."""
    code = "too_large"


class Forbidden(Error):
    """The connecting user's role may not call this method; nothing was applied."""
    code = "forbidden"


class Busy(Error):
    """The daemon is shutting down or over a limit; retry later."""
    code = "busy"


class StorageFull(Error):
    """Disk or map full; nothing of the request was stored."""
    code = "storage_full"


class ReadOnly(Error):
    """A write sent to a read replica; the message names the primary."""
    code = "read_only"


class Internal(Error):
    """Anything else; the daemon logged the details."""
    code = "internal"


_BY_CODE = {cls.code: cls for cls in (BadRequest, UnknownMethod, Invalid, NotFound, Conflict,
                                       TooLarge, Forbidden, Busy, StorageFull, ReadOnly, Internal)}


def error_from_reply(err: Any) -> Error:
    """The exception for the error object of a response (a map as the contract says, or, from a
    peer that is not claimd, anything else)."""
    if isinstance(err, dict):
        code = err.get("code")
        message = err.get("message")
        field = err.get("field")
        rid = err.get("id")
        cls = _BY_CODE.get(code, Error) if isinstance(code, str) else Error
        return cls(message if isinstance(message, str) else repr(message),
                   code=code if isinstance(code, str) else None,
                   field=field if isinstance(field, str) else None,
                   id=rid if isinstance(rid, int) and not isinstance(rid, bool) else None,
                   raw=err)
    return Error(repr(err), raw=err)


class ConnectionError(builtins.ConnectionError):
    """The connection failed: the socket could not be opened, the daemon closed it, or it sent
    something that is not msgpack-rpc. Not a subclass of Error: no request was answered. The
    client is closed afterwards; open a new one."""


class Timeout(ConnectionError, builtins.TimeoutError):
    """No answer within the client's timeout. The connection is closed, because the late answer
    would otherwise be taken for the next request's."""


class ProtocolError(ConnectionError):
    """The daemon sent bytes that are not a valid msgpack-rpc message, or a response that does
    not match the request it should answer."""
