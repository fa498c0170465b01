"""Redis faults under churn: the showcase server (one process, or several on
one Redis) on a private redis-server, bench/churn.py against it, and one
Redis fault every FAULT_GAP seconds, the kinds an operator or a managed
Redis inflicts on a running deployment:

  stall      DEBUG SLEEP 3 (a slow command, a fork on a big dataset)
  kill       CLIENT KILL of every client (a proxy or failover dropping them)
  oom        maxmemory below what Redis holds, for 8 s (noeviction)
  flush      FLUSHALL (a cache sharing the database cleared)
  restart    SHUTDOWN NOSAVE, then a new redis-server on the port 5 s later
  password   a password set and the clients dropped, removed 6 s later
  pause      CLIENT PAUSE 4000 ALL (a failover's pause)
  hang       redis-server stopped (SIGSTOP) for 12 s: hung, sockets open
  cut        the network goes silent with every connection left open (a
             partition, a dead host behind a NAT); new connections go
             through. The servers then reach Redis through a relay of this
             script's, which the fault cuts.

    /usr/bin/python3 bench/redis_faults.py [--build build] [--steady room|reliable]
        [--faults stall,kill,...] [--clients 30] [--processes 1]
        [--reply-timeout S] [--tail 10] [--log FILE]

--reply-timeout sets the Redis layers' reply_timeout (default: theirs,
15 s); --tail is how long the run goes on after the last fault; --log
writes the servers' log lines, each with its time since the start.

Prints one JSON line: when each fault began, churn.py's result, each
server's exit status, their log lines by kind, the most lines one server's
Redis connections logged in any one second (a reconnect loop shows there:
the showcase has eight, which log a few lines each per outage), and
sanitizer reports (run it on a -DWSC_SANITIZE=ON build to get them). Exits 1
if a server did not exit cleanly on SIGINT, a sanitizer reported, or the
Redis connections logged more than 30 lines in one second. Steady messages
sent while Redis cannot take them are answered with an error ("refused" in
churn.py's result): told, not silently lost. Loopback only; every step is
bounded in time."""
import argparse
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FAULT_GAP = 10
# A Redis connection's own state: lost (and why), back.
CONNECTION_LINE = re.compile(r" layer\.\S+ (publish|subscribe|command|receive) connection to ")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="wsc-faults-")
        self.password = None
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            cwd=self.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if self.cli("PING", check=False) == "PONG":
                return
            time.sleep(0.05)
        sys.exit("redis_faults: redis-server did not start")

    def cli(self, *args, check=True):
        auth = ["-a", self.password, "--no-auth-warning"] if self.password else []
        r = subprocess.run(["redis-cli", "-p", str(self.port), *auth, *args],
                           capture_output=True, text=True, timeout=10)
        if check and r.returncode:
            sys.exit(f"redis_faults: redis-cli {' '.join(args)}: {r.stderr}")
        return r.stdout.strip()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Relay:
    """A TCP relay to Redis on a thread: cut() leaves every connection it
    holds open and silent both ways; connections made later are relayed."""

    def __init__(self, target_port):
        self.target = target_port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.peer = {}  # socket -> the other end, for live pairs
        self.dead = []  # cut sockets, kept open until stop
        self.lock = threading.Lock()
        self.stopping = False
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while not self.stopping:
            with self.lock:
                watched = [self.listener, *self.peer]
            readable, _, _ = select.select(watched, [], [], 0.1)
            with self.lock:
                for s in readable:
                    if s is self.listener:
                        client, _ = s.accept()
                        try:
                            target = socket.create_connection(("127.0.0.1", self.target), 2)
                        except OSError:
                            client.close()
                            continue
                        self.peer[client], self.peer[target] = target, client
                    elif s in self.peer:  # not cut meanwhile
                        other = self.peer[s]
                        try:
                            data = s.recv(65536)
                            if data:
                                other.sendall(data)
                        except OSError:
                            data = b""
                        if not data:
                            for x in (s, other):
                                self.peer.pop(x, None)
                                x.close()

    def cut(self):
        with self.lock:
            self.dead.extend(self.peer)
            self.peer.clear()

    def stop(self):
        self.stopping = True
        with self.lock:
            for x in [*self.peer, *self.dead, self.listener]:
                x.close()


def fault(redis, name, relay):
    if name == "hang":
        redis.proc.send_signal(signal.SIGSTOP)
        time.sleep(12)
        redis.proc.send_signal(signal.SIGCONT)
    elif name == "cut":
        relay.cut()
    elif name == "stall":
        redis.cli("DEBUG", "SLEEP", "3")
    elif name == "kill":
        redis.cli("CLIENT", "KILL", "TYPE", "pubsub")
        redis.cli("CLIENT", "KILL", "TYPE", "normal")
    elif name == "oom":
        redis.cli("CONFIG", "SET", "maxmemory-policy", "noeviction")
        redis.cli("CONFIG", "SET", "maxmemory", "1")
        time.sleep(8)
        redis.cli("CONFIG", "SET", "maxmemory", "0")
    elif name == "flush":
        redis.cli("FLUSHALL")
    elif name == "restart":
        redis.cli("SHUTDOWN", "NOSAVE", check=False)
        redis.proc.wait(timeout=10)
        time.sleep(5)
        redis.start()
    elif name == "password":
        redis.cli("CONFIG", "SET", "requirepass", "rotated")
        redis.password = "rotated"
        redis.cli("CLIENT", "KILL", "TYPE", "pubsub")
        redis.cli("CLIENT", "KILL", "TYPE", "normal")
        time.sleep(6)
        redis.cli("CONFIG", "SET", "requirepass", "")
        redis.password = None
    elif name == "pause":
        redis.cli("CLIENT", "PAUSE", "4000", "ALL")


def shape(line):
    """A log line without its variable parts, to count lines by kind."""
    line = re.sub(r"specific\.[0-9a-f]+!\d*", "<channel>", line)
    line = re.sub(r"redis://[^ ]+", "<redis>", line)
    line = re.sub(r"'(room_)?r?\d+'|'[a-z_]+'", "'<name>'", line)
    return line[:160]


def showcase_config(reply_timeout, tmpdir):
    """The showcase's config, with reply_timeout set on its Redis layers."""
    path = os.path.join(ROOT, "examples/showcase/showcase.json")
    if reply_timeout is None:
        return path
    with open(path) as f:
        cfg = json.load(f)
    for layer in cfg["layers"].values():
        if layer["driver"] != "memory":
            layer["reply_timeout"] = reply_timeout
    path = os.path.join(tmpdir, "showcase.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


class Server:
    """One showcase_server process on a free port, its log kept with times."""

    def __init__(self, server_bin, config, redis_port):
        self.port = free_port()
        env = dict(os.environ, SHOWCASE_PORT=str(self.port),
                   REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
                   ASAN_OPTIONS="detect_leaks=1", UBSAN_OPTIONS="print_stacktrace=1")
        self.proc = subprocess.Popen(
            [server_bin, "--config", config],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace")
        self.lines = []  # (monotonic time, text)
        self.reader = threading.Thread(target=self.read_log, daemon=True)
        self.reader.start()

    def read_log(self):
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def wait_listening(self):
        deadline = time.monotonic() + 10
        while not any(t.startswith("PORT ") for _, t in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self):
        """SIGINT, then its exit status (or why there is none)."""
        self.proc.send_signal(signal.SIGINT)
        try:
            status = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = "did not stop within 30 s of SIGINT"
        self.reader.join(timeout=5)
        return status


def main(args):
    server_bin = os.path.join(args.build, "examples", "showcase_server")
    if not os.access(server_bin, os.X_OK):
        sys.exit(f"redis_faults: no {server_bin}; build first")
    faults = args.faults.split(",")
    redis = Redis()
    redis.start()
    relay = Relay(redis.port) if "cut" in faults else None
    config = showcase_config(args.reply_timeout, redis.dir)
    servers = [Server(server_bin, config, relay.port if relay else redis.port)
               for _ in range(args.processes)]
    for s in servers:
        if not s.wait_listening():
            for t in servers:
                t.stop()
            redis.stop()
            sys.exit("redis_faults: a server did not start:\n" +
                     "\n".join(t for _, t in s.lines))
    seconds = FAULT_GAP * (len(faults) + 1) + args.tail
    churn = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "churn.py"),
         "--port", ",".join(str(s.port) for s in servers),
         "--seconds", str(seconds), "--clients", str(args.clients), "--warmup", "10",
         "--server-pid", str(servers[0].proc.pid), "--steady", args.steady],
        stdout=subprocess.PIPE, text=True)
    start = time.monotonic()
    began = {}
    try:
        for f in faults:
            time.sleep(max(0.0, start + FAULT_GAP * (len(began) + 1) - time.monotonic()))
            began[f] = round(time.monotonic() - start, 1)
            fault(redis, f, relay)
        out, _ = churn.communicate(timeout=seconds + 120)
    finally:
        if churn.poll() is None:
            churn.kill()
        statuses = [s.stop() for s in servers]
        if relay:
            relay.stop()
        redis.stop()
    lines = [line for s in servers for line in s.lines]
    # Failed requests and sends are logged one line each, so those follow
    # the load; a Redis connection's own lines must not (a few per outage:
    # lost, a new reason, back): a reconnect loop shows there.
    per_second = Counter((i, int(t - start)) for i, s in enumerate(servers)
                         for t, text in s.lines
                         if CONNECTION_LINE.search(text))
    sanitizer = [t for _, t in lines if "Sanitizer" in t or "runtime error" in t]
    result = {
        "faults_began_s": began,
        "churn": json.loads(out) if out.strip() else None,
        "server_exit": statuses,
        "log_lines": len(lines),
        "most_connection_log_lines_in_a_second": max(per_second.values(), default=0),  # per server
        "log_kinds": dict(Counter(shape(t) for _, t in lines).most_common(25)),
        "sanitizer_reports": sanitizer[:5],
    }
    if args.log:
        with open(args.log, "w") as f:
            for i, srv in enumerate(servers):
                for t, text in srv.lines:
                    f.write(f"{t - start:8.3f} server {i}: {text}\n")
    print(json.dumps(result, ensure_ascii=False))
    bad = (any(st != 0 for st in statuses) or sanitizer
           or result["most_connection_log_lines_in_a_second"] > 30)
    return 1 if bad else 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--steady", choices=["room", "reliable"], default="room")
    ap.add_argument("--log", help="write each server's log here, timed from the start")
    ap.add_argument("--faults", default="stall,kill,oom,flush,restart,password,pause,hang,cut")
    ap.add_argument("--clients", type=int, default=30)
    ap.add_argument("--reply-timeout", type=int, default=None)
    ap.add_argument("--tail", type=float, default=FAULT_GAP)
    ap.add_argument("--processes", type=int, default=1,
                    help="server processes on the one Redis; the steady messages cross from "
                         "the last to the first")
    sys.exit(main(ap.parse_args()))
