"""A churn soak: C clients connect, send one message, wait for it to come
back through the server's layer, and close, over and over, for SECONDS;
meanwhile one steady client sends numbered messages to a room that the
churning clients keep joining and leaving, and another steady client checks
that every one arrives once and in order (Django Channels' users report gaps
under churn: django/channels#1683). The server's RSS, open files and CPU time
are read from /proc after the warm-up and at the end, so growth shows.

    /usr/bin/python3 bench/churn.py --port 8000[,8001...] [--seconds 480]
        [--clients 50] [--warmup 60] [--server-pid PID] [--steady room|reliable]

The defaults fit the showcase (examples/showcase/run): rooms on the Pub/Sub
layer, /ws/chat, and /ws/reliable on the queue layer. With several ports
(server processes on one Redis) the churning clients spread over all of
them, the steady reader uses the first and the steady sender the last, so
the steady messages cross from process to process; --steady reliable sends
them through the queue layer's group instead of a Pub/Sub room. Loopback
only; every connection and wait has a timeout. Prints one JSON line; exits 1
if a steady message was lost, repeated or reordered, or a churning client
failed. A message the server answered with an error frame is counted as
"Refused" (a churning client's) or "refused" (the steady sender's): told,
not silently lost; a TimeoutError means it never came back, untold."""
import argparse
import asyncio
import json
import os
import random
import sys
import time

import websockets

# (path, action) pairs; {n} picks one of 50 rooms.
ENDPOINTS = [("/ws/room/steady", "room_chat"), ("/ws/room/r{n}", "room_chat"),
             ("/ws/chat", "chat"), ("/ws/reliable", "reliable_chat")]
STEADY = {"room": ENDPOINTS[0], "reliable": ENDPOINTS[3]}


def proc_sample(pid):
    if not pid:
        return None
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return {"rss_kb": rss, "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "cpu_s": round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)}


class Refused(Exception):
    """The server answered the message with an error frame."""


class Churn:
    def __init__(self, args):
        self.ports = args.port
        self.steady_path, self.steady_action = STEADY[args.steady]
        self.deadline = time.monotonic() + args.seconds
        self.done = 0
        self.errors = {}

    def connect(self, path, port=None, **kw):
        port = port or random.choice(self.ports)
        return websockets.connect(f"ws://127.0.0.1:{port}{path}",
                                  origin=f"http://127.0.0.1:{port}",
                                  open_timeout=10, close_timeout=5, **kw)

    async def client(self, i):
        while time.monotonic() < self.deadline:
            path, action = random.choice(ENDPOINTS)
            path = path.format(n=random.randrange(50))
            tag = f"churn-{i}-{random.getrandbits(48):x}"
            try:
                async with self.connect(path) as ws:
                    await ws.send(json.dumps({"action": action, "payload": {"message": tag}}))
                    async with asyncio.timeout(10):
                        while tag not in (raw := await ws.recv()):
                            if raw.startswith('{"action":"error"'):
                                raise Refused(raw)  # told, not lost
                self.done += 1
            except Exception as e:  # counted and reported, never fatal to the soak
                key = f"{path.rstrip('0123456789')} {type(e).__name__}: {str(e)[:80]}"
                self.errors[key] = self.errors.get(key, 0) + 1
                await asyncio.sleep(0.1)  # no tight loop against a server that refuses

    async def steady(self):
        """Numbered messages at 100/s from one client, read by another."""
        got = []
        path = self.steady_path
        async with self.connect(path, self.ports[0], max_queue=None) as reader, \
                self.connect(path, self.ports[-1], max_queue=None) as sender:
            async def read():
                async for raw in reader:
                    text = json.loads(raw).get("payload", {}).get("message", "")
                    if "seq-" in text:
                        got.append(int(text.rsplit("seq-", 1)[1]))
            refused = 0

            async def read_errors():  # the sender is told of each it failed to pass on
                nonlocal refused
                async for raw in sender:
                    refused += raw.startswith('{"action":"error"')
            task = asyncio.create_task(read())
            errors = asyncio.create_task(read_errors())
            sent, start = 0, time.monotonic()
            while time.monotonic() < self.deadline:
                await sender.send(json.dumps({"action": self.steady_action,
                                              "payload": {"message": f"seq-{sent}"}}))
                sent += 1
                await asyncio.sleep(max(0.0, start + sent / 100 - time.monotonic()))
            await asyncio.sleep(3)
            task.cancel()
            errors.cancel()
        return {"sent": sent, "delivered": len(set(got)),
                "missing": len(set(range(sent)) - set(got)), "refused": refused,
                "duplicates": len(got) - len(set(got)),
                "in_order": all(a < b for a, b in zip(got, got[1:]))}


async def main(args):
    churn = Churn(args)
    steady = asyncio.create_task(churn.steady())
    clients = asyncio.gather(*(churn.client(i) for i in range(args.clients)))
    await asyncio.sleep(min(args.warmup, args.seconds))
    after_warmup = proc_sample(args.server_pid)
    await clients
    result = {"seconds": args.seconds, "clients": args.clients, "churned": churn.done,
              "churn_errors": sum(churn.errors.values()), "errors": churn.errors,
              "steady": await steady,
              "server_after_warmup": after_warmup, "server_end": proc_sample(args.server_pid)}
    print(json.dumps(result))
    s = result["steady"]
    return 1 if s["missing"] or s["duplicates"] or not s["in_order"] or churn.errors else 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", required=True, type=lambda s: [int(p) for p in s.split(",")],
                    help="the server's port, or several servers' ports, comma-separated")
    ap.add_argument("--seconds", type=float, default=480)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--warmup", type=float, default=60)
    ap.add_argument("--server-pid", type=int, help="the (first) server's PID, for RSS and CPU")
    ap.add_argument("--steady", choices=sorted(STEADY), default="room")
    sys.exit(asyncio.run(main(ap.parse_args())))
