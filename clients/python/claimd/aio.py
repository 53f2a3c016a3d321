"""The asyncio client: one reader task decodes the stream, each request waits on a future keyed
by its msgid, and change notifications go to their subscriptions' queues."""
import asyncio
import collections
from typing import (Any, AsyncIterator, Awaitable, Deque, Dict, Iterable, List, Mapping,
                    Optional, Tuple, Union)

import msgpack

from ._methods import Methods
from ._wire import (MSGID_MASK, RESPONSE, Router, classify, clean_params, new_unpacker,
                    pack_notification, pack_request, socket_path)
from .errors import ConnectionError, Error, ProtocolError, Timeout, error_from_reply
from .imports import ImportReport, batches

__all__ = ["AsyncClient", "AsyncPipeline", "AsyncSubscription"]

Result = Dict[str, Any]
_DECODE_ERRORS = (msgpack.FormatError, msgpack.StackError, msgpack.BufferFull, ValueError)
_END = object()


class AsyncClient(Methods[Awaitable[Result]]):
    """An asyncio connection to claimd; every typed method is a coroutine.

        async with claimd.AsyncClient() as c:
            claim = await c.claim_get(1)

    Many coroutines may call at once on one client: requests are pipelined on the connection
    and each gets its own answer. `timeout`: seconds for connecting and for each answer
    (None: forever); a Timeout closes the connection.
    """

    def __init__(self, path: Optional[str] = None, timeout: Optional[float] = 30.0) -> None:
        self.path = socket_path(path)
        self.timeout = timeout
        self._reader: Optional[asyncio.StreamReader] = None
        self._writer: Optional[asyncio.StreamWriter] = None
        self._task: Optional[asyncio.Task] = None
        self._pending: Dict[int, asyncio.Future] = {}
        self._subscribing: Dict[int, "AsyncSubscription"] = {}
        self._router = Router()
        self._next_msgid = 1
        self._closed_by: Optional[BaseException] = None
        self._drain_lock: Optional[asyncio.Lock] = None
        self._outbuf: List[bytes] = []      # requests of this loop iteration, written together

    @classmethod
    async def connect(cls, path: Optional[str] = None, timeout: Optional[float] = 30.0) -> "AsyncClient":
        """A connected client (same as `async with AsyncClient(path)`)."""
        client = cls(path, timeout)
        await client.open()
        return client

    async def open(self) -> None:
        """Connects and starts the reader task."""
        if self._writer is not None:
            return
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self.path), self.timeout)
        except asyncio.TimeoutError:
            raise Timeout("connecting to %s timed out" % self.path) from None
        except OSError as e:
            raise ConnectionError("cannot connect to claimd at %s: %s" % (self.path, e.strerror or e)) from e
        self._drain_lock = asyncio.Lock()
        self._task = asyncio.ensure_future(self._read_loop())

    async def close(self) -> None:
        """Closes the connection; pending calls fail with ConnectionError, subscriptions end."""
        self._shutdown(ConnectionError("the client was closed"))
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        if self._writer is not None:
            try:
                await self._writer.wait_closed()
            except (OSError, Exception):
                pass

    @property
    def closed(self) -> bool:
        return self._closed_by is not None

    async def __aenter__(self) -> "AsyncClient":
        await self.open()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def _shutdown(self, why: BaseException) -> None:
        """Marks the connection dead: fails every pending future, ends every subscription."""
        if self._closed_by is None:
            self._closed_by = why
        if self._writer is not None:
            self._writer.close()
        pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(self._closed_by)
                fut.exception()        # marked retrieved: nobody may be awaiting it any more
        self._subscribing.clear()
        self._router.end_all(str(self._closed_by))

    async def _read_loop(self) -> None:
        unpacker = new_unpacker()
        why: BaseException = ConnectionError("claimd closed the connection")
        try:
            while True:
                data = await self._reader.read(1 << 16)
                if not data:
                    break
                unpacker.feed(data)
                try:
                    for msg in unpacker:
                        self._dispatch(classify(msg))
                except _DECODE_ERRORS as e:
                    raise ProtocolError("undecodable bytes from claimd: %s" % e) from e
        except asyncio.CancelledError:
            why = ConnectionError("the client was closed")
            raise
        except ConnectionError as e:
            why = e
        except OSError as e:
            why = ConnectionError("reading from claimd failed: %s" % e)
        finally:
            self._shutdown(why)

    def _dispatch(self, m: Tuple[int, Any, Any, Any]) -> None:
        if m[0] != RESPONSE:
            self._router.notification(m[1], m[2])
            return
        fut = self._pending.pop(m[1], None)
        if fut is None:
            raise ProtocolError("response to msgid %r, which no request is waiting for" % (m[1],))
        sub = self._subscribing.pop(m[1], None)
        if m[2] is not None:
            if not fut.done():
                fut.set_exception(error_from_reply(m[2]))
            return
        if sub is not None and isinstance(m[3], dict):
            # Registered here, before the next message is decoded, so no change is lost
            # between the reply and the caller resuming.
            sub._started(m[3])
            self._router.add(sub.id, sub)
        if not fut.done():
            fut.set_result(m[3])

    def _take_msgid(self) -> int:
        msgid = self._next_msgid
        self._next_msgid = (msgid + 1) & MSGID_MASK
        return msgid

    def _send(self, method: str, params: Dict[str, Any]) -> "asyncio.Future":
        """Writes one request (without waiting) and returns the future of its answer."""
        if self._closed_by is not None:
            raise ConnectionError("the connection is closed (%s)" % self._closed_by)
        if self._writer is None:
            raise ConnectionError("not connected: use `async with` or await open()")
        msgid = self._take_msgid()
        fut = asyncio.get_running_loop().create_future()
        self._pending[msgid] = fut
        if not self._outbuf:
            fut.get_loop().call_soon(self._flush)
        self._outbuf.append(pack_request(msgid, method, params))
        return fut

    def _flush(self) -> None:
        """Writes the requests queued since the last flush in one write: many coroutines
        calling at once then cost one syscall, not one each."""
        data, self._outbuf = b"".join(self._outbuf), []
        if data and self._closed_by is None and self._writer is not None:
            self._writer.write(data)

    async def _drain(self, always: bool = False) -> None:
        """Waits for the socket to take the queued output, when there is much of it (or always):
        a coroutine per call would cost more than the request itself."""
        if sum(map(len, self._outbuf)) >= (256 << 10):
            self._flush()
        if not always and self._writer.transport.get_write_buffer_size() < (256 << 10):
            return
        try:
            async with self._drain_lock:
                await self._writer.drain()
        except (OSError, RuntimeError) as e:
            self._shutdown(ConnectionError("sending to claimd failed: %s" % e))
            raise ConnectionError("sending to claimd failed: %s" % e) from e

    def _timed_out(self, fut: "asyncio.Future") -> None:
        if not fut.done():
            self._shutdown(Timeout("no answer from claimd within %ss" % self.timeout))

    async def _wait(self, fut: "asyncio.Future") -> Any:
        """The future's result, within the timeout; a timeout closes the connection (every
        pending call then fails with Timeout). A timer, not wait_for: no task per call."""
        if self.timeout is None:
            return await fut
        timer = asyncio.get_running_loop().call_later(self.timeout, self._timed_out, fut)
        try:
            return await fut
        finally:
            timer.cancel()

    async def _request(self, method: str, params: Dict[str, Any]) -> Any:
        fut = self._send(method, params)
        await self._drain()
        return await self._wait(fut)

    def _invoke(self, method: str, params: Dict[str, Any]) -> Awaitable[Result]:
        return self._request(method, params)

    async def call(self, method: str, **params: Any) -> Any:
        """Calls any method by name: `await c.call("claim.get", id=1)`."""
        return await self._request(method, clean_params(params))

    async def notify(self, method: str, **params: Any) -> None:
        """Sends a client notification (run by the daemon in order, no reply)."""
        if self._writer is None or self._closed_by is not None:
            raise ConnectionError("the connection is closed")
        self._flush()
        self._writer.write(pack_notification(method, clean_params(params)))
        await self._drain(always=True)

    # --- pipelining ---------------------------------------------------------------------------
    def pipeline(self) -> "AsyncPipeline":
        """`async with c.pipeline() as p: p.claim_get(1); ...` then `p.results`."""
        return AsyncPipeline(self)

    # --- iterators ----------------------------------------------------------------------------
    async def iter_query(self, *, limit: int = 100, **filters: Any) -> AsyncIterator[Result]:
        """Every claim matching `filters`, across pages (async for)."""
        cursor = filters.pop("cursor", None)
        while True:
            page = await self.claim_query(limit=limit, cursor=cursor, **filters)
            for item in page.get("items") or []:
                yield item
            cursor = page.get("cursor")
            if cursor is None:
                return

    async def iter_search(self, q: str, *, limit: int = 100, **filters: Any) -> AsyncIterator[Result]:
        """Every hit of claim.search for `q`, across pages (async for)."""
        cursor = filters.pop("cursor", None)
        while True:
            page = await self.claim_search(q, limit=limit, cursor=cursor, **filters)
            for item in page.get("items") or []:
                yield item
            cursor = page.get("cursor")
            if cursor is None:
                return

    async def iter_changes(self, since: int = 0, *, limit: int = 1000,
                           until: Optional[int] = None) -> AsyncIterator[Result]:
        """Every change with seq > since, oldest first (async for)."""
        while True:
            page = await self.changes(since=since, limit=limit)
            items = page.get("items") or []
            for ch in items:
                if until is not None and ch.get("seq", 0) > until:
                    return
                yield ch
            if not items:
                return
            since = page.get("next", items[-1].get("seq"))

    async def iter_history(self, id: int) -> AsyncIterator[Result]:
        """Every revision of claim `id`, oldest first (async for)."""
        cursor = None
        while True:
            page = await (self.claim_history(id, cursor=cursor) if cursor is not None
                          else self.claim_history(id))
            for item in page.get("items") or []:
                yield item
            cursor = page.get("cursor")
            if cursor is None:
                return

    # --- subscriptions ------------------------------------------------------------------------
    async def subscribe(self, types: Optional[Iterable[str]] = None,
                        ops: Optional[Iterable[str]] = None, speaker: Any = None,
                        claim: Optional[int] = None, *, idle_timeout: Optional[float] = None,
                        **extra: Any) -> "AsyncSubscription":
        """`subscribe`: an AsyncSubscription, `async for change in sub`."""
        params = clean_params(dict(extra, types=list(types) if types is not None else None,
                                   ops=list(ops) if ops is not None else None,
                                   speaker=speaker, claim=claim))
        sub = AsyncSubscription(self, idle_timeout)
        self._subscribing[self._next_msgid] = sub      # the msgid _send is about to take
        fut = self._send("subscribe", params)
        await self._drain()
        await self._wait(fut)
        return sub

    async def unsubscribe(self, subscription: Union[int, "AsyncSubscription"]) -> Result:
        """`unsubscribe` (an AsyncSubscription or its id)."""
        sid = subscription.id if isinstance(subscription, AsyncSubscription) else subscription
        result = await self._request("unsubscribe", {"subscription": sid})
        self._router.remove(sid)
        return result

    # --- streaming import ---------------------------------------------------------------------
    async def import_claims(self, claims: Iterable[Mapping[str, Any]], *, batch_size: int = 1000,
                            in_flight: int = 4, on_duplicate: Optional[str] = None) -> ImportReport:
        """As Client.import_claims: batches of `batch_size`, `in_flight` of them unanswered at
        most, rejected inputs reported by index."""
        if batch_size < 1 or in_flight < 1:
            raise ValueError("batch_size and in_flight must be at least 1")
        report = ImportReport()
        waiting: Deque[Tuple["asyncio.Future", int, List[Dict[str, Any]]]] = collections.deque()

        async def settle() -> None:
            fut, start, batch = waiting.popleft()
            try:
                result = await self._wait(fut)
            except Error as e:
                report.fail_batch(start, batch, e)
            else:
                report.add_batch(start, batch, result)

        for start, batch in batches(claims, batch_size):
            while len(waiting) >= in_flight:
                await settle()
            fut = self._send("claim.import", clean_params({"claims": batch, "on_duplicate": on_duplicate}))
            waiting.append((fut, start, batch))
            await self._drain()
        while waiting:
            await settle()
        return report


class AsyncPipeline(Methods[int]):
    """As Pipeline, for AsyncClient: `async with c.pipeline() as p:` (or `await p.execute()`)."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._calls: List[Tuple[str, Dict[str, Any]]] = []
        self.results: List[Any] = []

    def _invoke(self, method: str, params: Dict[str, Any]) -> int:
        self._calls.append((method, params))
        return len(self._calls) - 1

    def call(self, method: str, **params: Any) -> int:
        return self._invoke(method, clean_params(params))

    def __len__(self) -> int:
        return len(self._calls)

    async def execute(self) -> List[Any]:
        """Sends every queued call, then collects the answers in order (Errors kept)."""
        calls, self._calls = self._calls, []
        futs = [self._client._send(m, p) for m, p in calls]
        await self._client._drain()
        results: List[Any] = []
        for fut in futs:
            try:
                results.append(await self._client._wait(fut))
            except Error as e:
                results.append(e)
        self.results = results
        return results

    async def __aenter__(self) -> "AsyncPipeline":
        return self

    async def __aexit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            await self.execute()


class AsyncSubscription:
    """A live subscription of an AsyncClient: `async for change in sub`; `await sub.get(t)`;
    `await sub.close()` unsubscribes. `id`, `seq` and `closed_reason` as in Subscription."""

    def __init__(self, client: AsyncClient, idle_timeout: Optional[float]) -> None:
        self._client = client
        self.id: int = 0
        self.seq: Optional[int] = None
        self.idle_timeout = idle_timeout
        self.closed_reason: Optional[str] = None
        self._queue: "asyncio.Queue[Any]" = asyncio.Queue()

    def _started(self, result: Dict[str, Any]) -> None:
        self.id = result.get("subscription", 0)
        self.seq = result.get("seq")

    def deliver(self, change: Dict[str, Any]) -> None:
        self._queue.put_nowait(change)

    def end(self, reason: str) -> None:
        if self.closed_reason is None:
            self.closed_reason = reason
        self._queue.put_nowait(_END)

    async def get(self, timeout: Optional[float] = None) -> Optional[Dict[str, Any]]:
        """The next change, waiting up to `timeout` seconds (None: forever); None when none
        came in time or the subscription ended."""
        if self._queue.empty() and self.closed_reason is not None:
            return None
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            return None
        if item is _END:
            self._queue.put_nowait(_END)       # later calls see the end too
            return None
        return item

    def __aiter__(self) -> "AsyncSubscription":
        return self

    async def __anext__(self) -> Dict[str, Any]:
        change = await self.get(self.idle_timeout)
        if change is None:
            raise StopAsyncIteration
        return change

    async def close(self) -> None:
        """Unsubscribes (if the connection is still open); idempotent."""
        if self.closed_reason is None:
            self.closed_reason = "unsubscribed"
            if not self._client.closed:
                await self._client.unsubscribe(self.id)
            self._queue.put_nowait(_END)

    async def __aenter__(self) -> "AsyncSubscription":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
