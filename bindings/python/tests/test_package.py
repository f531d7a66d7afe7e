"""The installed package: where it comes from, its typing marker, reprs without secrets,
and an interpreter that exits with sockets open."""

import asyncio
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import partysocket
from conftest import unique_room
from partysocket import Event, OptionsUpdate, PartySocket, PartySocketOptions, redact_url

EXITS = 50
EXIT_TIME = 60


def test_imported_from_the_installed_wheel():
    package = Path(partysocket.__file__).resolve().parent
    assert Path(sys.prefix).resolve() in package.parents, f"{package} is not installed in {sys.prefix}"
    assert (package / "py.typed").is_file()
    libraries = list((package / "partysocket_ffi").glob("libpartysocket_ffi.*"))
    assert libraries, f"no native library in {package / 'partysocket_ffi'}"


def test_reprs_redact_query_and_header_values():
    url = "wss://example.test/parties/main/lobby?_pk=abc&token=s3cret&name=ada"
    assert redact_url(url) == "wss://example.test/parties/main/lobby?_pk=abc&token=REDACTED&name=REDACTED"
    opened = Event.OPEN(url=url, protocol=None)
    for shown in (repr(opened), str(opened), f"{opened}"):
        assert "s3cret" not in shown and "ada" not in shown, shown
        assert "_pk=abc" in shown, shown
    options = PartySocketOptions(
        host="example.test", room="lobby", query={"token": "s3cret"}, headers={"Authorization": "Bearer s3cret"}
    )
    for shown in (repr(options), str(options)):
        assert "s3cret" not in shown, shown
        assert "token" in shown and "Authorization" in shown and "lobby" in shown, shown
    update = OptionsUpdate(query={"token": "n3w"})
    assert "n3w" not in repr(update), repr(update)


def test_socket_repr_redacts_its_url(mock):
    async def scenario():
        room = unique_room("repr")
        async with PartySocket.connect(mock.host, party="echo", room=room, query={"token": "s3cret"}) as socket:
            await socket.opened()
            assert "token=s3cret" in socket.url
            shown = repr(socket)
            assert "s3cret" not in shown and "token=REDACTED" in shown, shown

    asyncio.run(asyncio.wait_for(scenario(), 30))


#: Ends with three sockets open: one with a listener receiving echoes, one whose reader
#: task is still waiting, and one that nobody reads; echoes are still arriving.
EXIT_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from partysocket import PartySocket, PartySocketListener

    class Listener(PartySocketListener):
        def on_open(self, url, protocol): pass
        def on_message(self, message): pass
        def on_close(self, frame, was_clean): pass
        def on_error(self, error, description): pass
        def on_state_change(self, state): pass

    host, room = sys.argv[1], sys.argv[2]
    listened = PartySocket.connect(host, party="echo", room=room, listener=Listener())
    read = PartySocket.connect(host, party="echo", room=room)
    unread = PartySocket.connect(host, party="echo", room=room)

    async def main():
        await read.opened()
        await unread.opened()
        async def reader():
            async for _ in read:
                pass
        asyncio.ensure_future(reader())
        # Enough that echoes still arrive while the interpreter finalizes: without the
        # exit hook about one run in three aborted ("FATAL: exception not rethrown").
        for index in range(2000):
            listened.send(f"to the listener {index}")
            read.send(f"to the reader {index}")
            unread.send(f"to nobody {index}")
        await asyncio.sleep(0.001)

    asyncio.run(main())
    keep = (listened, read, unread)
    """
)


def test_exiting_with_open_sockets_exits_cleanly(mock, tmp_path):
    script = tmp_path / "exit_with_open_sockets.py"
    script.write_text(EXIT_SCRIPT)

    def run(index):
        return subprocess.run(
            [sys.executable, str(script), mock.host, unique_room(f"exit-{index}")],
            capture_output=True,
            text=True,
            timeout=EXIT_TIME,
            env={**os.environ, "PYTHONFAULTHANDLER": "1"},
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = list(pool.map(run, range(EXITS)))
    failures = [(index, r.returncode, r.stderr[-2000:]) for index, r in enumerate(runs) if r.returncode != 0]
    assert not failures, f"{len(failures)} of {EXITS} runs failed; first: {failures[0]}"
    fatal = [r.stderr for r in runs if "FATAL" in r.stderr or "Fatal Python error" in r.stderr]
    assert not fatal, fatal[0][-2000:]
