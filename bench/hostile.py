"""Hostile clients for a soak: run beside bench/churn.py against the showcase
(in-memory or Redis layers) to see that the server keeps serving everyone
else, loses nothing and does not grow while clients misbehave. Each of
WORKERS loops picks one misbehaviour at a time, for SECONDS:

  bad_json             malformed JSON, an unknown action, a wrong type and a
                       binary frame, then a TCP reset
  huge                 a 2 MB message (over limits.max_message_bytes: 1009)
  fragmented_then_rst  half a fragmented message with a ping inside, then a reset
  unmasked             an unmasked client frame (a protocol error)
  half_handshake       half an upgrade request, then a reset
  non_reader           a 100 KB burst into the busiest room with a 4 KB
                       receive buffer, never reading, then a reset
  close_mid_send       20 messages, then a reset without a close frame

    /usr/bin/python3 bench/hostile.py --port 8000 [--seconds 60] [--workers 20]

Prints one JSON line: how many of each ran, and how many ended otherwise
(an exception the server's answer did not explain, by name). Loopback
only; every step has a timeout."""
import argparse
import asyncio
import json
import os
import random
import socket
import struct
import time

import websockets

PORT = 0  # from --port
stats = {}  # outcome -> count


def count(k):
    stats[k] = stats.get(k, 0) + 1


def frame(opcode, payload, fin=True, mask=True):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        hdr = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return hdr + payload
    key = os.urandom(4)
    return hdr + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


async def raw_open(path):
    r, w = await asyncio.open_connection("127.0.0.1", PORT)
    w.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             f"Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:{PORT}\r\n\r\n").encode())
    await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)
    return r, w


def reset(transport):
    """Close with a TCP reset: no close frame, no FIN."""
    transport.get_extra_info("socket").setsockopt(
        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def bad_json():
    r, w = await raw_open("/ws/room/r1")
    w.write(frame(1, b'{"action": "room_chat", "payload": {'))
    w.write(frame(1, json.dumps({"action": "nope"}).encode()))
    w.write(frame(1, json.dumps({"action": "room_chat", "payload": {"message": 5}}).encode()))
    w.write(frame(2, b"\x00\x01binary"))
    await w.drain()
    await asyncio.sleep(random.random() * 0.2)
    reset(w.transport)


async def huge():
    r, w = await raw_open("/ws/chat")
    w.write(frame(1, b'{"action":"chat","payload":{"message":"' + b"x" * 2_000_000 + b'"}}'))
    try:
        await w.drain()
        await asyncio.wait_for(r.read(100), 5)
    except Exception:
        pass
    w.close()


async def fragmented_then_rst():
    r, w = await raw_open("/ws/room/r2")
    msg = json.dumps({"action": "room_chat", "payload": {"message": "frag"}}).encode()
    w.write(frame(1, msg[:10], fin=False))
    w.write(frame(9, b"ping-in-middle"))
    w.write(frame(0, msg[10:20], fin=False))
    await w.drain()
    await asyncio.sleep(random.random() * 0.05)
    reset(w.transport)


async def unmasked():
    r, w = await raw_open("/ws/chat")
    w.write(frame(1, b'{"action":"chat","payload":{"message":"m"}}', mask=False))
    await w.drain()
    try:
        await asyncio.wait_for(r.read(100), 3)
    except Exception:
        pass
    w.close()


async def half_handshake():
    r, w = await asyncio.open_connection("127.0.0.1", PORT)
    w.write(b"GET /ws/chat HTTP/1.1\r\nHost: x\r\nUpgrade: webs")
    await w.drain()
    await asyncio.sleep(random.random() * 0.3)
    reset(w.transport)


async def non_reader():
    r, w = await raw_open("/ws/room/steady")
    s = w.get_extra_info("socket")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    for i in range(50):
        w.write(frame(1, json.dumps({"action": "room_chat", "payload": {"message": "x" * 2000}}).encode()))
    await w.drain()
    await asyncio.sleep(random.random() * 3)
    reset(w.transport)


async def close_mid_send():
    async with websockets.connect(f"ws://127.0.0.1:{PORT}/ws/chat", origin=f"http://127.0.0.1:{PORT}") as ws:
        for i in range(20):
            await ws.send(json.dumps({"action": "chat", "payload": {"message": f"m{i}"}}))
        reset(ws.transport)


KINDS = [bad_json, huge, fragmented_then_rst, unmasked, half_handshake, non_reader, close_mid_send]


async def worker(deadline):
    while time.monotonic() < deadline:
        k = random.choice(KINDS)
        try:
            await asyncio.wait_for(k(), 10)
            count(k.__name__)
        except Exception as e:
            count(f"{k.__name__} {type(e).__name__}")
        await asyncio.sleep(0.01)


async def main(args):
    deadline = time.monotonic() + args.seconds
    await asyncio.gather(*(worker(deadline) for _ in range(args.workers)))
    print(json.dumps(stats))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=20)
    args = ap.parse_args()
    PORT = args.port
    asyncio.run(main(args))
