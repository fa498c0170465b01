"""The generated AsyncAPI document of the showcase's consumers, served by a
real server process: the official AsyncAPI parser (@asyncapi/parser, run
with Node) finds no error in it; it maps handlers as seed 003's table says;
the /asyncapi/ page renders every channel in headless Chromium, offline; and
typed handlers reject what their schema rejects, over a real WebSocket."""
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import urllib.error
import urllib.request

import pytest
import websockets

SERVER = os.environ.get("WSC_SHOWCASE_DOCS_BIN", "build/test/wst_showcase_docs_server")
JS_DIR = os.environ.get("WSC_JS_DIR", os.path.join(os.path.dirname(__file__), "..", "js"))
# Tools that are not ours run without the sanitizer runtime the ASan build
# preloads into Python (Chromium hangs under it).
TOOL_ENV = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
CHANNELS = ["room_chat", "chat", "reliable_chat", "notifications", "analytics", "system"]


@pytest.fixture(scope="module")
def base():
    proc = subprocess.Popen([SERVER], stdout=subprocess.PIPE, text=True)
    port = int(re.match(r"PORT (\d+)", proc.stdout.readline()).group(1))
    yield f"127.0.0.1:{port}"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.headers.get("content-type"), r.read().decode()


def schema(base):
    status, ctype, body = get(f"http://{base}/asyncapi/schema/")
    assert status == 200 and ctype == "application/json"
    return json.loads(body)


def test_official_parser_finds_no_error(base):
    node = shutil.which("node")
    assert node, "node is not installed (.ci/install-deps installs it)"
    assert os.path.isdir(os.path.join(JS_DIR, "node_modules", "@asyncapi", "parser")), \
        "run: npm ci --prefix test/js (.ci/install-deps does)"
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(schema(base), f)
    try:
        out = subprocess.run([node, "validate_asyncapi.mjs", f.name], cwd=JS_DIR,
                             capture_output=True, text=True, timeout=120, env=TOOL_ENV)
    finally:
        os.unlink(f.name)
    print(out.stdout, out.stderr)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 error(s)" in out.stdout
    parsed = json.loads(out.stdout.strip().splitlines()[-1])
    assert parsed["channels"] == CHANNELS


def test_document_follows_chanx_mapping(base):
    doc = schema(base)
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"] == {"title": "wschannels showcase", "version": "0.2.0",
                           "description": "The seeds' consumers on wschannels"}
    assert doc["servers"]["development"] == {
        "host": base, "protocol": "ws", "description": "wschannels server"}
    ch = doc["channels"]
    assert ch["room_chat"]["address"] == "/ws/room/{room_name}"
    assert list(ch["room_chat"]["parameters"]) == ["room_name"]
    assert ch["chat"]["description"] == "Basic Chat Consumer using centralized chat layer"
    assert [t["name"] for t in ch["chat"]["tags"]] == ["chat", "showcase"]
    ops = doc["operations"]
    msgs = doc["components"]["messages"]

    def names(refs):
        return [r["$ref"].rsplit("/", 1)[1] for r in refs]

    # ws handler with an output: receive, with the output as its reply
    room = ops["room_chat_receive_room_chat"]
    assert room["action"] == "receive"
    assert room["channel"] == {"$ref": "#/channels/room_chat"}
    assert room["summary"] == "Handle room chat messages"
    assert names(room["messages"]) == ["RoomChatMessage"]
    assert names(room["reply"]["messages"]) == ["RoomNotificationMessage"]
    # a returned value is a reply too
    assert names(ops["system_receive_system_message"]["reply"]["messages"]) == ["JobQueued"]
    assert names(ops["chat_receive_ping"]["reply"]["messages"]) == ["PongMessage"]
    # event handlers: send, their output only; the event type is internal
    notify = ops["notifications_send_system_periodic_notify"]
    assert notify["action"] == "send" and "reply" not in notify
    assert names(notify["messages"]) == ["NotificationBroadcastMessage"]
    assert "SystemNotify" not in msgs and "SystemPeriodicNotify" not in msgs
    # payload schemas from the C++ types, with defaults and nullables
    room_payload = msgs["RoomChatMessage"]["payload"]["properties"]["payload"]
    assert room_payload["required"] == ["message"]
    assert room_payload["properties"]["room_name"]["anyOf"][1] == {"type": "null"}
    np = msgs["NotificationBroadcastMessage"]["payload"]["properties"]["payload"]
    assert np["properties"]["type"] == {"type": "string", "default": "user"}
    # every operation's messages belong to its channel
    for op in ops.values():
        chan = op["channel"]["$ref"].rsplit("/", 1)[1]
        for ref in op["messages"] + op.get("reply", {}).get("messages", []):
            assert ref["$ref"].startswith(f"#/channels/{chan}/messages/")
            assert ref["$ref"].rsplit("/", 1)[1] in ch[chan]["messages"]


def test_page_is_self_contained_and_served_at_both_paths(base):
    for path in ("/asyncapi/", "/asyncapi/docs/", "/asyncapi", "/asyncapi/docs"):
        status, ctype, body = get(f"http://{base}{path}")
        assert status == 200 and ctype.startswith("text/html")
        assert "/asyncapi/schema/" in body
        # no CDN, no external fonts or scripts: it must work offline
        assert not re.search(r"(src|href)=\"(https?:)?//", body)
        assert "<title>wschannels showcase</title>" in body
    with pytest.raises(urllib.error.HTTPError) as e:
        get(f"http://{base}/asyncapi/nothing")
    assert e.value.code == 404


def test_page_renders_every_channel_in_chromium(base):
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed (.ci/install-deps installs it)"
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=10000",
             "--dump-dom", f"http://{base}/asyncapi/"],
            capture_output=True, text=True, timeout=120, env=TOOL_ENV)
    dom = out.stdout
    assert 'data-rendered="true"' in dom, out.stderr[-2000:]
    rendered = re.findall(r'<h2 class="channel-name">([^<]*)</h2>', dom)
    assert rendered == CHANNELS
    for address in ("/ws/room/{room_name}", "/ws/system"):
        assert address in dom
    # operations and message schemas are there, readable
    assert "client → server" in dom and "server → client" in dom
    assert "RoomNotificationMessage" in dom and "task_type" in dom


def test_typed_handlers_validate_against_their_schema(base):
    async def go():
        async with websockets.connect(f"ws://{base}/ws/system") as ws:
            await ws.send(json.dumps({"action": "system_message",
                                      "payload": {"task_type": "translate"}}))
            assert json.loads(await ws.recv()) == {"action": "error", "payload": [
                {"type": "missing", "loc": ["system_message", "payload", "content"],
                 "msg": "Field required"}]}
            await ws.send(json.dumps({"action": "system_message",
                                      "payload": {"task_type": "translate", "content": "hello"}}))
            reply = json.loads(await ws.recv())
            assert reply["action"] == "job_queued"
            assert reply["payload"].startswith("⏳ Job queued: translate for 'hello' (ID: translate_")
        async with websockets.connect(f"ws://{base}/ws/notifications") as ws:
            assert json.loads(await ws.recv()) == {"action": "notification_broadcast", "payload": {
                "type": "system", "message": "🔔 Connected to notifications!"}}
            # "type" has a default: a message without it is valid
            await ws.send(json.dumps({"action": "notification", "payload": {"message": "hi"}}))
            assert json.loads(await ws.recv()) == {"action": "notification_broadcast", "payload": {
                "type": "user", "message": "🔔 Notification: hi"}}
    asyncio.run(asyncio.wait_for(go(), 20))
