"""The Python bindings against real processes: a redis-server on a free
port, two wschannels server processes (test/helpers/layer_server.c), and
python3-websockets clients. Needs WSC_LAYER_SERVER_BIN and the built
package on PYTHONPATH (ctest sets both)."""
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import websockets

wschannels = pytest.importorskip("wschannels")
SERVER = os.environ.get("WSC_LAYER_SERVER_BIN", "build/test/wst_layer_server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis():
    port, tmp = free_port(), tempfile.mkdtemp()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", tmp,
                             "--logfile", os.path.join(tmp, "redis.log")])
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout:
            break
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0", proc, port, tmp
    proc.kill()
    proc.wait()


def config(url, driver, prefix, extra=""):
    return json.dumps(json.loads(
        '{"layers": {"L": {"driver": "%s", "url": "%s", "prefix": "%s"%s}},'
        ' "routes": [{"path": "/ws/chat", "consumer": "chat"},'
        '            {"path": "/ws/other", "consumer": "other"}],'
        ' "consumers": {"chat": {"layer": "L", "groups": ["lobby"]},'
        '               "other": {"layer": "L", "groups": ["elsewhere"]}}}'
        % (driver, url, prefix, extra)))


class Server:
    def __init__(self, cfg):
        self.proc = subprocess.Popen([SERVER, "L", cfg], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("PORT "), line
        self.url = f"ws://127.0.0.1:{int(line.split()[1])}/ws/chat"

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(timeout=10) == 0


def run_against(servers, go, timeout=60):
    """Runs the test's coroutine, bounded, then stops its servers."""
    try:
        asyncio.run(asyncio.wait_for(go(), timeout))
    finally:
        for s in servers:
            s.stop()


async def settle(layer, clients, group="lobby"):
    """Group joins travel through Redis: broadcast until every client has one."""
    for i in range(100):
        await layer.group_send(group, {"action": "told", "payload": f"sync{i}"})
        ok = True
        for c in clients:
            try:
                while json.loads(await asyncio.wait_for(c.recv(), 0.2))["payload"] != f"sync{i}":
                    pass
            except asyncio.TimeoutError:
                ok = False
        if ok:
            for c in clients:  # drain retries that landed late
                while True:
                    try:
                        await asyncio.wait_for(c.recv(), 0.2)
                    except asyncio.TimeoutError:
                        break
            return
    raise AssertionError("clients never all received a broadcast")


async def group_round_trip(layer, channel, ws):
    await layer.group_add("vip", channel)
    await layer.group_send("vip", {"action": "told", "payload": "vip only"})
    assert json.loads(await ws.recv())["payload"] == "vip only"
    layer.group_discard_sync("vip", channel)
    layer.group_send_sync("vip", {"action": "told", "payload": "gone"})
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(ws.recv(), 0.3)


@pytest.mark.parametrize("driver", ["redis_pubsub", "redis"])
def test_script_reaches_the_right_clients(redis, driver, tmp_path):
    url = redis[0]
    cfg = config(url, driver, "py_" + driver)
    path = tmp_path / "app.json"
    path.write_text(cfg)
    a, b = Server(cfg), Server(cfg)

    async def go():
        app = wschannels.load_config(str(path))
        chat = app.consumer("chat")
        assert (chat.layer_alias, chat.groups) == ("L", ["lobby"])
        clients = [await websockets.connect(s.url) for s in (a, a, b)]
        # A client of another consumer, on the same layer, in each process.
        outsiders = [await websockets.connect(s.url.replace("/ws/chat", "/ws/other"))
                     for s in (a, b)]
        await settle(app.layer("L"), clients)
        # A broadcast to the consumer's groups: its handler's output, once,
        # on both processes; nothing for another consumer's clients.
        chat.broadcast_event_sync({"action": "told", "payload": "hello"})
        for ws in clients:
            assert json.loads(await ws.recv()) == {"action": "told", "payload": "hello"}
        for ws in outsiders:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.3)
        # ...which its own consumer's broadcasts do reach.
        await settle(app.layer("L"), outsiders, "elsewhere")
        app.consumer("other").broadcast_event_sync({"action": "told", "payload": "yours"})
        for ws in outsiders:
            assert json.loads(await ws.recv()) == {"action": "told", "payload": "yours"}
        # A worker answers one client by channel name, learned from a handler.
        await clients[2].send('{"action":"whoami"}')
        channel = json.loads(await clients[2].recv())["payload"]
        await chat.send_event({"action": "told", "payload": "yours"}, channel)
        assert json.loads(await clients[2].recv())["payload"] == "yours"
        for ws in clients[:2]:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.2)
        # A script puts one client in a group of its own, then reaches it there
        # (queue layer; Pub/Sub groups hold only a process's own channels, as
        # in Django's RedisPubSubChannelLayer).
        layer = app.layer("L")
        if driver == "redis_pubsub":
            with pytest.raises(ValueError, match="only this process's channels"):
                await layer.group_add("vip", channel)
        else:
            await group_round_trip(layer, channel, clients[2])
        with pytest.raises(wschannels.BadName):
            layer.group_add_sync("bad group!", channel)
        # 1,000 concurrent asyncio sends; the event loop keeps running.
        ticks = 0

        async def heartbeat():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        hb = asyncio.create_task(heartbeat())
        await asyncio.gather(*(chat.send_event({"action": "told", "payload": str(i)}, channel)
                               for i in range(1000)))
        got = [json.loads(await clients[2].recv())["payload"] for _ in range(1000)]
        hb.cancel()
        assert sorted(got, key=int) == [str(i) for i in range(1000)]
        # The heartbeat's timer fired again while sends were in flight: the
        # loop was not blocked. (How often depends on the machine: the
        # receive loop keeps it busy, so only more than once is asserted.)
        assert ticks > 1
        for ws in clients + outsiders:
            await ws.close()
        app.close()

    run_against([a, b], go)


@pytest.mark.parametrize("driver", ["redis_pubsub", "redis"])
def test_a_burst_of_sends_waits_for_room(redis, driver):
    """More sends at once than max_pending_bytes lets wait for Redis to
    catch up, in order, instead of failing: an awaited send is backpressure."""
    cfg = config(redis[0], driver, "py_burst_" + driver, ', "max_pending_bytes": 65536')
    server = Server(cfg)

    async def go():
        app = wschannels.Config(cfg)
        layer = app.layer("L")
        ws = await websockets.connect(server.url, max_queue=None)
        await settle(layer, [ws])
        n = 3000  # about 20 times what fits in 64 KiB
        await asyncio.gather(*(layer.group_send("lobby", {"action": "told", "payload": str(i)})
                               for i in range(n)))
        got = [json.loads(await ws.recv())["payload"] for _ in range(n)]
        assert got == [str(i) for i in range(n)]
        await ws.close()
        app.close()

    run_against([server], go)


# A worker pool that forks after the parent opened its layer (Celery's
# prefork pool, gunicorn --preload, multiprocessing): the child sends through
# the objects it inherited, blocking and awaited, and exits normally; the
# parent's layer keeps working. Each prints what went wrong, if anything.
FORKING_WORKER = """
import asyncio, os, sys, time, wschannels
app = wschannels.Config(sys.argv[1])
layer = app.layer("L")
layer.group_send_sync("lobby", {"action": "told", "payload": "parent before"})
pid = os.fork()
if pid == 0:
    layer.group_send_sync("lobby", {"action": "told", "payload": "child blocking"})
    asyncio.run(layer.group_send("lobby", {"action": "told", "payload": "child awaited"}))
    app.consumer("chat").broadcast_event_sync({"action": "told", "payload": "child consumer"})
    sys.exit(0)  # through atexit, which closes what it inherited too
deadline = time.monotonic() + 20
while time.monotonic() < deadline and os.waitpid(pid, os.WNOHANG)[0] == 0:
    time.sleep(0.05)
if time.monotonic() >= deadline:
    os.kill(pid, 9)
    sys.exit("the child did not finish in 20 s")
layer.group_send_sync("lobby", {"action": "told", "payload": "parent after"})
"""


@pytest.mark.parametrize("driver", ["redis_pubsub", "redis"])
def test_a_forked_worker_sends_through_what_its_parent_opened(redis, driver):
    cfg = config(redis[0], driver, "py_fork_" + driver)
    server = Server(cfg)

    async def go():
        app = wschannels.Config(cfg)
        ws = await websockets.connect(server.url)
        await settle(app.layer("L"), [ws])
        proc = await asyncio.create_subprocess_exec(
            os.environ.get("WSC_PYTHON", "/usr/bin/python3"), "-c", FORKING_WORKER, cfg,
            stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 40)
        assert proc.returncode == 0, err.decode()
        got = [json.loads(await asyncio.wait_for(ws.recv(), 5))["payload"] for _ in range(5)]
        assert got == ["parent before", "child blocking", "child awaited", "child consumer",
                       "parent after"]
        await ws.close()
        app.close()

    run_against([server], go)


@pytest.mark.parametrize("driver", ["redis_pubsub", "redis"])
def test_command_line_sender(redis, driver, tmp_path):
    url = redis[0]
    cfg = config(url, driver, "py_cli_" + driver)
    path = tmp_path / "app.json"
    path.write_text(cfg)
    srv = Server(cfg)

    # The command beside the package: build/bindings/wschannels-send in a
    # build tree (the install test runs the installed one).
    script = os.path.join(os.path.dirname(os.path.dirname(wschannels.__file__)),
                          "wschannels-send")

    def send(*args):
        return subprocess.run([os.environ.get("WSC_PYTHON", "/usr/bin/python3"), script,
                               "--config", str(path), *args],
                              capture_output=True, text=True, timeout=30)

    async def go():
        app = wschannels.load_config(str(path))
        ws = await websockets.connect(srv.url)
        await settle(app.layer("L"), [ws])
        # As a cron job meets a Redis restarted since the server started:
        # the queue layer's scripts are not in it, and the command's first
        # send is made before its connection is up.
        subprocess.run(["redis-cli", "-p", str(redis[2]), "SCRIPT", "FLUSH"], check=True,
                       capture_output=True)
        r = send("--consumer", "chat", "--repeat", "3", "--interval", "0.1",
                 '{"action":"told","payload":"📢 notice"}')
        assert r.returncode == 0, r.stderr
        for _ in range(3):
            assert json.loads(await ws.recv()) == {"action": "told", "payload": "📢 notice"}
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)
        await ws.close()
        app.close()

    run_against([srv], go, 30)
    r = send("--consumer", "chat", "{not json")
    assert r.returncode == 2 and "not JSON" in r.stderr
    r = send("--consumer", "ghost", '{"action":"a"}')
    assert r.returncode == 1 and "ghost" in r.stderr
    r = send("--consumer", "chat", '{"payload":1}')
    assert r.returncode == 1 and "action" in r.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(config("redis://:pw@127.0.0.1:1/0", "redis_pubsub", "x"))
    r = subprocess.run([os.environ.get("WSC_PYTHON", "/usr/bin/python3"), "-m", "wschannels.cli",
                        "--config", str(bad), "--consumer", "chat", '{"action":"a"}'],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "redis://:***@127.0.0.1:1/0" in r.stderr and "pw@" not in r.stderr


def test_the_source_trees_package_says_where_the_built_one_is():
    source = os.path.join(os.path.dirname(__file__), "..", "..", "bindings")
    r = subprocess.run([os.environ.get("WSC_PYTHON", "/usr/bin/python3"), "-c",
                        "import wschannels"], capture_output=True, text=True, timeout=30,
                       env={**os.environ, "PYTHONPATH": source})
    assert r.returncode == 1
    assert "no compiled module _wschannels" in r.stderr and "build/bindings" in r.stderr


@pytest.mark.parametrize("driver", ["redis_pubsub", "redis"])
def test_a_send_given_up_on_with_its_loop_closed_is_quiet(redis, driver):
    """A script that stops waiting for a send (asyncio.wait_for) and ends its
    event loop: the layer still carries the send out, and its outcome, with
    nobody left to await it, makes no 'Event loop is closed' traceback (the
    noise channels_redis users know from async_to_sync)."""
    app = wschannels.Config(config(redis[0], driver, "py_gone_" + driver))
    layer = app.layer("L")
    ignored = []
    hook, sys.unraisablehook = sys.unraisablehook, ignored.append
    try:
        for _ in range(20):
            with pytest.raises(asyncio.TimeoutError):
                asyncio.run(asyncio.wait_for(layer.group_send("lobby", {"action": "a"}), 1e-6))
        layer.group_send_sync("lobby", {"action": "a"})  # answered after all of them
    finally:
        sys.unraisablehook = hook
    app.close()
    assert [str(u.exc_value) for u in ignored] == []


# Last: it shuts the shared redis-server down.
def test_errors_are_exceptions(redis):
    url, proc, port, tmp = redis
    app = wschannels.Config(config(url, "redis", "py_err", ', "capacity": 2'))
    layer = app.layer("L")
    with pytest.raises(TypeError):
        layer.send_sync("x", ["not", "a", "dict"])
    with pytest.raises(ValueError):
        layer.send_sync("x", {"payload": "no action"})
    with pytest.raises(TypeError):
        layer.send_sync("x", {"action": "a", "payload": object()})
    with pytest.raises(wschannels.BadName) as e:
        layer.send_sync("bad name", {"action": "a"})
    assert e.value.name == "WSC_EBADNAME"
    layer.send_sync("nobody", {"action": "a"})
    layer.send_sync("nobody", {"action": "a"})
    with pytest.raises(wschannels.ChannelFull, match="channel 'nobody' is full"):
        layer.send_sync("nobody", {"action": "a"})
    # Each of them is counted: the bad name refused at once, the full
    # channel failed by Redis's answer.
    assert layer.stats() == {"sends_taken": 3, "sends_ok": 2, "sends_failed": 1,
                             "sends_refused": 1, "sends_pending": 0, "sends_waiting": 0,
                             "dropped": 0, "backend_up": True}
    with pytest.raises(wschannels.UnknownAlias):
        app.consumer("ghost")
    with pytest.raises(wschannels.UnknownAlias):
        app.layer("ghost")
    with pytest.raises(wschannels.LayerUnavailable, match=r"redis://:\*\*\*@127\.0\.0\.1:1/0"):
        wschannels.Config(config("redis://:secret@127.0.0.1:1/0", "redis", "x")).layer("L")
    with pytest.raises(wschannels.ConfigError, match="layers.L.bogus"):
        wschannels.Config(config(url, "redis", "x", ', "bogus": 1')).layer("L")
    # Redis dies mid-run: a clean exception, no hang.
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)
    deadline = time.time() + 10
    # Either "unreachable" or, when a send races the shutdown, "lost the
    # connection ... before it answered": both name the server.
    with pytest.raises(wschannels.LayerUnavailable, match=f"Redis at {url}"):
        while time.time() < deadline:
            layer.send_sync("nobody2", {"action": "a"})
            time.sleep(0.05)
    assert layer.stats()["backend_up"] is False
    app.close()
    with pytest.raises(wschannels.LayerClosed):
        layer.send_sync("x", {"action": "a"})
