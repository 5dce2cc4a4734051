# The MatchStream load that scripts/chaos and scripts/soak run (docs/matchstream.md, "Chaos and soak"):
# a matchstream node, matchstream-watcher playing synthetic matches, matchstream-load's clients; an
# attach-protocol client over the node's Unix socket (docs/protocol.md); /proc figures of the node.
# Every child is started here and ended here by its own pid.
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request


def fail(sentence):
    raise SystemExit(f"FAIL: {sentence}")


def wait_for(what, predicate, deadline_s, every_s=0.2):
    """Polls predicate() until it returns a true value (returned) or deadline_s passes (fails, naming what)."""
    end = time.monotonic() + deadline_s
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > end:
            fail(f"{what} within {deadline_s:.0f} s")
        time.sleep(every_s)


class Attach:
    """One admin session on the node's Unix socket; one request at a time."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(30)
        self.sock.connect(path)
        self.f = self.sock.makefile("rw")
        self.n = 0
        r = self.req({"op": "hello", "versions": [1], "role": "admin"})
        if not r.get("ok"):
            fail(f"hello refused: {r}")

    def req(self, r):
        self.send(r)
        return self.receive()

    def send(self, r):
        """Sends a request without waiting (answers come in order: receive() each)."""
        self.n += 1
        self.f.write(json.dumps({"id": self.n, **r}) + "\n")
        self.f.flush()

    def receive(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("the node closed the attach session")
        return json.loads(line)

    def close(self):
        self.sock.close()


def proc_stats(pid):
    """rss_kb, open fds, threads of a live process (from /proc)."""
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd")), threads


class Child:
    """A child process whose stdout and stderr go to a file, each line also to on_line."""

    def __init__(self, name, argv, log_path, on_line=None):
        self.name = name
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.lines = []
        self.on_line = on_line
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.log.write(line)
            self.log.flush()
            if self.on_line:
                self.on_line(line.rstrip("\n"))

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=30):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        self.log.close()
        return self.proc.returncode


class Node(Child):
    """`matchstream` on loopback ports chosen by the kernel, its socket in `work`."""

    def __init__(self, bin_dir, work, name, user_shards=16, db=None):
        self.socket = os.path.join(work, "node.sock")
        self.ready = threading.Event()
        self.port = self.http_port = self.metrics_port = None
        argv = [os.path.join(bin_dir, "matchstream"), "--name", name, "--listen", "127.0.0.1:0",
                "--http", "127.0.0.1:0", "--db", db or os.path.join(work, "ms.db"), "--socket", self.socket,
                "--metrics-listen", "127.0.0.1:0", "--user-shards", str(user_shards)]
        self.user_shards = user_shards
        super().__init__("matchstream", argv, os.path.join(work, "node.log"), self._line)
        try:
            wait_for("matchstream listening", lambda: self.ready.is_set() or not self.alive() and fail(
                f"matchstream exited {self.proc.returncode}: see {work}/node.log"), 60)
        except BaseException:
            self.stop()
            raise

    def _line(self, line):
        if m := re.search(r"metrics on http://127\.0\.0\.1:(\d+)", line):
            self.metrics_port = int(m.group(1))
        if m := re.match(r"matchstream: http on 127\.0\.0\.1:(\d+)", line):
            self.http_port = int(m.group(1))
        if m := re.match(r"matchstream: listening on 127\.0\.0\.1:(\d+)", line):
            self.port = int(m.group(1))
            self.ready.set()

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=30) as r:
            return r.read().decode()

    def named(self):
        """The names MatchStream's supervision tree registers (docs/matchstream.md)."""
        return ["matchstream_sup", "store", "match_sup", "user_sup", "client_listener"] + [
            f"user_sup_{i}" for i in range(self.user_shards)]


def watcher(bin_dir, work, port, matches, rate, tag):
    return Child("matchstream-watcher", [os.path.join(bin_dir, "matchstream-watcher"), "--server",
                                         f"127.0.0.1:{port}", "--synthetic", str(matches), "--rate", str(rate),
                                         "--recreate"], os.path.join(work, f"watcher-{tag}.log"))


class Load(Child):
    """matchstream-load with --reconnect; `latest` holds the fields of its last progress line."""

    def __init__(self, bin_dir, work, port, clients, matches, tag, reconnect_s=1.0, concurrency=200):
        self.latest = {}
        argv = [os.path.join(bin_dir, "matchstream-load"), "--server", f"127.0.0.1:{port}", "--clients",
                str(clients), "--matches", ",".join(f"synthetic-{i}" for i in range(matches)),
                "--reconnect", str(reconnect_s), "--concurrency", str(concurrency), "--user-prefix", f"{tag}-"]
        self.clients = clients
        super().__init__("matchstream-load", argv, os.path.join(work, f"load-{tag}.log"), self._line)

    def _line(self, line):
        m = re.match(r"matchstream-load: (\d+)s connected (\d+) connecting (\d+) ended (\d+) failed (\d+)", line)
        if m:
            keys = ("elapsed_s", "connected", "connecting", "ended", "failed")
            latest = dict(zip(keys, map(int, m.groups())))
            r = re.search(r" reconnects (\d+)", line)
            latest["reconnects"] = int(r.group(1)) if r else 0
            g = re.search(r" gaps (\d+)", line)
            latest["gaps"] = int(g.group(1)) if g else 0
            self.latest = latest

    def all_connected(self):
        return self.latest.get("connected") == self.clients


def messages(attach):
    return attach.req({"op": "system_info"})["node"]["messages"]


def quiesce(attach, deadline_s=120):
    """Waits until two system_info polls 1 s apart show the same counters and the accounting identity
    holds; returns those counters."""
    last = None

    def settled():
        nonlocal last
        m = messages(attach)
        same = last is not None and m == last
        last = m
        return m if same and m["sent"] == m["delivered"] + m["shed"] + m["dropped"] + m["dead_letters"] else None

    return wait_for("the node quiescent with sent == delivered + shed + dropped + dead_letters", settled,
                    deadline_s, every_s=1.0)


def histogram(metrics_text, name):
    """{le: cumulative count} plus sum and count of a histogram in Prometheus text."""
    out = {"buckets": {}, "sum": 0.0, "count": 0.0}
    for line in metrics_text.splitlines():
        if line.startswith(name + "_bucket{"):
            le = re.search(r'le="([^"]+)"', line).group(1)
            out["buckets"][float(le)] = float(line.rsplit(" ", 1)[1])
        elif line.startswith(name + "_sum"):
            out["sum"] = float(line.rsplit(" ", 1)[1])
        elif line.startswith(name + "_count"):
            out["count"] = float(line.rsplit(" ", 1)[1])
    return out


def interval_latency(before, after, q=0.99):
    """Mean and q-quantile (upper bucket bound) of what a histogram observed between two scrapes, in s."""
    n = after["count"] - before["count"]
    if n <= 0:
        return None, None
    mean = (after["sum"] - before["sum"]) / n
    for le in sorted(after["buckets"]):
        if after["buckets"][le] - before["buckets"].get(le, 0) >= q * n:
            return mean, le
    return mean, float("inf")
