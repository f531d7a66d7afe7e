"""An asyncio face for the generated bindings (`partysocket_ffi`).

```python
import asyncio
from partysocket import PartySocket

async def main():
    async with PartySocket.connect("localhost:1999", party="echo", room="lobby") as socket:
        socket.send("hello")
        async for event in socket:
            print(event)

asyncio.run(main())
```

The generated module and the native library (`libpartysocket_ffi.so`, `.dylib`) sit
beside this file.
"""

from __future__ import annotations

import typing

import partysocket_ffi as ffi
from partysocket_ffi import (  # noqa: F401  (the vocabulary, re-exported)
    CloseFrame,
    ConnectionState,
    DropPolicy,
    Event,
    FailurePolicy,
    Heartbeat,
    Message,
    OptionsUpdate,
    PartySocketError,
    PartySocketListener,
    PartySocketOptions,
    Protocol,
    ReadyState,
    SendOutcome,
    SocketFailure,
    StopReason,
)


class PartySocket:
    """A reconnecting PartyKit socket.

    Iterate it (`async for event in socket`) to read its events in order; iteration ends
    after `close()` once the last event was read. Created with a `PartySocketListener`,
    the socket calls the listener instead (on the SDK's own thread).
    """

    def __init__(self, options: PartySocketOptions, listener: typing.Optional[PartySocketListener] = None):
        self._ffi = ffi.PartySocket(options, listener)

    @classmethod
    def connect(cls, host: str, *, listener: typing.Optional[PartySocketListener] = None, **options) -> "PartySocket":
        """Creates a socket from keyword options (those of `PartySocketOptions`)."""
        return cls(PartySocketOptions(host=host, **options), listener)

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

    async def __aexit__(self, *exc_info) -> None:
        try:
            await self.close()
        except PartySocketError.Closed:
            pass

    def send(self, message: typing.Union[str, bytes, bytearray]) -> SendOutcome:
        """Sends text or bytes now when open, else queues them; the outcome says which."""
        if isinstance(message, str):
            return self._ffi.send_text(message)
        return self._ffi.send_binary(bytes(message))

    def send_coalesced(self, key: str, message: typing.Union[str, bytes]) -> SendOutcome:
        """Like `send`; while disconnected only the latest queued message per key survives."""
        if isinstance(message, str):
            return self._ffi.send_coalesced(key, Message.TEXT(text=message))
        return self._ffi.send_coalesced(key, Message.BINARY(data=bytes(message)))

    async def close(self, code: int = 1000, reason: str = "") -> StopReason:
        """Closes gracefully and waits until the close completed; the socket's task then ends."""
        self._ffi.close_with(code, reason)
        return await self._ffi.closed()

    async def opened(self) -> None:
        """Waits until open; raises `PartySocketError.Stopped` if the socket stops instead."""
        await self._ffi.opened()

    def reconnect(self) -> None:
        self._ffi.reconnect()

    def update(self, update: OptionsUpdate) -> None:
        self._ffi.update(update)

    def drain_queue(self) -> typing.List[Message]:
        return self._ffi.drain_queue()

    @property
    def id(self) -> str:
        return self._ffi.id()

    @property
    def room_url(self) -> str:
        return self._ffi.room_url()

    @property
    def url(self) -> typing.Optional[str]:
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


def text_of(message: Message) -> typing.Optional[str]:
    """The text of a text message, else None (Rust's `as_text()`)."""
    return message.text if isinstance(message, Message.TEXT) else None
