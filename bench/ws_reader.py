"""Reads a wschannels broadcast with python3-websockets (Debian's 10.x), to
show the server's pre-framed frames are valid WebSocket frames to an
independent client: every frame must parse as JSON, and every chat message
the load generator sent must arrive.

    /usr/bin/python3 bench/ws_reader.py ws://127.0.0.1:PORT/ws/chat SECONDS

Prints {"frames": N, "chat": K, "bad_json": B} when SECONDS have passed."""
import asyncio
import json
import sys

import websockets


async def read(url, seconds):
    frames = chat = bad = 0
    async with websockets.connect(url, max_size=2**20, max_queue=None) as ws:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while (left := end - loop.time()) > 0:
            try:
                text = await asyncio.wait_for(ws.recv(), left)
            except asyncio.TimeoutError:
                break
            frames += 1
            try:
                msg = json.loads(text)
            except ValueError:
                bad += 1
                continue
            if msg.get("action") == "chat_notification":
                chat += 1
    print(json.dumps({"frames": frames, "chat": chat, "bad_json": bad}))


asyncio.run(read(sys.argv[1], float(sys.argv[2])))
