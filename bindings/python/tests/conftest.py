"""The running party-mock (its address in PARTY_MOCK_HOST) and its control surface."""

import itertools
import json
import os
import time
import urllib.request

import pytest


class Mock:
    def __init__(self, host: str):
        self.host = host

    def request(self, method: str, path: str) -> str:
        request = urllib.request.Request(f"http://{self.host}{path}", method=method)
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.read().decode()

    def post(self, path: str) -> str:
        return self.request("POST", path)

    def log(self, party: str, room: str) -> dict:
        return json.loads(self.request("GET", f"/_mock/log?party={party}&room={room}"))


_rooms = itertools.count()


def unique_room(name: str) -> str:
    return f"py-{name}-{time.monotonic_ns()}-{next(_rooms)}"


@pytest.fixture
def mock() -> Mock:
    host = os.environ.get("PARTY_MOCK_HOST")
    assert host, "set PARTY_MOCK_HOST to a running party-mock's host:port (cargo xtask test bindings does)"
    server = Mock(host)
    server.post("/_mock/reset")
    return server
