"""The per-attempt credentials provider: a token and an `Authorization` header rotated
on every attempt, seen in the mock's attempt log, a 401 recovered from without
application code, and a header that cannot be sent."""

import asyncio
import threading
import urllib.parse

import pytest

from conftest import unique_room
from partysocket import ConnectionState, Credentials, CredentialsProvider, Event, PartySocket, SocketFailure


class Tokens(CredentialsProvider):
    """Hands out token-1, token-2, ... one per attempt."""

    def __init__(self):
        self.lock = threading.Lock()
        self.issued = 0

    def credentials(self):
        with self.lock:
            self.issued += 1
            return Credentials(
                query={"token": f"token-{self.issued}"},
                headers={"Authorization": f"Bearer header-{self.issued}"},
            )


def tokens_seen(mock, room):
    log = mock.log("echo", room)
    seen = []
    for attempt in log["attempts"]:
        if attempt.get("kind") != "websocket":
            continue
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(attempt["url"]).query)
        seen.append((query.get("token") or [None])[0])
    return seen


def authorizations_seen(mock, room):
    log = mock.log("echo", room)
    return [
        [value for name, value in attempt["headers"] if name.lower() == "authorization"]
        for attempt in log["attempts"]
        if attempt.get("kind") == "websocket"
    ]


def test_a_token_per_attempt_and_a_401_recovered_from(mock):
    async def scenario():
        room = unique_room("credentials")
        tokens = Tokens()
        socket = PartySocket.connect(
            mock.host,
            party="echo",
            room=room,
            query={"client": "py", "token": "static"},
            headers={"authorization": "Bearer static"},
            credentials=tokens,
            min_reconnection_delay_ms=100,
            max_reconnection_delay_ms=200,
        )

        async def next_matching(predicate):
            async for event in socket:
                if predicate(event):
                    return event
            raise AssertionError("the events ended")

        opened = await asyncio.wait_for(next_matching(lambda e: isinstance(e, Event.OPEN)), 10)
        assert "token=token-1" in opened.url and "client=py" in opened.url, opened.url

        # The server refuses the next handshake with 401: the socket asks for a new token
        # and connects again on its own.
        mock.post("/_mock/refuse?count=1&status=401")
        socket.reconnect()
        refused = await asyncio.wait_for(next_matching(lambda e: isinstance(e, Event.ERROR)), 10)
        assert refused.error == SocketFailure.HANDSHAKE_REJECTED(status=401, retry_after_ms=None)
        reopened = await asyncio.wait_for(next_matching(lambda e: isinstance(e, Event.OPEN)), 10)
        assert "token=token-3" in reopened.url, reopened.url
        assert socket.connection_state == ConnectionState.OPEN()
        # The mock logs an attempt as it answers it: wait for the third.
        for _ in range(50):
            if len(tokens_seen(mock, room)) >= 3:
                break
            await asyncio.sleep(0.1)
        assert tokens_seen(mock, room) == ["token-1", "token-2", "token-3"]
        # The provider's header replaced the static one on every attempt.
        assert authorizations_seen(mock, room) == [["Bearer header-1"], ["Bearer header-2"], ["Bearer header-3"]]
        await socket.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))


class Broken(CredentialsProvider):
    def __init__(self):
        self.calls = 0

    def credentials(self):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("token service down")
        return Credentials(query={"token": "late"}, headers={})


def test_a_failing_provider_fails_the_attempt_and_is_asked_again(mock):
    async def scenario():
        room = unique_room("credentials-broken")
        provider = Broken()
        socket = PartySocket.connect(
            mock.host, party="echo", room=room, credentials=provider, min_reconnection_delay_ms=100
        )
        failure = None
        async for event in socket:
            if isinstance(event, Event.ERROR) and failure is None:
                failure = event
            if isinstance(event, Event.OPEN):
                assert "token=late" in event.url
                break
        assert failure is not None and "token service down" in failure.description, failure
        await socket.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))


class Injecting(CredentialsProvider):
    """A header with a line break first, then a good one."""

    def __init__(self):
        self.calls = 0

    def credentials(self):
        self.calls += 1
        value = "Bearer a\r\nX-Evil: 1" if self.calls == 1 else "Bearer ok"
        return Credentials(query={}, headers={"Authorization": value})


def test_a_header_that_cannot_be_sent_fails_the_attempt_naming_it(mock):
    async def scenario():
        room = unique_room("credentials-header")
        socket = PartySocket.connect(
            mock.host, party="echo", room=room, credentials=Injecting(), min_reconnection_delay_ms=100
        )
        failure = None
        async for event in socket:
            if isinstance(event, Event.ERROR) and failure is None:
                failure = event
            if isinstance(event, Event.OPEN):
                break
        assert failure is not None, "no error event"
        assert isinstance(failure.error, SocketFailure.INVALID_HEADER), failure
        assert failure.error.name == "Authorization", failure
        assert "control characters" in failure.error.message, failure
        for _ in range(50):
            if authorizations_seen(mock, room):
                break
            await asyncio.sleep(0.1)
        assert authorizations_seen(mock, room) == [["Bearer ok"]]
        await socket.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))


class SlowTokens(CredentialsProvider):
    """An async provider: fails its first call, then hands out header-2, header-3, ...
    It records the loop it runs on."""

    def __init__(self):
        self.calls = 0
        self.loops = set()

    async def credentials(self):
        self.calls += 1
        call = self.calls
        self.loops.add(asyncio.get_running_loop())
        await asyncio.sleep(0.05)
        if call == 1:
            raise RuntimeError("token service down")
        return Credentials(query={}, headers={"Authorization": f"Bearer header-{call}"})


def test_an_async_def_provider_runs_on_the_loop_per_attempt(mock):
    async def scenario():
        room = unique_room("credentials-async")
        tokens = SlowTokens()
        socket = PartySocket.connect(
            mock.host,
            party="echo",
            room=room,
            credentials=tokens,
            min_reconnection_delay_ms=100,
            max_reconnection_delay_ms=200,
        )
        failure = None
        async for event in socket:
            if isinstance(event, Event.ERROR) and failure is None:
                failure = event
            if isinstance(event, Event.OPEN):
                break
        assert failure is not None and "token service down" in failure.description, failure
        socket.reconnect()
        async for event in socket:
            if isinstance(event, Event.OPEN):
                break
        for _ in range(50):
            if len(authorizations_seen(mock, room)) >= 2:
                break
            await asyncio.sleep(0.1)
        assert authorizations_seen(mock, room) == [["Bearer header-2"], ["Bearer header-3"]]
        assert tokens.calls == 3
        assert tokens.loops == {asyncio.get_running_loop()}
        await socket.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_an_async_def_provider_needs_a_running_loop():
    with pytest.raises(TypeError, match="event loop"):
        PartySocket.connect("127.0.0.1:9", room="r", credentials=SlowTokens(), start_closed=True)
