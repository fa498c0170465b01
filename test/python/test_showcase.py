"""The showcase end to end: examples/showcase/run starts the real server, the
real worker and a private redis-server; python3-websockets clients play
every scenario of the three seeds; external_sender.py and send_notification
run as the seeds run them; headless Chromium uses the page in two tabs."""
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import websockets

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHOWCASE = os.path.join(ROOT, "examples", "showcase")
BUILD = os.environ.get("WSC_BUILD_DIR", os.path.join(ROOT, "build"))
JS_DIR = os.environ.get("WSC_JS_DIR", os.path.join(ROOT, "test", "js"))
# Our processes get the sanitizer runtime (ASan builds); Chromium and Node not.
TOOL_ENV = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}


class Launcher:
    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(SHOWCASE, "run"), "--port", "0", "--build", BUILD,
             *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={k: v for k, v in os.environ.items() if k != "REDIS_URL"},
            start_new_session=True)  # a process group of its own, as in a terminal
        self.lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            m = re.search(r"Open http://localhost:(\d+)/", line)
            if m:
                self.port = int(m.group(1))
                break
        else:
            self.proc.kill()
        assert hasattr(self, "port"), "".join(self.lines)
        m = re.search(r"Redis at (redis://\S+)", "".join(self.lines))
        self.redis_url = m.group(1) if m else None
        self.http = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}"

    def children(self):
        """The launcher's child processes, read from /proc."""
        kids = []
        for entry in os.listdir("/proc"):
            fields = _stat(entry) if entry.isdigit() else None
            if fields and int(fields[1]) == self.proc.pid and fields[0] != "Z":
                kids.append(int(entry))
        return kids

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)

    def ctrl_c(self):
        """What a terminal does on Ctrl-C: SIGINT to the foreground process
        group, the launcher's. Returns its exit code and what it printed."""
        os.killpg(self.proc.pid, signal.SIGINT)
        code = self.proc.wait(timeout=30)
        return code, self.proc.stdout.read()


@pytest.fixture(scope="module")
def showcase():
    s = Launcher()
    assert s.redis_url, "the launcher should start a private Redis (redis-server is installed)"
    yield s
    kids = s.children()
    assert len(kids) == 3
    code, out = s.ctrl_c()
    # The worker, the server and Redis stop in that order, so none of them
    # sees another vanish and complains on the way out.
    assert code == 0 and "❌" not in out, out
    assert not [pid for pid in kids if _running(pid)]  # gone with it


def _stat(pid):
    """/proc/PID/stat's fields after "(comm) ": state, ppid, ...; None once gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()


def _running(pid):
    """Neither gone nor a zombie."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def recv(ws, timeout=5):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def silent(ws, seconds=0.5):
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(ws.recv(), seconds)


async def drain(ws, seconds=0.3):
    """Everything that arrives until `seconds` of silence."""
    got = []
    while True:
        try:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), seconds)))
        except asyncio.TimeoutError:
            return got


def room_note(text, room):
    return {"action": "room_notification", "payload": {"message": text, "room_name": room}}


def test_room_chat_join_leave_and_isolation(showcase):
    async def go():
        a = await websockets.connect(showcase.ws + "/ws/room/lobby")
        # a's own join notice is published through Redis; once a message a
        # sends after it comes back, the notice has passed (b must not get it).
        await a.send(json.dumps({"action": "room_chat", "payload": {"message": "first"}}))
        assert await recv(a) == room_note("💬 first", "lobby")
        b = await websockets.connect(showcase.ws + "/ws/room/lobby")
        assert await recv(a) == room_note("🚪 Someone joined room 'lobby'", "lobby")
        await silent(b, 0.3)  # exclude_current: not its own join
        c = await websockets.connect(showcase.ws + "/ws/room/other")
        await b.send(json.dumps({"action": "room_chat", "payload": {"message": "hi lobby"}}))
        for ws in (a, b):
            assert await recv(ws) == room_note("💬 hi lobby", "lobby")
        await c.send(json.dumps({"action": "room_chat", "payload": {"message": "hi other"}}))
        assert await recv(c) == room_note("💬 hi other", "other")
        await silent(a, 0.3)
        await silent(b, 0.1)
        await b.close()
        assert await recv(a) == room_note("👋 Someone left room 'lobby'", "lobby")
        await silent(c, 0.3)
        await a.send('{"action":"ping"}')
        assert await recv(a) == {"action": "pong", "payload": None}
        await a.close()
        await c.close()
    run(go())


def test_each_showcase_consumer_replies(showcase):
    async def go():
        chat = await websockets.connect(showcase.ws + "/ws/chat")
        assert await recv(chat) == {"action": "chat_notification",
                                    "payload": {"message": "📢 Someone joined the chat"}}
        await chat.send(json.dumps({"action": "chat", "payload": {"message": "hello"}}))
        assert await recv(chat) == {"action": "chat_notification",
                                    "payload": {"message": "💬 hello"}}
        reliable = await websockets.connect(showcase.ws + "/ws/reliable")
        assert await recv(reliable) == {"action": "reliable_chat_notification", "payload": {
            "message": "🔒 Reliable chat connection established!"}}
        await reliable.send(json.dumps({"action": "reliable_chat", "payload": {"message": "safe"}}))
        assert await recv(reliable) == {"action": "reliable_chat_notification",
                                        "payload": {"message": "📨 safe"}}
        notes = await websockets.connect(showcase.ws + "/ws/notifications")
        assert await recv(notes) == {"action": "notification_broadcast", "payload": {
            "type": "system", "message": "🔔 Connected to notifications!"}}
        await notes.send(json.dumps({"action": "notification", "payload": {"message": "ding"}}))
        assert await recv(notes) == {"action": "notification_broadcast", "payload": {
            "type": "user", "message": "🔔 Notification: ding"}}
        stats = await websockets.connect(showcase.ws + "/ws/analytics")
        await stats.send(json.dumps({"action": "analytics",
                                     "payload": {"event": "click", "data": {"x": 1}}}))
        assert await recv(stats) == {"action": "analytics_notification", "payload": {
            "event": "📊 Analytics: click", "data": {"x": 1}}}
        # Each consumer's own actions only, with the seeds' validation errors.
        await stats.send(json.dumps({"action": "chat", "payload": {"message": "x"}}))
        err = await recv(stats)
        assert err["payload"][0]["type"] == "union_tag_invalid"
        await chat.send(json.dumps({"action": "chat", "payload": {}}))
        assert await recv(chat) == {"action": "error", "payload": [
            {"type": "missing", "loc": ["chat", "payload", "message"], "msg": "Field required"}]}
        await reliable.close()
        await notes.close()
        await stats.close()
        await chat.close()
    run(go())


def test_external_sender_reaches_exactly_the_right_consumers(showcase):
    paths = {"chat": "/ws/chat", "reliable": "/ws/reliable",
             "notifications": "/ws/notifications", "analytics": "/ws/analytics",
             "room": "/ws/room/lobby", "system": "/ws/system"}

    async def go():
        clients = {k: await websockets.connect(showcase.ws + p) for k, p in paths.items()}
        for ws in clients.values():
            await drain(ws)  # the connect notices
        env = dict(os.environ, REDIS_URL=showcase.redis_url)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, os.path.join(SHOWCASE, "external_sender.py"), env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        got = {k: [] for k in clients}

        async def collect(name, ws):
            async for frame in ws:
                got[name].append(json.loads(frame))

        tasks = [asyncio.create_task(collect(k, ws)) for k, ws in clients.items()]
        out, _ = await proc.communicate()
        assert proc.returncode == 0, out.decode()
        assert "❌" not in out.decode()
        await asyncio.sleep(1.0)
        for t in tasks:
            t.cancel()
        for ws in clients.values():
            await ws.close()
        return got

    got = run(go())

    def chat_note(text):
        return {"action": "chat_notification", "payload": {"message": text}}

    assert got["chat"] == [chat_note("🔔 System announcement: Welcome to the chat!"),
                           chat_note("⏰ Hourly chat announcement #1"),
                           chat_note("⏰ Hourly chat announcement #3")]
    assert got["reliable"] == [chat_note("🔒 Important: System maintenance scheduled for tonight")]
    assert got["notifications"] == [
        {"action": "notification_broadcast",
         "payload": {"type": "system", "message": "🚨 Alert: High CPU usage detected on server"}},
        {"action": "notification_broadcast",
         "payload": {"type": "periodic", "message": "🔔 System status update #2"}}]
    assert got["analytics"] == [
        {"action": "analytics_notification", "payload": {"event": e, "data": None}}
        for e in ["user_login:john_doe", "page_view:/dashboard", "button_click:export_data",
                  "session_duration:1234", "error:api_timeout"]]
    assert got["room"] == [] and got["system"] == []


def test_jobs_answer_only_the_client_that_asked(showcase):
    async def go():
        a = await websockets.connect(showcase.ws + "/ws/system")
        b = await websockets.connect(showcase.ws + "/ws/system")
        await a.send(json.dumps({"action": "system_message",
                                 "payload": {"task_type": "translate", "content": "hello"}}))
        await b.send(json.dumps({"action": "system_message",
                                 "payload": {"task_type": "unknown_kind", "content": "hi there"}}))
        qa, qb = await recv(a), await recv(b)
        assert qa["action"] == qb["action"] == "job_queued"
        assert re.fullmatch(r"⏳ Job queued: translate for 'hello' \(ID: translate_\d+\)",
                            qa["payload"])
        assert qb["payload"].startswith("⏳ Job queued: unknown_kind for 'hi there' (ID: ")
        # The worker runs them (default: 1 s, translate: 2 s) and answers each
        # client on its own channel.
        assert await recv(b, 15) == {"action": "job_result", "payload": "✅ Processed: HI THERE"}
        assert await recv(a, 15) == {"action": "job_result",
                                     "payload": "🌐 Translated: 'hello' → 'hola'"}
        await silent(a)
        await silent(b, 0.1)
        await a.close()
        await b.close()
    run(go())


def test_send_notification_repeat_reaches_every_system_client(showcase):
    async def go():
        clients = [await websockets.connect(showcase.ws + "/ws/system") for _ in range(3)]
        await asyncio.sleep(0.2)  # joined the group
        env = dict(os.environ, REDIS_URL=showcase.redis_url)
        proc = await asyncio.create_subprocess_exec(
            os.path.join(SHOWCASE, "send_notification"), "🛠 Maintenance at 22:00 \"UTC\"",
            "--repeat", "3", "--interval", "0.2", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await proc.communicate()
        assert proc.returncode == 0, out.decode()
        want = {"action": "system_notification", "payload": "🛠 Maintenance at 22:00 \"UTC\""}
        for ws in clients:
            assert [await recv(ws) for _ in range(3)] == [want] * 3
            await silent(ws, 0.3)
            await ws.close()
    run(go())


def test_page_in_two_browser_tabs(showcase):
    node = shutil.which("node")
    assert node and shutil.which("chromium"), "node and chromium come with .ci/install-deps"
    shot = os.path.join(BUILD, "showcase-room-chat.png")
    if os.path.exists(shot):
        os.unlink(shot)
    out = subprocess.run([node, "showcase_browser.mjs", showcase.http, shot], cwd=JS_DIR,
                         capture_output=True, text=True, timeout=120, env=TOOL_ENV)
    assert out.returncode == 0, out.stdout + out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert "💬 hello from tab 1" in seen
    assert os.path.getsize(shot) > 1000


def test_page_and_status(showcase):
    with urllib.request.urlopen(showcase.http + "/", timeout=10) as r:
        page = r.read().decode()
    assert 'href="/asyncapi/"' in page and "/app.js" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # no CDN
    with urllib.request.urlopen(showcase.http + "/showcase/status.json", timeout=10) as r:
        status = json.load(r)
    assert status["mode"] == "redis" and status["redis"] == showcase.redis_url


def test_metrics_for_prometheus(showcase):
    """/metrics: the server's counters, each layer labelled with its driver."""
    with urllib.request.urlopen(showcase.http + "/metrics", timeout=10) as r:
        assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    for alias, driver in [("memory", "memory"), ("chat", "redis_pubsub"), ("queue", "redis")]:
        assert f'wschannels_layer_sends_failed_total{{layer="{alias}",driver="{driver}"}}' in samples
    assert int(samples["wschannels_connections_opened_total"]) >= int(samples["wschannels_connections"])


def test_showcase_asyncapi_passes_the_official_parser(showcase, tmp_path):
    with urllib.request.urlopen(showcase.http + "/asyncapi/schema/", timeout=10) as r:
        doc = r.read()
    path = tmp_path / "showcase-asyncapi.json"
    path.write_bytes(doc)
    out = subprocess.run([shutil.which("node"), "validate_asyncapi.mjs", str(path)], cwd=JS_DIR,
                         capture_output=True, text=True, timeout=120, env=TOOL_ENV)
    assert out.returncode == 0 and "0 error(s)" in out.stdout, out.stdout + out.stderr
    channels = json.loads(out.stdout.strip().splitlines()[-1])["channels"]
    assert channels == ["room_chat", "chat", "reliable_chat", "notifications", "analytics",
                        "system"]


def test_nothing_outlives_a_killed_launcher():
    s = Launcher()
    kids = s.children()
    assert len(kids) == 3  # Redis, the server and the worker
    s.proc.kill()  # no chance to stop them itself
    s.proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(map(_running, kids)):
        time.sleep(0.1)
    alive = [pid for pid in kids if _running(pid)]
    assert not alive, f"still running after the launcher was killed: {alive}"
    with pytest.raises(OSError):  # nothing listens on its port any more
        socket.create_connection(("127.0.0.1", s.port), timeout=2).close()


def test_memory_mode_and_a_dying_child():
    s = Launcher("--memory")
    try:
        assert s.redis_url is None
        with urllib.request.urlopen(s.http + "/showcase/status.json", timeout=10) as r:
            status = json.load(r)
        assert status["mode"] == "memory" and status["needs_redis"]

        async def go():
            async with websockets.connect(s.ws + "/ws/system") as ws:
                await ws.send(json.dumps({"action": "system_message",
                                          "payload": {"task_type": "analyze", "content": "x"}}))
                assert (await recv(ws))["action"] == "job_queued"
                result = await recv(ws)
                assert result["action"] == "job_result"
                assert result["payload"].startswith("❌ Background jobs need Redis")
        run(go())
        # If the server dies, the launcher stops and says so.
        (server,) = s.children()
        os.kill(server, signal.SIGKILL)
        assert s.proc.wait(timeout=15) == 1
        assert "server stopped unexpectedly" in s.proc.stdout.read()
    finally:
        if s.proc.poll() is None:
            s.stop()
