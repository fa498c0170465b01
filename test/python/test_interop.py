"""Interoperability with a real third-party client: python3-websockets talks
to the examples/echo server process over loopback. The server writes frames
pre-framed in raw writes, so this proves a strict client parses them (7-, 16-
and 64-bit lengths, UTF-8), and that refusals are valid HTTP."""
import asyncio
import json
import os
import re
import signal
import subprocess

import pytest
import websockets

ECHO = os.environ.get("WSC_ECHO_BIN", "build/examples/echo")


@pytest.fixture
def server():
    proc = subprocess.Popen([ECHO, "0"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
    yield f"ws://127.0.0.1:{port}"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def test_frames_of_every_length_parse(server):
    async def go():
        async with websockets.connect(server + "/ws/echo", max_size=None) as ws:
            await ws.send('{"action":"ping"}')
            assert json.loads(await ws.recv()) == {"action": "pong", "payload": None}
            for size in (10, 125, 126, 1000, 65535, 65536, 200_000):
                text = ("💬é" * size)[:size]
                await ws.send(json.dumps({"action": "echo", "payload": {"text": text}},
                                      ensure_ascii=False))
                assert json.loads(await ws.recv()) == {
                    "action": "echo", "payload": {"text": text}}
    run(go())


def test_broadcast_reaches_every_client(server):
    async def go():
        clients = [await websockets.connect(server + "/ws/echo") for _ in range(20)]
        for c in clients:  # all joined
            await c.send('{"action":"ping"}')
            await c.recv()
        await clients[0].send('{"action":"shout","payload":{"text":"hi"}}')
        for c in clients:
            assert json.loads(await c.recv()) == {
                "action": "shout", "payload": {"text": "📣 hi"}}
        for c in clients:
            await c.close()
    run(go())


def test_unknown_path_is_a_valid_404(server):
    async def go():
        with pytest.raises(websockets.InvalidStatusCode) as e:
            async with websockets.connect(server + "/ws/nowhere"):
                pass
        assert e.value.status_code == 404
    run(go())


def test_errors_and_close_codes(server):
    async def go():
        async with websockets.connect(server + "/ws/echo") as ws:
            await ws.send("{oops")
            err = json.loads(await ws.recv())
            assert err["action"] == "error"
            assert err["payload"][0]["type"] == "json_invalid"
            await ws.send('{"action":"ping"}')
            assert json.loads(await ws.recv())["action"] == "pong"
            await ws.send("x" * (2 << 20))
            with pytest.raises(websockets.ConnectionClosed) as e:
                await ws.recv()
            assert e.value.rcvd.code == 1009
    run(go())
