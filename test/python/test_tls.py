"""wss:// with the config's certificate and key (libwebsockets' TLS): a
self-signed certificate made here with openssl, a python3-websockets client
that trusts only it, messages of every size both ways, and the refusals."""
import asyncio
import json
import os
import re
import signal
import ssl
import subprocess

import pytest
import websockets

SERVER = os.environ.get("WSC_LAYER_SERVER_BIN", "build/test/wst_layer_server")


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True)
    return d


def config(cert_dir, **tls):
    tls = tls or {"cert": str(cert_dir / "cert.pem"), "key": str(cert_dir / "key.pem")}
    return json.dumps({"layers": {"default": {"driver": "memory"}},
                       "routes": [{"path": "/ws/chat", "consumer": "chat"}],
                       "consumers": {"chat": {"groups": ["lobby"]}},
                       "tls": tls})


@pytest.fixture
def server(cert):
    proc = subprocess.Popen([SERVER, "default", config(cert)], stdout=subprocess.PIPE, text=True)
    port = int(re.match(r"PORT (\d+)", proc.stdout.readline()).group(1))
    yield port
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_wss_round_trips(server, cert):
    async def go():
        ctx = ssl.create_default_context(cafile=str(cert / "cert.pem"))
        async with websockets.connect(f"wss://127.0.0.1:{server}/ws/chat", ssl=ctx,
                                      max_size=None) as ws:
            await ws.send('{"action":"whoami"}')
            assert json.loads(await ws.recv())["action"] == "whoami"
            texts = [("é💬" * n)[:n] for n in (1, 125, 126, 65535, 65536, 300_000)]
            for t in texts:  # pipelined: many TLS records in flight
                await ws.send(json.dumps({"action": "say", "payload": {"text": t}},
                                         ensure_ascii=False))
            for t in texts:
                assert json.loads(await ws.recv()) == {"action": "said", "payload": t}
    run(go())


def test_plain_and_untrusted_clients_are_refused(server, cert):
    async def go():
        with pytest.raises(Exception):  # plain ws:// to a TLS port
            async with websockets.connect(f"ws://127.0.0.1:{server}/ws/chat", open_timeout=5):
                pass
        with pytest.raises(ssl.SSLCertVerificationError):  # a client that trusts the system CAs
            async with websockets.connect(f"wss://127.0.0.1:{server}/ws/chat",
                                          ssl=ssl.create_default_context(), open_timeout=5):
                pass
    run(go())


def test_bad_tls_config_fails_the_start(cert, tmp_path):
    out = subprocess.run([SERVER, "default", config(cert, cert=str(tmp_path / "nope.pem"),
                                                     key=str(cert / "key.pem"))],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode != 0
    assert "tls.cert: cannot read" in out.stdout + out.stderr
    (tmp_path / "garbage.pem").write_text("not a certificate\n")
    out = subprocess.run([SERVER, "default", config(cert, cert=str(tmp_path / "garbage.pem"),
                                                     key=str(cert / "key.pem"))],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode != 0
    assert "with TLS" in out.stdout + out.stderr
