"""claimd: a Python client for the claimd claim-tracking daemon (MessagePack-RPC on a Unix
socket), on `msgpack` alone.

    import claimd
    with claimd.Client() as c:                 # $CLAIMD_SOCKET, else ./var/claimd.sock
        r = c.claim_put(text="was received through diplomatic channels", speaker="Dmitry Peskov")
        for claim in c.iter_query(speaker="Dmitry Peskov"):
            print(claim["id"], claim["text"])

Errors are typed (claimd.NotFound, claimd.Conflict with .id, claimd.Invalid with .field, ...);
claimd.AsyncClient is the asyncio twin of claimd.Client. See README.md beside this package.
"""
from .aio import AsyncClient, AsyncPipeline, AsyncSubscription
from .client import Client, Pipeline, Subscription
from .errors import (BadRequest, Busy, Conflict, ConnectionError, Error, Forbidden, Internal,
                     Invalid, NotFound, ProtocolError, ReadOnly, StorageFull, Timeout, TooLarge,
                     UnknownMethod, error_from_reply)
from .imports import ImportReport, Rejected
from ._wire import DEFAULT_SOCKET, socket_path

__version__ = "0.1.0"

__all__ = ["Client", "AsyncClient", "Pipeline", "AsyncPipeline", "Subscription",
           "AsyncSubscription", "ImportReport", "Rejected", "Error", "BadRequest", "UnknownMethod",
           "Invalid", "NotFound", "Conflict", "TooLarge", "Forbidden", "Busy", "StorageFull",
           "ReadOnly", "Internal", "ConnectionError", "Timeout", "ProtocolError",
           "error_from_reply", "socket_path", "DEFAULT_SOCKET", "__version__"]
