"""The msgpack-rpc envelope: encoding requests, decoding the stream, msgids, the socket path.

Shared by the blocking and the asyncio client; knows nothing of sockets beyond the path.
"""
import os
from typing import Any, Dict, List, Optional, Tuple

import msgpack

from .errors import ProtocolError

REQUEST, RESPONSE, NOTIFICATION = 0, 1, 2
MSGID_MASK = 0xFFFFFFFF          # msgids are uint32 and wrap
DEFAULT_SOCKET = "./var/claimd.sock"
MAX_REPLY = 256 << 20            # largest object accepted from the daemon (as libclaimd)


def socket_path(path: Optional[str] = None) -> str:
    """The socket to connect to: path, else $CLAIMD_SOCKET (when set and not empty), else
    ./var/claimd.sock (as the wire contract says)."""
    if path:
        return os.fspath(path)
    return os.environ.get("CLAIMD_SOCKET") or DEFAULT_SOCKET


def clean_params(params: Dict[str, Any]) -> Dict[str, Any]:
    """Drops top-level None values (nil counts as absent; where nil means something, as inside
    claim.update's `set`, it is nested and kept)."""
    return {k: v for k, v in params.items() if v is not None}


def pack_request(msgid: int, method: str, params: Optional[Dict[str, Any]]) -> bytes:
    """One request object; str goes as str, bytes as bin."""
    return msgpack.packb([REQUEST, msgid, method, [params] if params else []], use_bin_type=True)


def pack_notification(method: str, params: Optional[Dict[str, Any]]) -> bytes:
    """One client notification: run by the daemon like a request, its reply dropped."""
    return msgpack.packb([NOTIFICATION, method, [params] if params else []], use_bin_type=True)


def new_unpacker() -> msgpack.Unpacker:
    """A streaming decoder for the daemon's output: str as str (raw=False), any map key."""
    return msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=MAX_REPLY)


def classify(msg: Any) -> Tuple[int, Any, Any, Any]:
    """(kind, a, b, c) for a decoded message: (RESPONSE, msgid, error, result) or
    (NOTIFICATION, method, params, None). Anything else raises ProtocolError."""
    if isinstance(msg, (list, tuple)):
        if len(msg) == 4 and msg[0] == RESPONSE and isinstance(msg[1], int):
            return RESPONSE, msg[1], msg[2], msg[3]
        if len(msg) == 3 and msg[0] == NOTIFICATION and isinstance(msg[1], str):
            return NOTIFICATION, msg[1], msg[2], None
    raise ProtocolError("not a msgpack-rpc response or notification: %.200r" % (msg,))


def change_of(params: Any) -> Optional[Dict[str, Any]]:
    """The change map of a "change" notification's params ([change]), or None."""
    if isinstance(params, (list, tuple)) and params and isinstance(params[0], dict):
        return params[0]
    return None


class Router:
    """Hands change notifications to subscriptions: by the change's `subscription` when it
    carries one; else (a daemon older than that field) to every live subscription of the
    connection, which is exact while the connection holds one."""

    def __init__(self) -> None:
        self.subs: Dict[int, Any] = {}      # id -> object with deliver(change) / end(reason)

    def add(self, sub_id: int, sub: Any) -> None:
        self.subs[sub_id] = sub

    def remove(self, sub_id: int) -> None:
        self.subs.pop(sub_id, None)

    def notification(self, method: str, params: Any) -> None:
        """Routes one notification; unknown methods are ignored."""
        body = change_of(params)
        if body is None:
            return
        sid = body.get("subscription")
        if method == "change":
            if isinstance(sid, int):
                sub = self.subs.get(sid)
                if sub is not None:
                    sub.deliver(body)
            else:
                for sub in list(self.subs.values()):
                    sub.deliver(body)
        elif method == "subscription.closed":
            sub = self.subs.pop(sid, None) if isinstance(sid, int) else None
            if sub is not None:
                sub.end(str(body.get("reason") or "closed by the daemon"))

    def end_all(self, reason: str) -> None:
        """The connection is gone: every subscription ends."""
        subs, self.subs = list(self.subs.values()), {}
        for sub in subs:
            sub.end(reason)
