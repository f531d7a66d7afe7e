"""partysocket: a reconnecting PartyKit client for asyncio, on the partysocket Rust SDK.

```python
import asyncio
from partysocket import Event, PartySocket, text_of

async def main():
    async with PartySocket.connect("localhost:1999", party="echo", room="lobby") as socket:
        await socket.opened()
        socket.send("hello")
        async for event in socket:
            if isinstance(event, Event.MESSAGE):
                print(text_of(event.message))
                break

asyncio.run(main())
```

Install with `pip install ./bindings/python` from a checkout (it builds the Rust library
with maturin, so a Rust toolchain is needed to build; the wheel it makes needs nothing).

Where events arrive: `async for event in socket` (and `await socket.next_event()`) hands
each event to the coroutine awaiting it, on the running event loop; the SDK's threads
wake the loop with `call_soon_threadsafe`. A `PartySocketListener` given at creation is
called instead, on one of the SDK's threads: hop to the loop with
`loop.call_soon_threadsafe(...)` before touching loop-bound state.

At interpreter exit (`atexit`) every socket still open is closed gracefully (code 1000)
and no callback into Python happens afterwards, so a script may end with sockets open.
"""

from __future__ import annotations

import asyncio
import atexit
import inspect
import typing

from . import partysocket_ffi as ffi
from .partysocket_ffi import (
    CloseFrame,
    ConnectionState,
    Credentials,
    CredentialsProvider,
    DropPolicy,
    Event,
    FailurePolicy,
    Heartbeat,
    LogLevel,
    LogRecord,
    Message,
    OptionsUpdate,
    PartySocketError,
    PartySocketListener,
    PartySocketLogger,
    PartySocketOptions,
    Protocol,
    ProviderError,
    ReadyState,
    SendOutcome,
    SocketFailure,
    StopReason,
    dropped_log_records,
    install_logger,
    redact_url,
    remove_logger,
)

__all__ = [
    "CloseFrame",
    "ConnectionState",
    "Credentials",
    "CredentialsProvider",
    "DropPolicy",
    "Event",
    "FailurePolicy",
    "Heartbeat",
    "Message",
    "OptionsUpdate",
    "PartySocket",
    "PartySocketError",
    "PartySocketListener",
    "PartySocketOptions",
    "Protocol",
    "ProviderError",
    "ReadyState",
    "SendOutcome",
    "SocketFailure",
    "StopReason",
    "redact_url",
    "text_of",
]

#: How long the exit hook waits for the sockets still open to finish closing.
EXIT_CLOSE_TIMEOUT_MS = 2000

#: What stands in for a secret in reprs (the Rust SDK's word).
REDACTED = "REDACTED"

Outgoing = typing.Union[str, bytes, bytearray, memoryview]


class _OnLoop(CredentialsProvider):
    """An `async def credentials()` provider, run on the event loop that created the
    socket: the SDK's blocking thread hands the coroutine to that loop and waits for it
    (at most the connection timeout, then the coroutine is cancelled)."""

    def __init__(self, provider: typing.Any, timeout_s: float):
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            raise TypeError(
                "an async credentials provider runs on the event loop that creates the socket: "
                "create the socket inside a coroutine, or make credentials() a plain method"
            ) from None
        self._provider = provider
        self._timeout_s = timeout_s

    def credentials(self) -> Credentials:
        future = asyncio.run_coroutine_threadsafe(self._provider.credentials(), self._loop)
        try:
            return future.result(self._timeout_s)
        except BaseException:
            future.cancel()
            raise


class PartySocket:
    """A reconnecting PartyKit socket.

    Iterate it (`async for event in socket`) to read its events in order; iteration ends
    after `close()` once the last event was read. Events wait in a bounded buffer
    (`event_capacity`, 1024 by default): while it is full the socket stops reading from
    the server. Created with a `PartySocketListener`, the socket calls the listener
    instead, on one of the SDK's threads.
    """

    def __init__(
        self,
        options: PartySocketOptions,
        listener: typing.Optional[PartySocketListener] = None,
        credentials: typing.Optional[CredentialsProvider] = None,
    ):
        if credentials is not None and inspect.iscoroutinefunction(credentials.credentials):
            credentials = _OnLoop(credentials, options.connection_timeout_ms / 1000)
        self._ffi = ffi.PartySocket(options, listener, credentials)

    @classmethod
    def connect(
        cls,
        host: str,
        *,
        listener: typing.Optional[PartySocketListener] = None,
        credentials: typing.Optional[CredentialsProvider] = None,
        **options: typing.Any,
    ) -> "PartySocket":
        """Creates a socket from keyword options (the fields of `PartySocketOptions`).

        `credentials`, a `CredentialsProvider`, is asked for the query parameters and
        headers (a `Credentials` record) before every attempt (on one of the SDK's
        threads): the hook for tokens that expire. Its `credentials` may be an
        `async def`: it then runs on the event loop that creates the socket (create it
        inside a coroutine), bounded by `connection_timeout_ms`.
        Raises `PartySocketError.InvalidOptions` naming the option to change.
        """
        return cls(PartySocketOptions(host=host, **options), listener, credentials)

    def __aiter__(self) -> "PartySocket":
        return self

    async def __anext__(self) -> Event:
        event = await self._ffi.next_event()
        if event is None:
            raise StopAsyncIteration
        return event

    async def next_event(self) -> typing.Optional[Event]:
        """The next event, or None once the socket was closed and every event read."""
        return await self._ffi.next_event()

    async def __aenter__(self) -> "PartySocket":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self.close()
        except PartySocketError.Closed:
            pass

    def send(self, message: Outgoing) -> SendOutcome:
        """Sends text or bytes now when open, else queues them; the outcome says which."""
        if isinstance(message, str):
            return self._ffi.send_text(message)
        return self._ffi.send_binary(bytes(message))

    def send_coalesced(self, key: str, message: Outgoing) -> SendOutcome:
        """Like `send`; while disconnected only the latest queued message per key survives."""
        if isinstance(message, str):
            return self._ffi.send_coalesced(key, Message.TEXT(text=message))
        return self._ffi.send_coalesced(key, Message.BINARY(data=bytes(message)))

    async def close(self, code: int = 1000, reason: str = "") -> StopReason:
        """Closes gracefully and waits until the close completed; the socket's task then ends.

        Messages still queued are discarded (take them first with `drain_queue()`).
        """
        self._ffi.close_with(code, reason)
        return await self._ffi.closed()

    async def opened(self) -> None:
        """Waits until open; raises `PartySocketError.Stopped` if the socket stops instead."""
        await self._ffi.opened()

    async def closed(self) -> StopReason:
        """Waits until the socket is closed (by `close()`, or when it gave up) and says why."""
        return await self._ffi.closed()

    def reconnect(self) -> None:
        """Connects now (the network-change hook): replaces the connection, cuts a backoff
        wait short, and restarts a socket that stopped."""
        self._ffi.reconnect()

    def pause(self) -> None:
        """Closes the connection for a while (1000) and keeps the socket: id, queue and
        events stay, and it does not reconnect until `resume()`. For going to the background."""
        self._ffi.pause()

    def resume(self) -> None:
        """Connects again after `pause()` with the same id; what was queued goes out first."""
        self._ffi.resume()

    def update(self, update: OptionsUpdate) -> None:
        """Changes the destination or credentials for the next connection."""
        self._ffi.update(update)

    def drain_queue(self) -> typing.List[Message]:
        """Removes and returns the queued messages, oldest first."""
        return self._ffi.drain_queue()

    @property
    def id(self) -> str:
        return self._ffi.id()

    @property
    def room_url(self) -> str:
        return self._ffi.room_url()

    @property
    def url(self) -> typing.Optional[str]:
        """The latest attempt's URL, query values included: log `redact_url(url)`."""
        return self._ffi.url()

    @property
    def protocol(self) -> typing.Optional[str]:
        return self._ffi.protocol()

    @property
    def ready_state(self) -> ReadyState:
        return self._ffi.ready_state()

    @property
    def connection_state(self) -> ConnectionState:
        return self._ffi.connection_state()

    @property
    def retry_count(self) -> int:
        return self._ffi.retry_count()

    @property
    def buffered_amount(self) -> int:
        return self._ffi.buffered_amount()

    def __repr__(self) -> str:
        url = self._ffi.url()
        shown = redact_url(url) if url is not None else None
        return f"PartySocket(id={self.id!r}, url={shown!r}, ready_state={self.ready_state})"


def text_of(message: Message) -> typing.Optional[str]:
    """The text of a text message, else None (Rust's `as_text()`)."""
    return message.text if isinstance(message, Message.TEXT) else None


# Reprs without secrets: query values and header values often carry tokens. The
# generated classes print every field as it is; these replace their `repr` and `str`.


def _redacted_map(values: typing.Optional[typing.Mapping[str, str]]) -> typing.Optional[typing.Dict[str, str]]:
    return None if values is None else {key: REDACTED for key in values}


def _options_repr(self: typing.Any) -> str:
    fields = []
    for name, value in vars(self).items():
        if name in ("query", "headers"):
            value = _redacted_map(value)
        fields.append(f"{name}={value!r}")
    return f"{type(self).__name__}({', '.join(fields)})"


def _open_repr(self: typing.Any) -> str:
    return f"Event.OPEN(url={redact_url(self.url)!r}, protocol={self.protocol!r})"


for _cls, _repr in ((PartySocketOptions, _options_repr), (OptionsUpdate, _options_repr), (Event.OPEN, _open_repr)):
    _cls.__repr__ = _repr  # type: ignore[method-assign]
    _cls.__str__ = _repr  # type: ignore[method-assign]


def _close_every_socket_at_exit() -> None:
    # Runs before the interpreter finalizes: afterwards the SDK calls no Python code
    # (no listener, no future's wake-up), so no thread of its calls into a finalizing
    # interpreter.
    try:
        ffi.shutdown(EXIT_CLOSE_TIMEOUT_MS)
    except Exception:  # noqa: BLE001 (nothing may escape an exit hook)
        pass


atexit.register(_close_every_socket_at_exit)
