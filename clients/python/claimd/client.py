"""The blocking client: one connection, requests answered in order, pipelines, cursor
iterators, subscriptions and streaming imports. Not thread-safe: use one Client per thread."""
import collections
import select
import socket
import time
from typing import Any, Deque, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

import msgpack

from ._methods import Methods
from ._wire import (MSGID_MASK, NOTIFICATION, RESPONSE, Router, classify, clean_params,
                    new_unpacker, pack_notification, pack_request, socket_path)
from .errors import ConnectionError, Error, ProtocolError, Timeout, error_from_reply
from .imports import ImportReport, batches

__all__ = ["Client", "Pipeline", "Subscription"]

Result = Dict[str, Any]
_DECODE_ERRORS = (msgpack.FormatError, msgpack.StackError, msgpack.BufferFull, ValueError)


class Client(Methods[Result]):
    """A blocking connection to claimd.

    `path`: the socket; else $CLAIMD_SOCKET; else ./var/claimd.sock. `timeout`: seconds to wait
    for connecting and for each answer (None: forever). A daemon error raises its Error
    subclass and leaves the connection usable; a ConnectionError (including Timeout) closes it.

        with claimd.Client() as c:
            c.claim_get(1)
    """

    def __init__(self, path: Optional[str] = None, timeout: Optional[float] = 30.0) -> None:
        self.path = socket_path(path)
        self.timeout = timeout
        self._closed = True
        self._next_msgid = 1
        self._unpacker = new_unpacker()
        self._router = Router()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self.path)
        except socket.timeout:
            sock.close()
            raise Timeout("connecting to %s timed out" % self.path) from None
        except OSError as e:
            sock.close()
            raise ConnectionError("cannot connect to claimd at %s: %s" % (self.path, e.strerror or e)) from e
        self._sock = sock
        self._closed = False

    # --- connection ---------------------------------------------------------------------------
    def close(self) -> None:
        """Closes the connection; its subscriptions end. Idempotent."""
        if not self._closed:
            self._closed = True
            try:
                self._sock.close()
            except OSError:
                pass
        self._router.end_all("the client was closed")

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _fail(self, exc: ConnectionError) -> ConnectionError:
        """Closes the connection after a transport failure and returns exc to raise."""
        self.close()
        return exc

    def _take_msgid(self) -> int:
        msgid = self._next_msgid
        self._next_msgid = (msgid + 1) & MSGID_MASK
        return msgid

    def _send(self, data: bytes) -> None:
        if self._closed:
            raise ConnectionError("the connection is closed")
        try:
            self._sock.settimeout(self.timeout)
            self._sock.sendall(data)
        except socket.timeout:
            raise self._fail(Timeout("sending to claimd timed out")) from None
        except OSError as e:
            raise self._fail(ConnectionError("sending to claimd failed: %s" % e)) from e

    def _fill(self, timeout: Optional[float]) -> None:
        """Reads what the socket has (waiting up to timeout) into the decoder."""
        try:
            self._sock.settimeout(timeout)
            chunk = self._sock.recv(1 << 16)
        except socket.timeout:
            raise
        except OSError as e:
            raise self._fail(ConnectionError("reading from claimd failed: %s" % e)) from e
        if not chunk:
            raise self._fail(ConnectionError("claimd closed the connection"))
        self._unpacker.feed(chunk)

    def _decoded(self) -> Optional[Tuple[int, Any, Any, Any]]:
        """The next complete message already received, or None."""
        try:
            msg = next(self._unpacker)
        except StopIteration:
            return None
        except _DECODE_ERRORS as e:
            raise self._fail(ProtocolError("undecodable bytes from claimd: %s" % e)) from e
        try:
            return classify(msg)
        except ProtocolError as e:
            raise self._fail(e) from None

    def _next_response(self, deadline: Optional[float]) -> Tuple[int, Any, Any]:
        """The next response (msgid, error, result); notifications met first are routed."""
        while True:
            m = self._decoded()
            if m is not None:
                if m[0] == NOTIFICATION:
                    self._router.notification(m[1], m[2])
                    continue
                return m[1], m[2], m[3]
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise self._fail(Timeout("no answer from claimd within %ss" % self.timeout))
            try:
                self._fill(left)
            except socket.timeout:
                raise self._fail(Timeout("no answer from claimd within %ss" % self.timeout)) from None

    def _deadline(self) -> Optional[float]:
        return None if self.timeout is None else time.monotonic() + self.timeout

    def _expect(self, msgid: int) -> Tuple[Any, Any]:
        got, error, result = self._next_response(self._deadline())
        if got != msgid:
            raise self._fail(ProtocolError("response to msgid %d where %d was expected" % (got, msgid)))
        return error, result

    def _invoke(self, method: str, params: Dict[str, Any]) -> Result:
        msgid = self._take_msgid()
        self._send(pack_request(msgid, method, params))
        error, result = self._expect(msgid)
        if error is not None:
            raise error_from_reply(error)
        return result

    def call(self, method: str, **params: Any) -> Any:
        """Calls any method by name: `c.call("claim.get", id=1)`. None values are left out;
        `c.call("relation.add", **{"from": 1, "to": 2, "kind": "confirms"})` for `from`."""
        return self._invoke(method, clean_params(params))

    def notify(self, method: str, **params: Any) -> None:
        """Sends a client notification: the daemon runs it in order with this connection's
        requests and sends no reply (so a failure goes unnoticed)."""
        self._send(pack_notification(method, clean_params(params)))

    # --- pipelining ---------------------------------------------------------------------------
    def pipeline(self) -> "Pipeline":
        """A batch of calls sent together and answered in order:

            with c.pipeline() as p:
                p.claim_get(1); p.claim_get(2)
            p.results      # [claim, claim] or Error instances where a call failed
        """
        return Pipeline(self)

    def _run_pipeline(self, calls: List[Tuple[str, Dict[str, Any]]]) -> List[Any]:
        """Writes every request while reading the replies as they come (so neither side's
        buffers can fill up and stall the other); returns results and Error instances."""
        if not calls:
            return []
        msgids = collections.deque()
        parts = []
        for method, params in calls:
            msgid = self._take_msgid()
            msgids.append(msgid)
            parts.append(pack_request(msgid, method, params))
        out = memoryview(b"".join(parts))
        sent = 0
        results: List[Any] = []
        if self._closed:
            raise ConnectionError("the connection is closed")
        deadline = self._deadline()
        while msgids:
            m = self._decoded()
            if m is not None:
                if m[0] == NOTIFICATION:
                    self._router.notification(m[1], m[2])
                    continue
                if m[1] != msgids[0]:
                    raise self._fail(ProtocolError("response to msgid %d where %d was expected"
                                                   % (m[1], msgids[0])))
                msgids.popleft()
                results.append(error_from_reply(m[2]) if m[2] is not None else m[3])
                deadline = self._deadline()
                continue
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                readable, writable, _ = select.select([self._sock], [self._sock] if sent < len(out) else [],
                                                      [], left)
            except (OSError, ValueError) as e:
                raise self._fail(ConnectionError("waiting on the socket failed: %s" % e)) from e
            if not readable and not writable:
                raise self._fail(Timeout("no answer from claimd within %ss" % self.timeout))
            if writable:
                try:
                    self._sock.settimeout(self.timeout)
                    sent += self._sock.send(out[sent:sent + (1 << 20)])
                except OSError as e:
                    raise self._fail(ConnectionError("sending to claimd failed: %s" % e)) from e
                deadline = self._deadline()
            if readable:
                try:
                    self._fill(self.timeout)
                except socket.timeout:
                    raise self._fail(Timeout("no answer from claimd within %ss" % self.timeout)) from None
        return results

    # --- iterators that follow cursors --------------------------------------------------------
    def iter_query(self, *, limit: int = 100, **filters: Any) -> Iterator[Result]:
        """Every claim matching `filters` (claim_query's), page after page until the cursor is
        None; each matching claim exactly once, even while others write."""
        cursor = filters.pop("cursor", None)
        while True:
            page = self.claim_query(limit=limit, cursor=cursor, **filters)
            yield from page.get("items") or []
            cursor = page.get("cursor")
            if cursor is None:
                return

    def iter_search(self, q: str, *, limit: int = 100, **filters: Any) -> Iterator[Result]:
        """Every hit {"id", "score", "snippet", "claim"} of claim.search, best first, across
        pages."""
        cursor = filters.pop("cursor", None)
        while True:
            page = self.claim_search(q, limit=limit, cursor=cursor, **filters)
            yield from page.get("items") or []
            cursor = page.get("cursor")
            if cursor is None:
                return

    def iter_changes(self, since: int = 0, *, limit: int = 1000,
                     until: Optional[int] = None) -> Iterator[Result]:
        """Every change with seq > since, oldest first, until the log's end (or seq `until`)."""
        while True:
            page = self.changes(since=since, limit=limit)
            items = page.get("items") or []
            for ch in items:
                if until is not None and ch.get("seq", 0) > until:
                    return
                yield ch
            if not items:
                return
            since = page.get("next", items[-1].get("seq"))

    def iter_history(self, id: int) -> Iterator[Result]:
        """Every revision {"rev", "at", "by", "op", "claim"} of claim `id`, oldest first
        (following a `cursor` should the daemon ever page its answer)."""
        cursor = None
        while True:
            page = self.claim_history(id, cursor=cursor) if cursor is not None else self.claim_history(id)
            yield from page.get("items") or []
            cursor = page.get("cursor")
            if cursor is None:
                return

    # --- subscriptions ------------------------------------------------------------------------
    def subscribe(self, types: Optional[Iterable[str]] = None, ops: Optional[Iterable[str]] = None,
                  speaker: Any = None, claim: Optional[int] = None, *,
                  idle_timeout: Optional[float] = None, **extra: Any) -> "Subscription":
        """`subscribe`: a Subscription, an iterator of change dicts {"seq", "at", "op", "type",
        "id", "subscription"} committed after its `seq`. Iteration blocks until a change comes;
        with `idle_timeout` it stops after that many seconds without one. Other calls may be
        made on the client meanwhile (changes arriving then are kept for the iterator)."""
        params = clean_params(dict(extra, types=list(types) if types is not None else None,
                                   ops=list(ops) if ops is not None else None,
                                   speaker=speaker, claim=claim))
        result = self._invoke("subscribe", params)
        sub = Subscription(self, result, idle_timeout)
        self._router.add(sub.id, sub)
        return sub

    def unsubscribe(self, subscription: Union[int, "Subscription"]) -> Result:
        """`unsubscribe` (a Subscription or its id); changes already received for it are
        dropped."""
        sid = subscription.id if isinstance(subscription, Subscription) else subscription
        result = self._invoke("unsubscribe", {"subscription": sid})
        self._router.remove(sid)
        return result

    def _wait_notification(self, deadline: Optional[float]) -> bool:
        """Reads and routes messages until one notification has been handled; False when the
        deadline passed first. A response here (none is awaited) is a protocol error."""
        while True:
            m = self._decoded()
            if m is not None:
                if m[0] == RESPONSE:
                    raise self._fail(ProtocolError("unexpected response to msgid %r" % (m[1],)))
                self._router.notification(m[1], m[2])
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            try:
                self._fill(left)
            except socket.timeout:
                return False

    # --- streaming import ---------------------------------------------------------------------
    def import_claims(self, claims: Iterable[Mapping[str, Any]], *, batch_size: int = 1000,
                      in_flight: int = 4, on_duplicate: Optional[str] = None) -> ImportReport:
        """Streams any number of claims as claim.import batches of `batch_size`, keeping up to
        `in_flight` batches sent ahead of their answers. Rejected inputs do not stop the import:
        the ImportReport lists them with their index and error. A transport failure raises
        ConnectionError (the batches answered so far are stored)."""
        if batch_size < 1 or in_flight < 1:
            raise ValueError("batch_size and in_flight must be at least 1")
        report = ImportReport()
        waiting: Deque[Tuple[int, int, List[Dict[str, Any]]]] = collections.deque()

        def settle() -> None:
            msgid, start, batch = waiting.popleft()
            error, result = self._expect(msgid)
            if error is not None:
                report.fail_batch(start, batch, error_from_reply(error))
            else:
                report.add_batch(start, batch, result)

        for start, batch in batches(claims, batch_size):
            while len(waiting) >= in_flight:
                settle()
            msgid = self._take_msgid()
            self._send(pack_request(msgid, "claim.import",
                                    clean_params({"claims": batch, "on_duplicate": on_duplicate})))
            waiting.append((msgid, start, batch))
        while waiting:
            settle()
        return report


class Pipeline(Methods[int]):
    """Calls queued by the typed methods or call() (each returns its index in `results`), sent
    together by execute() (or at the end of a `with` block) and answered in order. `results`
    holds each call's result, or its Error instance: one failing call does not raise nor stop
    the others. A ConnectionError does raise."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._calls: List[Tuple[str, Dict[str, Any]]] = []
        self.results: List[Any] = []

    def _invoke(self, method: str, params: Dict[str, Any]) -> int:
        self._calls.append((method, params))
        return len(self._calls) - 1

    def call(self, method: str, **params: Any) -> int:
        """Queues any method by name; returns its index."""
        return self._invoke(method, clean_params(params))

    def __len__(self) -> int:
        return len(self._calls)

    def execute(self) -> List[Any]:
        """Sends the queued calls, reads every answer, and returns (and keeps in `results`) the
        list of results and Errors. The pipeline is empty again afterwards."""
        calls, self._calls = self._calls, []
        self.results = self._client._run_pipeline(calls)
        return self.results

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.execute()


class Subscription:
    """A live subscription: iterate it for change dicts. `id` and `seq` (the last seq committed
    when it started: catch up with iter_changes(since=last, until=seq)) come from the daemon.
    `closed_reason` is set when it ended (the daemon cut it off, or the connection closed);
    iteration then stops. close() (or leaving a `with` block) unsubscribes."""

    def __init__(self, client: Client, result: Dict[str, Any], idle_timeout: Optional[float]) -> None:
        self._client = client
        self.id: int = result["subscription"]
        self.seq: Optional[int] = result.get("seq")
        self.idle_timeout = idle_timeout
        self.closed_reason: Optional[str] = None
        self._queue: Deque[Dict[str, Any]] = collections.deque()

    def deliver(self, change: Dict[str, Any]) -> None:
        self._queue.append(change)

    def end(self, reason: str) -> None:
        if self.closed_reason is None:
            self.closed_reason = reason

    def get(self, timeout: Optional[float] = None) -> Optional[Dict[str, Any]]:
        """The next change, waiting up to `timeout` seconds (None: forever); None when none
        came in time or the subscription has ended (see closed_reason)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._queue:
            if self.closed_reason is not None:
                return None
            if not self._client._wait_notification(deadline):
                return None
        return self._queue.popleft()

    def __iter__(self) -> "Subscription":
        return self

    def __next__(self) -> Dict[str, Any]:
        change = self.get(self.idle_timeout)
        if change is None:
            raise StopIteration
        return change

    def close(self) -> None:
        """Unsubscribes (if the connection is still open); idempotent."""
        if self.closed_reason is None:
            self.closed_reason = "unsubscribed"
            if not self._client.closed:
                self._client.unsubscribe(self.id)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
