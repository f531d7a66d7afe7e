"""The Python scenarios against party-mock: the same as the Kotlin and Swift suites."""

import asyncio
import threading

import pytest

from conftest import unique_room
from partysocket import (
    CloseFrame,
    ConnectionState,
    Event,
    Message,
    PartySocket,
    PartySocketError,
    PartySocketListener,
    ReadyState,
    SendOutcome,
    SocketFailure,
    StopReason,
    text_of,
)

TIMEOUT = 10


def run(scenario):
    asyncio.run(asyncio.wait_for(scenario, 60))


async def next_matching(socket, what, predicate):
    async def find():
        async for event in socket:
            if predicate(event):
                return event
        raise AssertionError(f"the events ended before {what}")

    return await asyncio.wait_for(find(), TIMEOUT)


async def next_text(socket, text):
    return await next_matching(
        socket, f"message {text!r}", lambda e: isinstance(e, Event.MESSAGE) and text_of(e.message) == text
    )


def echo(mock, name, **options):
    return PartySocket.connect(mock.host, party="echo", room=unique_room(name), **options)


def test_connect(mock):
    async def scenario():
        room = unique_room("connect")
        socket = PartySocket.connect(mock.host, party="echo", room=room, id="python-client")
        opened = await next_matching(socket, "open", lambda e: isinstance(e, Event.OPEN))
        assert opened.url.startswith(f"ws://{mock.host}/parties/echo/{room}?_pk=python-client")
        assert socket.ready_state == ReadyState.OPEN
        assert socket.connection_state == ConnectionState.OPEN()
        assert socket.id == "python-client"
        assert socket.room_url == f"ws://{mock.host}/parties/echo/{room}"
        await socket.close()

    run(scenario())


def test_invalid_options_say_what_to_change(mock):
    with pytest.raises(PartySocketError.InvalidOptions, match="must not start with '/'"):
        echo(mock, "invalid", path="/inbox")


def test_echo(mock):
    async def scenario():
        async with echo(mock, "echo") as socket:
            await socket.opened()
            assert socket.send("hello") == SendOutcome.SENT()
            await next_text(socket, "hello")

    run(scenario())


def test_binary(mock):
    async def scenario():
        async with echo(mock, "binary") as socket:
            await socket.opened()
            data = bytes([0, 1, 2, 255, 127])
            assert socket.send(data) == SendOutcome.SENT()
            event = await next_matching(
                socket, "a binary message", lambda e: isinstance(e, Event.MESSAGE) and isinstance(e.message, Message.BINARY)
            )
            assert event.message.data == data

    run(scenario())


def test_broadcast_between_two_sockets(mock):
    async def scenario():
        room = unique_room("broadcast")
        alice = PartySocket.connect(mock.host, room=room)
        bob = PartySocket.connect(mock.host, room=room)
        await alice.opened()
        await bob.opened()
        await next_text(bob, "Welcome to the party!")
        alice.send("hi from alice")
        await next_text(bob, "hi from alice")
        await alice.close()
        await bob.close()

    run(scenario())


def test_server_restart_delivers_the_queue_once(mock):
    async def scenario():
        room = unique_room("restart")
        socket = PartySocket.connect(
            mock.host, party="echo", room=room, min_reconnection_delay_ms=100, max_reconnection_delay_ms=200
        )
        await socket.opened()
        mock.post("/_mock/restart?down_ms=1000")
        close = await next_matching(socket, "the dropped connection's close", lambda e: isinstance(e, Event.CLOSE))
        assert close.frame.code == 1006
        assert [socket.send(f"queued-{i}") for i in range(1, 4)] == [SendOutcome.QUEUED()] * 3
        await next_matching(socket, "the reconnection", lambda e: isinstance(e, Event.OPEN))
        for i in range(1, 4):
            await next_text(socket, f"queued-{i}")
        log = mock.log("echo", room)
        received = [m["message"]["data"] for r in log["received"] for m in r["messages"]]
        for i in range(1, 4):
            assert received.count(f"queued-{i}") == 1, received
        await socket.close()

    run(scenario())


def test_401_stops_the_socket_with_its_error(mock):
    async def scenario():
        mock.post("/_mock/refuse?count=1&status=401")
        socket = echo(mock, "unauthorized")
        error = await next_matching(socket, "the handshake error", lambda e: isinstance(e, Event.ERROR))
        assert error.error == SocketFailure.HANDSHAKE_REJECTED(status=401, retry_after_ms=None)
        assert "401" in error.description
        stopped = await next_matching(
            socket,
            "the stop",
            lambda e: isinstance(e, Event.STATE_CHANGED) and isinstance(e.state, ConnectionState.CLOSED),
        )
        assert isinstance(stopped.state.reason, StopReason.GAVE_UP)
        assert stopped.state.reason.failure == SocketFailure.HANDSHAKE_REJECTED(status=401, retry_after_ms=None)
        assert socket.ready_state == ReadyState.CLOSED
        with pytest.raises(PartySocketError.Stopped):
            await socket.opened()
        await socket.close()

    run(scenario())


def test_close_ends_the_task(mock):
    async def scenario():
        socket = echo(mock, "close")
        await socket.opened()
        assert await socket.close(4000, "bye") == StopReason.CLOSED_BY_APP()

        async def rest():
            return [event async for event in socket]

        events = await asyncio.wait_for(rest(), TIMEOUT)
        closes = [e for e in events if isinstance(e, Event.CLOSE)]
        assert len(closes) == 1
        assert closes[0].frame == CloseFrame(code=4000, reason="bye")
        assert closes[0].was_clean
        assert socket.ready_state == ReadyState.CLOSED
        with pytest.raises(PartySocketError.Closed):
            socket.send("too late")
        with pytest.raises(PartySocketError.Closed):
            socket.reconnect()

    run(scenario())


class Recorder(PartySocketListener):
    """Records callbacks; its first "boom" message raises."""

    def __init__(self):
        self.lines = []
        self.changed = threading.Condition()
        self.threw = False

    def record(self, line):
        with self.changed:
            self.lines.append(line)
            self.changed.notify_all()

    def on_open(self, url, protocol):
        self.record("open")

    def on_message(self, message):
        text = text_of(message)
        if text == "boom" and not self.threw:
            self.threw = True
            raise RuntimeError("listener boom")
        self.record(f"message {text}")

    def on_close(self, frame, was_clean):
        self.record(f"close {frame.code}")

    def on_error(self, error, description):
        if isinstance(error, SocketFailure.LISTENER_FAILED):
            self.record(f"failed {error.callback} {error.message}")

    def on_state_change(self, state):
        if isinstance(state, ConnectionState.CLOSED):
            self.record("closed")

    async def expect(self, prefix):
        def wait():
            with self.changed:
                found = self.changed.wait_for(
                    lambda: any(line.startswith(prefix) for line in self.lines), timeout=TIMEOUT
                )
                assert found, f"no {prefix!r} in {self.lines}"
                return next(line for line in self.lines if line.startswith(prefix))

        return await asyncio.to_thread(wait)


def test_listener_and_a_throwing_callback(mock):
    async def scenario():
        recorder = Recorder()
        socket = echo(mock, "listener", listener=recorder)
        await recorder.expect("open")
        socket.send("hello")
        await recorder.expect("message hello")
        socket.send("boom")
        failure = await recorder.expect("failed on_message")
        assert "listener boom" in failure
        socket.send("after")
        await recorder.expect("message after")
        with pytest.raises(PartySocketError.EventsGoToListener):
            await socket.next_event()
        await socket.close()
        await recorder.expect("close 1000")
        await recorder.expect("closed")

    run(scenario())


def test_next_event_after_a_cancelled_reader(mock):
    async def scenario():
        socket = echo(mock, "cancel")
        await socket.opened()

        async def read_all():
            async for _ in socket:
                pass

        reader = asyncio.ensure_future(read_all())
        await asyncio.sleep(0.3)
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(reader, 5)
        assert socket.send("after cancel") == SendOutcome.SENT()
        await next_text(socket, "after cancel")
        await socket.close()

    run(scenario())


def test_pause_keeps_the_id_and_the_queue_and_resume_delivers_it_once(mock):
    async def scenario():
        room = unique_room("pause")
        socket = PartySocket.connect(mock.host, party="echo", room=room)
        await socket.opened()
        connection_id = socket.id
        socket.pause()
        close = await next_matching(socket, "the close", lambda e: isinstance(e, Event.CLOSE))
        assert close.frame.code == 1000
        assert socket.send("while paused") == SendOutcome.QUEUED()
        socket.resume()
        reopened = await next_matching(socket, "the reopen", lambda e: isinstance(e, Event.OPEN))
        assert f"_pk={connection_id}" in reopened.url
        await next_text(socket, "while paused")
        log = mock.log("echo", room)
        received = [m["message"]["data"] for r in log["received"] for m in r["messages"]]
        assert received.count("while paused") == 1, received
        await socket.close()

    run(scenario())


class Sleepy(PartySocketListener):
    """Sleeps 2 s in every on_message."""

    def on_open(self, url, protocol):
        pass

    def on_message(self, message):
        import time

        time.sleep(2)

    def on_close(self, frame, was_clean):
        pass

    def on_error(self, error, description):
        pass

    def on_state_change(self, state):
        pass


def test_sleeping_listeners_delay_no_other_socket(mock):
    async def scenario():
        import time

        sleepers = [echo(mock, f"sleepy-{i}", listener=Sleepy()) for i in range(2)]
        probe = echo(mock, "probe")
        await probe.opened()
        for sleeper in sleepers:
            await sleeper.opened()
            sleeper.send("sleep")
        await asyncio.sleep(0.2)
        started = time.monotonic()
        probe.send("ping through")
        await next_text(probe, "ping through")
        took = time.monotonic() - started
        assert took < 1.0, f"the echo took {took:.2f} s while two listeners slept"
        for socket in (probe, *sleepers):
            await socket.close()

    run(scenario())
