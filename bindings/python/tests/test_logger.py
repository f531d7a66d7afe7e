"""The logger: the SDK's diagnostics at the installed level and above, redacted, on the
logger's own thread; a logger that raises does not break the socket."""

import asyncio
import threading

from conftest import unique_room
from partysocket import Event, LogLevel, PartySocket, PartySocketLogger, install_logger, remove_logger, text_of


class Collecting(PartySocketLogger):
    def __init__(self, failing=False):
        self.failing = failing
        self.lock = threading.Lock()
        self.records = []

    def log(self, record):
        with self.lock:
            self.records.append((record, threading.current_thread().name))
        if self.failing:
            raise RuntimeError("the logger broke")

    def snapshot(self):
        with self.lock:
            return list(self.records)

    async def wait_for(self, what, wanted):
        for _ in range(100):
            for record, _ in self.snapshot():
                if wanted(record):
                    return record
            await asyncio.sleep(0.05)
        raise AssertionError(f"no record {what}: {self.snapshot()}")


RANK = [LogLevel.TRACE, LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR]


def test_records_at_the_level_redacted_and_a_raising_logger_is_harmless(mock):
    async def scenario():
        # Info: the open is logged, the attempt (Debug) is not; the token is redacted.
        info = Collecting()
        install_logger(info, LogLevel.INFO)
        room = unique_room("logger-info")
        socket = PartySocket.connect(mock.host, party="echo", room=room, query={"token": "s3cret"})
        await asyncio.wait_for(socket.opened(), 10)
        opened = await info.wait_for("about the open", lambda r: room in r.message)
        assert opened.level == LogLevel.INFO, opened
        assert opened.target.startswith("partysocket"), opened
        assert "token=REDACTED" in opened.message, opened
        records = info.snapshot()
        assert all(RANK.index(r.level) >= RANK.index(LogLevel.INFO) for r, _ in records), records
        assert all("s3cret" not in r.message for r, _ in records), records
        # Not a Python thread of ours: the SDK's own logger thread (Python names it
        # Dummy-N, as it does every foreign thread).
        assert all(name != threading.main_thread().name for _, name in records), records
        await socket.close()

        # Debug, with a logger that raises on every record.
        failing = Collecting(failing=True)
        install_logger(failing, LogLevel.DEBUG)
        debug_room = unique_room("logger-debug")
        async with PartySocket.connect(mock.host, party="echo", room=debug_room) as second:
            await asyncio.wait_for(second.opened(), 10)
            connecting = await failing.wait_for(
                "about the attempt",
                lambda r: r.level == LogLevel.DEBUG and r.message.startswith("connecting") and debug_room in r.message,
            )
            assert connecting.target.startswith("partysocket"), connecting
            second.send("still")
            async for event in second:
                # The echo party greets first: wait for the echo itself.
                if isinstance(event, Event.MESSAGE) and text_of(event.message) == "still":
                    break
        remove_logger()

    asyncio.run(asyncio.wait_for(scenario(), 60))
