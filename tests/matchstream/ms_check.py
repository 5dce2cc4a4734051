"""MatchStream server checks over real loopback sockets (run by the *_test.sh beside it).

Usage: python3 ms_check.py BIN_DIR SCENARIO [TMPDIR]
Starts build/bin/matchstream on port 0 (its ports read from its stdout), drives it as a watcher and
as clients, and checks what comes back; exits non-zero with a sentence on the first failure.
Every wait is on a condition with a generous deadline, never a fixed sleep.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

DEADLINE = 60.0


SERVERS = []  # the servers started, whose last log lines a failure prints


def fail(why):
    print("FAIL: " + why, flush=True)
    for srv in SERVERS:
        print("--- matchstream's last log lines ---\n" + "".join(srv.lines[-40:]), flush=True)
        if srv.proc.poll() is None:  # what its node says of itself: schedulers, busiest processes
            for args in (["info"], ["top", "--n", "30"]):
                try:
                    out = subprocess.run([os.path.join(srv.bin_dir, "agner-ctl"), srv.sock, *args], capture_output=True,
                                         text=True, timeout=10)
                    print("--- agner-ctl %s ---\n%s%s" % (" ".join(args), out.stdout, out.stderr), flush=True)
                except subprocess.TimeoutExpired:
                    print("--- agner-ctl %s: no answer within 10 s ---" % " ".join(args), flush=True)
        srv.proc.kill()  # a failed check must not leave its server running
    sys.exit(1)


class Server:
    def __init__(self, bin_dir, tmp, db=":memory:", extra=()):
        self.tmp = tmp
        self.bin_dir = bin_dir
        self.sock = os.path.join(tmp, "ms.sock")
        args = [os.path.join(bin_dir, "matchstream"), "--name", "mscheck", "--listen", "127.0.0.1:0", "--http",
                "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--socket", self.sock, "--db", db,
                "--cookie-file", os.path.join(tmp, "cookie"), *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.port = self.http = self.metrics = None
        self.lines = []
        end = time.time() + DEADLINE
        while time.time() < end and (self.port is None or self.http is None or self.metrics is None):
            line = self.proc.stdout.readline()
            if not line:
                fail("matchstream ended before it listened: " + "".join(self.lines))
            self.lines.append(line)
            if m := re.search(r"matchstream: listening on [\d.]+:(\d+)", line):
                self.port = int(m.group(1))
            if m := re.search(r"matchstream: http on [\d.]+:(\d+)", line):
                self.http = int(m.group(1))
            if m := re.search(r"metrics on http://[\d.]+:(\d+)/metrics", line):
                self.metrics = int(m.group(1))
        if self.port is None or self.http is None:
            fail("matchstream did not print its ports: " + "".join(self.lines))
        # Read its output for as long as it runs: a full pipe would block its log writes (and with them
        # whatever thread logs), and a failure prints the last lines.
        threading.Thread(target=self._drain, daemon=True).start()
        SERVERS.append(self)

    def _drain(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        t0 = time.time()
        try:
            self.proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("matchstream did not stop on SIGTERM")
        if self.proc.returncode != 0:
            fail("matchstream exited %d after SIGTERM" % self.proc.returncode)
        return time.time() - t0

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=DEADLINE)
        return Conn(s)

    def metric(self, name, labels=""):
        if self.metrics is None:
            fail("no /metrics port was printed")
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.metrics, timeout=DEADLINE).read().decode()
        for line in body.splitlines():
            if line.startswith(name + labels + " ") or (not labels and line.startswith(name + " ")):
                return float(line.split()[-1])
        return 0.0

    def wait_metric(self, name, labels, want):
        end = time.time() + DEADLINE
        while time.time() < end:
            v = self.metric(name, labels)
            if v >= want:
                return v
            time.sleep(0.05)
        fail("%s%s stayed at %s, wanted %s" % (name, labels, self.metric(name, labels), want))

    def http_get(self, path):
        return json.loads(urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.http, path), timeout=DEADLINE).read())


class Conn:
    def __init__(self, s):
        self.s = s
        self.buf = b""

    def send(self, text):
        self.s.sendall(text.encode() if isinstance(text, str) else text)

    def line(self):
        while b"\n" not in self.buf:
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                fail("no line from the server within %d s (got %r)" % (DEADLINE, self.buf))
            if not chunk:
                fail("connection closed while waiting for a line (got %r)" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def block(self):
        """One block: (kind, {field: value or [items]}, raw text); None at a clean close."""
        while b"\n\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                if self.buf:
                    fail("connection closed inside a block: %r" % self.buf)
                return None
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\n\n", 1)
        lines = raw.decode().split("\n")
        m = re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d: ([^:]+):", lines[0])
        if not m:
            fail("bad first line of a block: %r" % lines[0])
        fields, key = {}, None
        for l in lines[1:]:
            if l.startswith("         "):
                fields[key].append(l.strip())
            elif l.startswith("    ") and l.endswith(":") and ": " not in l:
                key = l.strip()[:-1]
                fields[key] = []
            else:
                k, v = l.strip().split(": ", 1)
                fields[k] = v
        return m.group(1), fields, raw.decode()

    def closed(self):
        """True once the server hung up (reads and discards anything before)."""
        self.s.settimeout(DEADLINE)
        while True:
            try:
                chunk = self.s.recv(65536)
            except ConnectionResetError:
                return True
            if not chunk:
                return True
            self.buf += chunk


def watcher(srv, match):
    w = srv.connect()
    w.send("VERSION:1:WATCH:%s\n" % match)
    return w


def send_event(w, event):
    w.send(json.dumps(event) + "\n")
    return w.line()


START = {"kind": "start", "home": "elp", "visit": "tig", "home_players": [[25, "Albil"], [14, "Mercado"]],
         "visit_players": [[7, "Luna"], [9, "Maggiolo"]]}


def scenario_session(srv):
    w = watcher(srv, "m1")
    if (r := send_event(w, START)) != "OK 1":
        fail("start answered %r, not OK 1" % r)
    c = srv.connect()
    c.send("VERSION:1:CONNECT:alice:MATCH:m1\r\n")
    kind, f, raw = c.block()
    if kind != "status" or f["seq"] != "1" or f["home"] != "elp" or f["visit_players"] != ["Luna (7)", "Maggiolo (9)"] \
            or f["home_score"] != "0" or f["period"] != "first":
        fail("the first block is not the status: %r" % raw)
    srv.wait_metric("matchstream_clients_connected", "", 1)
    # The process names an operator reads in etop, and what a match says about itself.
    info = subprocess.run([os.path.join(srv.bin_dir, "agner-ctl"), srv.sock, "info", "match:m1"], capture_output=True,
                          text=True, timeout=DEADLINE)
    if "state: match m1: elp 0 - 0 tig, first, seq 1, 1 subscribers" not in info.stdout:
        fail("agner-ctl info match:m1 does not describe the match: " + info.stdout + info.stderr)
    top = subprocess.run([os.path.join(srv.bin_dir, "agner-ctl"), srv.sock, "top", "--n", "100"], capture_output=True,
                         text=True, timeout=DEADLINE).stdout
    for name in ("matchstream_sup", "match_sup", "user_sup", "user_sup_0", "user_sup_15", "client_listener", "store", "match:m1"):
        if not re.search(r"\s%s\s" % re.escape(name), top):
            fail("no process named %s in agner-ctl top: %s" % (name, top))
    events = [{"kind": "goal", "team": "tig", "player": 7}, {"kind": "card", "team": "elp", "player": 25, "card": "red"},
              {"kind": "substitution", "team": "elp", "player_out": 14, "player_in": [21, "Silva"]},
              {"kind": "period", "period": "second"}, {"kind": "shot", "team": "tig", "player": 99, "x": 1.5}]
    for i, e in enumerate(events):
        if (r := send_event(w, e)) != "OK %d" % (i + 2):
            fail("event %d answered %r" % (i + 2, r))
    want = [("goal", {"player": "Luna (7)", "team": "tig"}), ("card", {"card": "red", "player": "Albil (25)"}),
            ("substitution", {"player_in": "Silva (21)", "player_out": "Mercado (14)"}), ("period", {"period": "second"}),
            ("shot", {"player": "N/N (99)", "x": "1.5"})]
    seq = 1
    for kind, fields in want:
        k, f, raw = c.block()
        seq += 1
        if k != kind or f["seq"] != str(seq) or any(f.get(a) != b for a, b in fields.items()):
            fail("wanted %s seq %d with %r, got %r" % (kind, seq, fields, raw))
        keys = [l.strip().split(":")[0] for l in raw.split("\n")[3:] if not l.startswith("         ")]
        if keys != sorted(keys):
            fail("fields are not sorted by key: %r" % raw)
    # A late client gets the current status: score 0-1, second period, seq 6.
    late = srv.connect()
    late.send("VERSION:1:CONNECT:bob:MATCH:m1\n")
    k, f, raw = late.block()
    if k != "status" or f["seq"] != "6" or f["visit_score"] != "1" or f["period"] != "second":
        fail("a late client's status is wrong: %r" % raw)
    if (r := send_event(w, {"kind": "end"})) != "OK 7":
        fail("end answered %r" % r)
    for conn in (c, late):
        k, f, raw = conn.block()
        if k != "end" or f["seq"] != "7":
            fail("wanted the end block, seq 7, got %r" % raw)
        if conn.block() is not None or not conn.closed():
            fail("the server did not close after end")
    srv.wait_metric("matchstream_connections_closed_total", '{reason="match_ended"}', 2)
    srv.wait_metric("matchstream_events_delivered_total", "", 9)
    srv.wait_metric("matchstream_events_registered_total", "", 7)
    # The match has ended: a new client is refused, a watcher's event too.
    c2 = srv.connect()
    c2.send("VERSION:1:CONNECT:carol:MATCH:m1\n")
    if (l := c2.line()) != "ERROR: unknown match m1":
        fail("a client of an ended match got %r" % l)
    if not (r := send_event(w, {"kind": "goal", "team": "tig", "player": 7})).startswith("ERROR: unknown match m1"):
        fail("an event after end answered %r" % r)
    listed = srv.http_get("/matches")
    if not any(m["id"] == "m1" and m["ended"] and m["visit_score"] == 1 for m in listed):
        fail("GET /matches does not list the ended match: %r" % listed)
    took = srv.stop()
    if took > 1.5:
        fail("SIGTERM took %.1f s" % took)


def refused(srv, first, want, reason):
    c = srv.connect()
    c.send(first)
    l = c.line()
    if l != want:
        fail("%r answered %r, not %r" % (first[:80], l, want))
    if not c.closed():
        fail("not closed after %r" % l)
    srv.wait_metric("matchstream_connections_refused_total", '{reason="%s"}' % reason, 1)


def check_flags(bin_dir, tmp):
    """Bad flags exit 2 and an address it cannot take exits 1, each with one sentence naming it."""
    base = [os.path.join(bin_dir, "matchstream"), "--db", ":memory:", "--socket", os.path.join(tmp, "f.sock"),
            "--cookie-file", os.path.join(tmp, "cookie"), "--metrics-listen", "off", "--http", "127.0.0.1:0"]
    for extra, code, want in ((["--listen", "nope:1"], 2, "--listen wants an IP address, not 'nope'"),
                              (["--user-shards", "0"], 2, "--user-shards wants a number from 1 to 4096, not '0'"),
                              (["--backlog", "x"], 2, "--backlog wants a number"),
                              (["--listen", "10.255.0.1:7000"], 1, "matchstream: cannot listen on 10.255.0.1:7000")):
        r = subprocess.run(base + extra, capture_output=True, text=True, timeout=DEADLINE)
        if r.returncode != code or want not in r.stderr:
            fail("%r exited %d with %r; wanted %d and %r" % (extra, r.returncode, r.stderr, code, want))
        if "crashed" in r.stderr:
            fail("%r logged a crash: %r" % (extra, r.stderr))


def scenario_bad_input(srv):
    refused(srv, "HELLO\n", "ERROR: expected VERSION:1:CONNECT:<user>:MATCH:<match-id>", "bad_first_line")
    refused(srv, "VERSION:1:CONNECT::MATCH:x\n", "ERROR: expected VERSION:1:CONNECT:<user>:MATCH:<match-id>", "bad_first_line")
    for first in ("VERSION:1:WATCH:\n", "VERSION:1:WATCH\n", "VERSION:1:WATCH:m:x\n"):
        refused(srv, first, "ERROR: expected VERSION:1:WATCH:<match-id>", "bad_first_line")
    refused(srv, "VERSION:2:CONNECT:a:MATCH:x\n", "ERROR: unsupported version 2 (this server speaks 1)", "unsupported_version")
    refused(srv, "VERSION:1:CONNECT:a:MATCH:nope\n", "ERROR: unknown match nope", "unknown_match")
    refused(srv, "x" * (70 * 1024), "ERROR: line longer than 64 KiB", "line_too_long")
    # A silent connection is answered after 10 s.
    c = srv.connect()
    t0 = time.time()
    if (l := c.line()) != "ERROR: no CONNECT line within 10 s":
        fail("a silent connection got %r" % l)
    if time.time() - t0 < 9:
        fail("a silent connection was refused after %.1f s, before 10 s" % (time.time() - t0))
    srv.wait_metric("matchstream_connections_refused_total", '{reason="timeout"}', 1)
    # A watcher's bad lines get ERROR and the connection stays open.
    w = watcher(srv, "m2")
    if not (r := send_event(w, {"kind": "goal", "team": "x"})).startswith("ERROR: unknown match m2 (send a start event first)"):
        fail("an event before start answered %r" % r)
    w.send("{not json\n")
    if (r := w.line()) != "ERROR: invalid JSON at byte 3: invalid literal":
        fail("malformed JSON answered %r" % r)
    if not (r := send_event(w, {"team": "x"})).startswith("ERROR: each line"):
        fail("an event without kind answered %r" % r)
    if (r := send_event(w, START)) != "OK 1":
        fail("start after errors answered %r" % r)
    if (r := send_event(w, {"kind": "k" * 40})) != "ERROR: bad event kind":
        fail("a 40-byte kind answered %r" % r)
    # Data never becomes framing: control characters, invalid UTF-8, long keys and wild player
    # numbers are refused, so a client on the match sees no forged block.
    for event, want in (({"kind": "start", "home": "a\n\nfake", "visit": "b"}, "home contains a control character"),
                        ({"kind": "start", "home": "a", "visit": "b",
                          "home_players": [[1, "x\n\n2011-01-01 00:00:00: goal:\n    seq: 999"]]},
                         "home_players contains a control character"),
                        ({"kind": "goal", "x\n\ny": "z"}, "key x\\x0a\\x0ay contains a control character"),
                        ({"kind": "go\nal"}, "kind contains a control character"),
                        ({"kind": "note", "t": "\x1b[2J\x85"}, "t contains a control character"),
                        ({"kind": "note", "k" * 33: 1}, "key %s is longer than 32 bytes" % ("k" * 33)),
                        ({"kind": "goal", "team": "elp", "player": 2 ** 64 - 1},
                         "player 18446744073709551615 is outside 0..9999")):
        if (r := send_event(w, event)) != "ERROR: " + want:
            fail("%r answered %r, not ERROR: %s" % (event, r, want))
    c = srv.connect()
    c.send("VERSION:1:CONNECT:fresh:MATCH:m2\n")
    kind, fields, raw = c.block()
    if kind != "status" or fields.get("seq") != "1" or fields.get("home") != "elp" or fields.get("home_players") != [
            "Mercado (14)", "Albil (25)"]:
        fail("the status after refused hostile events is %r" % raw)
    if (r := send_event(w, {"kind": "goal", "team": "elp", "player": 25})) != "OK 2":
        fail("a goal after refused hostile events answered %r" % r)
    kind, fields, raw = c.block()
    if kind != "goal" or fields.get("seq") != "2" or fields.get("player") != "Albil (25)":
        fail("the block after the status is %r, not the goal" % raw)
    # ERROR lines escape what they echo.
    refused(srv, "VERSION:1:CONNECT:a:MATCH:x\x1b[2J\n", 'ERROR: match id "x\\x1b[2J"' + ID_RULE, "bad_first_line")
    refused(srv, b"VERSION:\xff\xfe:CONNECT:a:MATCH:x\n", "ERROR: unsupported version \\xff\\xfe (this server speaks 1)",
            "unsupported_version")
    refused(srv, "VERSION:1:CONNECT:a:MATCH:%s\n" % ("m" * 100), 'ERROR: match id "%s..."' % ("m" * 64) + ID_RULE,
            "bad_first_line")
    # A watcher line past 64 KiB gets ERROR and closes the watcher, whether its newline came with it or not.
    for tail in (b"", b"\n" + json.dumps({"kind": "goal", "team": "elp"}).encode() + b"\n"):
        lw = watcher(srv, "m2")
        lw.send(b"x" * 70000 + tail)
        if (r := lw.line()) != "ERROR: line longer than 64 KiB":
            fail("a 70,000-byte watcher line%s answered %r" % (" with its newline" if tail else "", r))
        if not lw.closed() or b"OK" in lw.buf:
            fail("the watcher stayed open after a line past 64 KiB (then got %r)" % lw.buf)
    # 64 KiB is the line without its "\r\n": a line of exactly 65,536 bytes is read (and refused as JSON).
    lw = watcher(srv, "m2")
    lw.send(b"x" * 65536 + b"\r\n")
    if (r := lw.line()).startswith("ERROR: line longer") or not r.startswith("ERROR: "):
        fail("a 65,536-byte watcher line ended by \\r\\n answered %r" % r)
    if not (r := send_event(lw, {"kind": "note", "text": "still here"})).startswith("OK "):
        fail("after a line of exactly 64 KiB the watcher answered %r to a note" % r)
    # A connected client has nothing more to say; what it sends is dropped, but a line past 64 KiB ends it.
    c = srv.connect()
    c.send("VERSION:1:CONNECT:talker:MATCH:m2\n" + "keepalive\n" * 3)
    if (b := c.block()) is None or b[0] != "status":
        fail("a client on m2 got %r for its first block" % (b,))
    c.send(b"y" * 70000)
    while (l := c.line()) != "ERROR: line longer than 64 KiB":
        if not l.startswith(" ") and l and not re.fullmatch(r"\d{4}-.*:", l):
            fail("a connected client sending 70,000 bytes got %r" % l)
    if not c.closed():
        fail("a connected client stayed open after a line past 64 KiB")
    # A client that stops reading is closed at its send-buffer limit and its blocks are counted.
    slow = srv.connect()
    slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.send("VERSION:1:CONNECT:slow:MATCH:m2\n")
    big = {"kind": "note", "text": "y" * 60000}
    end = time.time() + DEADLINE
    while srv.metric("matchstream_connections_closed_total", '{reason="send_buffer_full"}') < 1:
        if time.time() > end:
            fail("a client that does not read was never closed")
        for _ in range(20):
            if not send_event(w, big).startswith("OK"):
                fail("a big event was refused")
    if srv.metric("matchstream_events_dropped_total", '{reason="send_buffer_full"}') < 1:
        fail("the slow client's undelivered blocks were not counted")
    if srv.proc.poll() is not None:
        fail("matchstream died")
    srv.stop()


ID_RULE = " is not 1 to 64 bytes of A-Z a-z 0-9 _ . -"


def nothing_of(srv, match, why):
    """Fails unless `match` is nowhere: not in GET /matches, a 404 on GET /matches/<id>, no process
    named match:<id>, and a client naming it is refused as an unknown match."""
    if any(m["id"] == match for m in srv.http_get("/matches")):
        fail("%s: GET /matches lists %s: %r" % (why, match, srv.http_get("/matches")))
    try:
        got = srv.http_get("/matches/" + match)
        fail("%s: GET /matches/%s answered %r, not 404" % (why, match, got))
    except urllib.error.HTTPError as e:
        if e.code != 404:
            fail("%s: GET /matches/%s answered %d, not 404" % (why, match, e.code))
    top = subprocess.run([os.path.join(srv.bin_dir, "agner-ctl"), srv.sock, "top", "--n", "1000"], capture_output=True,
                         text=True, timeout=DEADLINE).stdout
    if "match_sup" not in top:
        fail("agner-ctl top shows no match_sup (so it cannot show the absence of match:%s): %s" % (match, top))
    if re.search(r"\smatch:%s\s" % re.escape(match), top):
        fail("%s: a process named match:%s runs: %s" % (why, match, top))
    c = srv.connect()
    c.send("VERSION:1:CONNECT:probe:MATCH:%s\n" % match)
    if (l := c.line()) != "ERROR: unknown match " + match:
        fail("%s: a client of %s got %r, not ERROR: unknown match" % (why, match, l))


def scenario_no_trace(srv):
    """A refused line changes nothing: no match, no live entry, no subscription; a bad match id on a
    first line is refused naming the rule; duplicate keys, numbers past a double and invalid JSON
    each get their own sentence."""
    for first, shown in (("VERSION:1:WATCH:x\x1b[2J\n", "x\\x1b[2J"), (b"VERSION:1:WATCH:a\xff\n", "a\\xff"),
                         ("VERSION:1:WATCH:%s\n" % ("w" * 60000), "w" * 64 + "..."),
                         ("VERSION:1:CONNECT:a:MATCH:\n", ""), ("VERSION:1:CONNECT:a:MATCH:b c\n", "b c")):
        refused(srv, first, 'ERROR: match id "%s"' % shown + ID_RULE, "bad_first_line")
    for first, shown in (("VERSION:1:WATCH:.\n", "."), ("VERSION:1:WATCH:..\n", ".."),
                         ("VERSION:1:CONNECT:a:MATCH:..\n", "..")):
        refused(srv, first, 'ERROR: match id "%s" is all dots (a URL cannot name it)' % shown, "bad_first_line")
    refused(srv, "VERSION:1:CONNECT:\x1b]0;pwn\x07:MATCH:m7\n",
            'ERROR: user "\\x1b]0;pwn\\x07" is not 1 to 64 bytes of UTF-8 without control characters', "bad_first_line")
    w = watcher(srv, "m7")
    # Refused starts on a match that does not exist yet create nothing.
    for line, want in (('{"kind":"start","home":"a\\u0007","visit":"b"}', "home contains a control character"),
                       ('{"kind":"start","home":"a","visit":"b","home_players":[[10000,"x"]]}',
                        "home_players has player number 10000 outside 0..9999"),
                       ('{"kind":"goal","kind":"start","home":"a","visit":"b"}', "key kind appears more than once"),
                       ('{"kind":"start","home":"a","visit":"b","x":{"y":1,"y":2}}', "key y appears more than once"),
                       ('{"kind":"start","home":"a","visit":"b","x":1e400}', "number 1e400 is out of range"),
                       ('{"kind":"start","home":"a","visit":"b"}\x00 and more', "invalid JSON at byte 40: a NUL byte"),
                       ('{"kind":"start","home":"\\ud800","visit":"b"}',
                        "invalid JSON at byte 31: invalid string: surrogate U+D800..U+DBFF must be followed by "
                        "U+DC00..U+DFFF"),
                       # The kind's shape is checked before the match is looked up.
                       ('{"kind":"%s"}' % ("k" * 33), "bad event kind"), ('{"kind":""}', "bad event kind"),
                       ('{"kind":"start\\u0007","home":"a","visit":"b"}', "kind contains a control character"),
                       # A start names both teams, and its rosters are lists of [number, "name"] pairs.
                       ('{"kind":"start"}', "home must be a team name of 1 to 64 bytes"),
                       ('{"kind":"start","home":1,"visit":"b"}', "home must be a team name of 1 to 64 bytes"),
                       ('{"kind":"start","home":"%s","visit":"b"}' % ("h" * 60000),
                        "home must be a team name of 1 to 64 bytes"),
                       ('{"kind":"start","home":"a","visit":"a"}', "home and visit are the same team a"),
                       ('{"kind":"start","home":"a","visit":"b","home_players":"x"}',
                        'home_players must be a list of [number, "name"] pairs'),
                       ('{"kind":"start","home":"a","visit":"b","visit_players":[[1.5,"y"]]}',
                        'visit_players entry [1.5,"y"] is not a [number 0..9999, "name of 1 to 64 bytes"] pair'),
                       ('{"kind":"start","home":"a","visit":"b","home_players":[{"n":1}]}',
                        'home_players entry {"n":1} is not a [number 0..9999, "name of 1 to 64 bytes"] pair'),
                       ('{"kind":"start","home":"a","visit":"b","home_players":[[1,"x"],[1,"dup"]]}',
                        "home_players lists number 1 twice")):
        w.send(line + "\n")
        if (r := w.line()) != "ERROR: " + want:
            fail("%s answered %r, not ERROR: %s" % (line, r, want))
        nothing_of(srv, "m7", line)
    # The watcher stays open, and a good start is event 1 of a fresh match.
    if (r := send_event(w, START)) != "OK 1":
        fail("a start after refused starts answered %r, not OK 1" % r)
    c = srv.connect()
    c.send("VERSION:1:CONNECT:alice:MATCH:m7\n")
    kind, fields, raw = c.block()
    if kind != "status" or fields.get("seq") != "1" or fields.get("home") != "elp":
        fail("the status after refused starts is %r" % raw)
    # A refused restart of a live match leaves it as it was: same status, same seq.
    w.send('{"kind":"start","kind":"start","home":"x","visit":"y"}\n')
    if (r := w.line()) != "ERROR: key kind appears more than once":
        fail("a duplicate-key restart answered %r" % r)
    listed = [m for m in srv.http_get("/matches") if m["id"] == "m7"]
    if len(listed) != 1 or listed[0]["seq"] != 1 or listed[0]["home"] != "elp":
        fail("a refused restart changed the match: %r" % listed)
    if (r := send_event(w, {"kind": "goal", "team": "elp", "player": 25})) != "OK 2":
        fail("a goal after a refused restart answered %r, not OK 2" % r)
    kind, fields, raw = c.block()
    if kind != "goal" or fields.get("seq") != "2":
        fail("the block after refused restarts is %r, not the goal seq 2" % raw)
    if srv.proc.poll() is not None:
        fail("matchstream died")
    srv.stop()


def scenario_restart(srv_factory):
    srv = srv_factory()
    w = watcher(srv, "kept")
    for e, want in ((START, "OK 1"), ({"kind": "goal", "team": "elp", "player": 25}, "OK 2"),
                    ({"kind": "period", "period": "second"}, "OK 3")):
        if (r := send_event(w, e)) != want:
            fail("%r answered %r" % (e, r))
    srv.wait_metric("matchstream_events_registered_total", "", 3)
    # The store writes on its own time; wait until the HTTP API (reading the database) has all three.
    end = time.time() + DEADLINE
    while len(srv.http_get("/matches/kept").get("events", [])) < 3:
        if time.time() > end:
            fail("the store never wrote three events")
        time.sleep(0.05)
    srv.stop()
    srv = srv_factory()
    listed = srv.http_get("/matches")
    if not any(m["id"] == "kept" and m["seq"] == 3 and m["home_score"] == 1 for m in listed):
        fail("after a restart GET /matches does not list the match as it was: %r" % listed)
    c = srv.connect()
    c.send("VERSION:1:CONNECT:late:MATCH:kept\n")
    k, f, raw = c.block()
    if k != "status" or f["seq"] != "3" or f["home_score"] != "1" or f["period"] != "second":
        fail("after a restart the status is %r" % raw)
    w = watcher(srv, "kept")
    if (r := send_event(w, {"kind": "goal", "team": "tig", "player": 7})) != "OK 4":
        fail("after a restart the next event answered %r, not OK 4" % r)
    k, f, raw = c.block()
    if k != "goal" or f["seq"] != "4":
        fail("after a restart the next block is %r" % raw)
    srv.stop()


def wait_refusing(srv, first):
    """An override takes effect at the alarm engine's next tick: connect until one is refused."""
    end = time.time() + DEADLINE
    while time.time() < end:
        c = srv.connect()
        c.send(first)
        l = c.line()
        if l.startswith("ERROR"):
            return
        time.sleep(0.05)
    fail("the valve never refused a connection")


def scenario_shedding(srv, bin_dir):
    w = watcher(srv, "shed")
    send_event(w, START)
    ctl = subprocess.run([os.path.join(bin_dir, "agner-ctl"), srv.sock, "valve", "admission", "--override", "closed",
                          "--for", "120"], capture_output=True, text=True, timeout=DEADLINE)
    if ctl.returncode != 0:
        fail("agner-ctl could not close the valve: " + ctl.stdout + ctl.stderr)
    wait_refusing(srv, "VERSION:1:CONNECT:a:MATCH:shed\n")
    for _ in range(3):
        refused(srv, "VERSION:1:CONNECT:a:MATCH:shed\n", "ERROR: overloaded, retry later", "overloaded")
    srv.wait_metric("matchstream_connections_refused_total", '{reason="overloaded"}', 3)
    subprocess.run([os.path.join(bin_dir, "agner-ctl"), srv.sock, "valve", "admission", "--clear-override"],
                   capture_output=True, text=True, timeout=DEADLINE, check=True)
    end = time.time() + DEADLINE
    while True:  # the override comes off at the next tick too
        c = srv.connect()
        c.send("VERSION:1:CONNECT:a:MATCH:shed\n")
        if c.buf or True:
            first = c.s.recv(1 << 16)
            if first.startswith(b"20"):
                break
        if time.time() > end:
            fail("after the valve opened again no client got a status")
        time.sleep(0.05)
    # The subscribe valve refuses at the user.
    subprocess.run([os.path.join(bin_dir, "agner-ctl"), srv.sock, "valve", "subscribe", "--override", "closed", "--for", "120"],
                   capture_output=True, text=True, timeout=DEADLINE, check=True)
    wait_refusing(srv, "VERSION:1:CONNECT:b:MATCH:shed\n")
    refused(srv, "VERSION:1:CONNECT:b:MATCH:shed\n", "ERROR: overloaded, retry later", "overloaded")
    srv.stop()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Peer(Server):
    """matchstream_peer.erl, compiled into tmp, on a free port (it cannot report one it picked)."""

    def __init__(self, tmp):
        peer_src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer", "matchstream_peer.erl")
        subprocess.run(["erlc", "-o", tmp, peer_src], check=True, timeout=DEADLINE)
        self.port = free_port()
        self.proc = subprocess.Popen(["erl", "-noshell", "-pa", tmp, "-run", "matchstream_peer", "main", str(self.port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        if "listening" not in line:
            fail("the Erlang peer did not start: " + line)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def normalise(raw):
    """A block with its instant taken out: the stamp line's date and time, and at_us."""
    raw = re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d: ", "STAMP: ", raw)
    return re.sub(r"(\n    at_us: )\d+", r"\1AT", raw)


def play(srv, match_file):
    """Plays a bundled match (no sleeps) with one client subscribed after start; returns its blocks."""
    with open(match_file) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    match = lines[0]["match"]
    events = [e for e in lines[1:] if "kind" in e]
    w = watcher(srv, match)
    answers = [send_event(w, events[0])]
    c = srv.connect()
    c.send("VERSION:1:CONNECT:compat:MATCH:%s\n" % match)
    blocks = [normalise(c.block()[2])]
    for e in events[1:]:
        answers.append(send_event(w, e))
    while (b := c.block()) is not None:
        blocks.append(normalise(b[2]))
    # Errors a watcher gets, answered alike.
    answers.append(send_event(w, {"kind": "goal"}))
    w.send("[1,2]\n")
    answers.append(w.line())
    return answers, blocks


def scenario_compat(bin_dir, tmp):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    files = sorted(os.path.join(root, "examples", "matchstream", "matches", f)
                   for f in os.listdir(os.path.join(root, "examples", "matchstream", "matches")))
    peer = Peer(tmp)
    ours = Server(bin_dir, tmp)
    try:
        for f in files:
            theirs_a, theirs_b = play(peer, f)
            ours_a, ours_b = play(ours, f)
            if ours_a != theirs_a:
                fail("%s: the watcher's answers differ:\n ours   %r\n theirs %r" % (f, ours_a, theirs_a))
            if len(ours_b) != len(theirs_b):
                fail("%s: %d blocks here, %d from the peer" % (f, len(ours_b), len(theirs_b)))
            for a, b in zip(ours_b, theirs_b):
                if a != b:
                    fail("%s: a block differs:\n--- ours\n%s\n--- the peer's\n%s" % (f, a, b))
        for first in ("HELLO\n", "VERSION:2:x\n", "VERSION:1:CONNECT:a:MATCH:nope\n"):
            got = []
            for srv in (ours, peer):
                c = srv.connect()
                c.send(first)
                got.append(c.line())
            if got[0] != got[1]:
                fail("%r: ours %r, the peer's %r" % (first, got[0], got[1]))
    finally:
        peer.stop()
    ours.stop()


def main():
    bin_dir, scenario, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
    if scenario == "session":
        scenario_session(Server(bin_dir, tmp))
    elif scenario == "bad-input":
        check_flags(bin_dir, tmp)
        scenario_bad_input(Server(bin_dir, tmp))
    elif scenario == "restart":
        scenario_restart(lambda: Server(bin_dir, tmp, db=os.path.join(tmp, "ms.db")))
    elif scenario == "no-trace":
        scenario_no_trace(Server(bin_dir, tmp))
    elif scenario == "compat":
        scenario_compat(bin_dir, tmp)
    elif scenario == "shedding":
        scenario_shedding(Server(bin_dir, tmp), bin_dir)
    else:
        fail("unknown scenario " + scenario)
    print("ok: " + scenario)


if __name__ == "__main__":
    main()
