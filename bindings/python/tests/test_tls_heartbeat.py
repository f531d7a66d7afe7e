"""Root certificates for a development server's CA (a TLS party-mock), and the
application-level heartbeat."""

import asyncio
import os
from pathlib import Path

import pytest

from conftest import unique_room
from partysocket import Event, Heartbeat, Message, PartySocket, PartySocketError, Protocol, text_of


def tls_mock():
    host = os.environ.get("PARTY_MOCK_TLS_HOST")
    ca = os.environ.get("PARTY_MOCK_CA_PEM")
    assert host and ca, "set PARTY_MOCK_TLS_HOST and PARTY_MOCK_CA_PEM (cargo xtask test bindings does)"
    return host, Path(ca).read_text()


def test_a_development_ca_given_as_pem_is_trusted():
    host, pem = tls_mock()

    async def scenario():
        untrusted = PartySocket.connect(host, party="echo", room=unique_room("tls"), protocol=Protocol.WSS, max_retries=0)
        with pytest.raises(PartySocketError.Stopped):
            await asyncio.wait_for(untrusted.opened(), 10)
        async with PartySocket.connect(
            host, party="echo", room=unique_room("tls"), protocol=Protocol.WSS, root_certificates_pem=[pem]
        ) as socket:
            await asyncio.wait_for(socket.opened(), 10)
            assert socket.url.startswith("wss://")
            socket.send("over tls")
            async for event in socket:
                if isinstance(event, Event.MESSAGE) and text_of(event.message) == "over tls":
                    break

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_path_instead_of_pem_names_the_option():
    with pytest.raises(PartySocketError.InvalidOptions, match=r"root_certificates_pem\[0\]"):
        PartySocket.connect("127.0.0.1:1", room="x", root_certificates_pem=["/etc/ssl/dev-ca.pem"])


def test_application_pings_are_answered_and_the_answers_not_delivered(mock):
    async def scenario():
        room = unique_room("heartbeat")
        hb = Message.TEXT(text="hb")
        socket = PartySocket.connect(
            mock.host, party="echo", room=room, heartbeat=Heartbeat(interval_ms=100, timeout_ms=400, ping=hb, pong=hb)
        )
        await asyncio.wait_for(socket.opened(), 10)

        async def trouble():
            async for event in socket:
                if isinstance(event, Event.MESSAGE) and text_of(event.message) == "hb":
                    return "a pong was delivered"
                if isinstance(event, (Event.CLOSE, Event.ERROR)):
                    return f"{event}"
            return "the events ended"

        with pytest.raises(asyncio.TimeoutError):
            problem = await asyncio.wait_for(trouble(), 1.0)
            raise AssertionError(problem)
        log = mock.log("echo", room)
        pings = [m for r in log["received"] for m in r["messages"] if m["message"].get("data") == "hb"]
        assert len(pings) >= 3, f"the server received {len(pings)} pings in a second"
        await socket.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))
