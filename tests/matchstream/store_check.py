"""MatchStream store checks over real loopback sockets (run by store_test.sh beside it).

Usage: python3 store_check.py BIN_DIR SCENARIO TMPDIR
  durable: watchers pipeline events into several matches; SIGTERM while they stream; every event a
           watcher got "OK <seq>" for must be in the database and each stored event was answered (the
           last OK seq per match equals the stored max(seq), and the stored seqs run 1..max without a hole); after a restart each
           match's next event gets the stored max(seq) + 1.
  rerun:   a match played to its end and started again holds only the new run (GET /matches/<id>).
  locked:  a write the store cannot make (another connection holds the lock) answers the watcher
           "ERROR: not stored: ..." after the busy timeout and counts in matchstream_store_errors_total.
  damaged: a damaged database file stops the program at start with a sentence naming the file, and
           --db naming a directory says it is a directory.
Every wait is on a condition with a generous deadline, never a fixed sleep.
"""
import os
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ms_check import DEADLINE, START, Server, fail, send_event, watcher  # noqa: E402

MATCHES = 6
EVENTS = 4000  # per match, pipelined: far more than the store writes before the SIGTERM


def scenario_durable(bin_dir, tmp):
    path = os.path.join(tmp, "durable.db")
    srv = Server(bin_dir, tmp, db=path)
    last_ok = {}
    oks = [0]
    errors = []
    lock = threading.Lock()

    def read_answers(match, w):
        while True:
            try:
                chunk = w.s.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            w.buf += chunk
            while b"\n" in w.buf:
                line, w.buf = w.buf.split(b"\n", 1)
                text = line.decode()
                with lock:
                    if text.startswith("OK "):
                        seq = int(text[3:])
                        if seq <= last_ok.get(match, 0):
                            errors.append("%s: OK %d after OK %d" % (match, seq, last_ok[match]))
                        last_ok[match] = seq
                        oks[0] += 1
                    elif not text.startswith("ERROR: not stored"):
                        errors.append("%s: unexpected answer %r" % (match, text))

    readers = []
    for i in range(MATCHES):
        match = "durable-%d" % i
        w = watcher(srv, match)
        if (r := send_event(w, START)) != "OK 1":
            fail("%s: the start answered %r" % (match, r))
        last_ok[match] = 1
        t = threading.Thread(target=read_answers, args=(match, w), daemon=True)
        t.start()
        readers.append(t)
        goal = ('{"kind":"goal","team":"elp","player":25}\n' * EVENTS).encode()
        threading.Thread(target=lambda w=w, goal=goal: _send_quietly(w, goal), daemon=True).start()
    # SIGTERM while the events stream: after some answers, long before all of them.
    end = time.time() + DEADLINE
    while True:
        with lock:
            n = oks[0]
        if n >= MATCHES * 50:
            break
        if time.time() > end:
            fail("the watchers got only %d OKs in %.0f s" % (n, DEADLINE))
        time.sleep(0.01)
    took = srv.stop()
    for t in readers:
        t.join(DEADLINE)
    if errors:
        fail("; ".join(errors[:5]))
    with lock:
        total = oks[0]
    if total >= MATCHES * (EVENTS + 1):
        fail("every event was answered before the SIGTERM: the check proved nothing (raise EVENTS)")
    db = sqlite3.connect(path)
    gaps = []
    for match, ok in sorted(last_ok.items()):
        seqs = [r[0] for r in db.execute("SELECT seq FROM events WHERE match = ? ORDER BY seq", (match,))]
        stored = seqs[-1] if seqs else 0
        # The OK follows the commit (never more than stored), and on SIGTERM the node drains: watchers
        # take no new line and the events in flight get their answer first (never less).
        if ok > stored:
            fail("%s: the watcher got OK %d but the database holds events up to seq %d only" % (match, ok, stored))
        if ok < stored:
            fail("%s: the database holds events up to seq %d but the watcher heard OK %d only (no drain?)" %
                 (match, stored, ok))
        if seqs != list(range(1, stored + 1)):
            fail("%s: the stored seqs are not 1..%d without a hole" % (match, stored))
        gaps.append(stored - ok)
    db.close()
    # After a restart each match continues after its stored seq: no seq is given to two events.
    srv = Server(bin_dir, tmp, db=path)
    for match in sorted(last_ok):
        stored = sqlite3.connect(path).execute("SELECT max(seq) FROM events WHERE match = ?", (match,)).fetchone()[0]
        w = watcher(srv, match)
        if (r := send_event(w, {"kind": "goal", "team": "tig", "player": 7})) != "OK %d" % (stored + 1):
            fail("%s: after a restart the next event answered %r, not OK %d" % (match, r, stored + 1))
    srv.stop()
    print("durable: %d OKs before SIGTERM (stop took %.2f s), stored minus last OK per match: %s" %
          (total, took, gaps))


def scenario_rerun(bin_dir, tmp):
    srv = Server(bin_dir, tmp, db=os.path.join(tmp, "rerun.db"))
    w = watcher(srv, "rerun")
    for e, want in ((START, "OK 1"), ({"kind": "goal", "team": "elp", "player": 25}, "OK 2"),
                    ({"kind": "goal", "team": "elp", "player": 14}, "OK 3"), ({"kind": "end"}, "OK 4")):
        if (r := send_event(w, e)) != want:
            fail("first run: %r answered %r" % (e, r))
    w = watcher(srv, "rerun")
    for e, want in ((START, "OK 1"), ({"kind": "goal", "team": "tig", "player": 7}, "OK 2")):
        if (r := send_event(w, e)) != want:
            fail("second run: %r answered %r" % (e, r))
    # The OKs came after the commits: the database already holds the second run, and only it.
    got = srv.http_get("/matches/rerun")
    kinds = [e.get("kind") for e in got.get("events", [])]
    if kinds != ["start", "goal"] or got["events"][1].get("fields", {}).get("team") != "tig":
        fail("after a second run GET /matches/rerun mixes runs: %r" % got.get("events"))
    srv.stop()


def scenario_locked(bin_dir, tmp):
    path = os.path.join(tmp, "locked.db")
    srv = Server(bin_dir, tmp, db=path)
    w = watcher(srv, "locked")
    if (r := send_event(w, START)) != "OK 1":
        fail("the start answered %r" % r)
    if srv.metric("matchstream_store_errors_total") != 0:
        fail("matchstream_store_errors_total is not 0 before any failed write")
    # Another connection holds the write lock: the store's write waits its busy timeout (1 s), then fails.
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    t0 = time.time()
    r = send_event(w, {"kind": "goal", "team": "elp", "player": 25})
    took = time.time() - t0
    if not r.startswith("ERROR: not stored: ") or "locked" not in r:
        fail("an event the store could not write (database locked) answered %r" % r)
    srv.wait_metric("matchstream_store_errors_total", "", 1)
    other.execute("ROLLBACK")
    other.close()
    if (r := send_event(w, {"kind": "goal", "team": "elp", "player": 14})) != "OK 3":
        fail("after the lock was released the next event answered %r, not OK 3" % r)
    took_stop = srv.stop()
    print("locked: the ERROR came after %.2f s, the stop took %.2f s" % (took, took_stop))


def scenario_damaged(bin_dir, tmp):
    path = os.path.join(tmp, "damaged.db")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE filler(x TEXT)")
    db.executemany("INSERT INTO filler VALUES(?)", [("a" * 300,)] * 400)
    db.commit()
    db.close()
    with open(path, "r+b") as f:
        f.seek(8 * 4096)
        f.write(b"\x5a" * (2 * 4096))
    for db_arg, want in ((path, "matchstream: store %s: is damaged" % path),
                         (tmp, "matchstream: store %s: is a directory" % tmp)):
        args = [os.path.join(bin_dir, "matchstream"), "--name", "mscheck", "--listen", "127.0.0.1:0", "--http",
                "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--socket", os.path.join(tmp, "ms.sock"),
                "--db", db_arg, "--cookie-file", os.path.join(tmp, "cookie")]
        p = subprocess.run(args, capture_output=True, text=True, timeout=DEADLINE)
        if p.returncode != 1 or want not in p.stderr:
            fail("--db %s: exit %d, stderr %r (wanted 1 and %r)" % (db_arg, p.returncode, p.stderr, want))


def _send_quietly(w, data):
    try:
        w.send(data)
    except OSError:
        pass  # the server stopped while we were still sending: expected


def main():
    bin_dir, scenario, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
    {"durable": scenario_durable, "rerun": scenario_rerun, "locked": scenario_locked, "damaged": scenario_damaged}[scenario](bin_dir, tmp)
    print("ok: " + scenario)


if __name__ == "__main__":
    main()
