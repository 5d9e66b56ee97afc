"""Crash test (SPEC §9): a load generator sends numbered events from many connections and records
every acknowledged one (202, or 200 with wait=true); the server is killed with SIGKILL at random
moments and restarted on the same data directory, ten times. At the end every acknowledged event
is in the table exactly once, and no event is there twice. Bounded to about two minutes
(SLUICE_CRASH_ROUNDS and SLUICE_CRASH_SECONDS shorten or lengthen it)."""
import http.client
import json
import os
import random
import threading
import time

import pytest

ROUNDS = int(os.environ.get("SLUICE_CRASH_ROUNDS", "10"))
MAX_UP_S = float(os.environ.get("SLUICE_CRASH_SECONDS", "4.0"))
CONNECTIONS = 12


class Load:
    """CONNECTIONS threads, each with its own keep-alive connection, sending 1-20 events per
    request with ids thread * 10^9 + counter; an id is recorded only when the answer says the
    rows were accepted. Connection errors (the server is down) are retried after a pause."""

    def __init__(self, token):
        self.token = token
        self.port = None
        self.acked = set()
        self.sent = 0
        self.errors = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(CONNECTIONS)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def run(self, tid):
        rnd = random.Random(tid)
        counter = 0
        conn, conn_port = None, None
        while not self.stop.is_set():
            port = self.port
            if port is None:
                time.sleep(0.02)
                continue
            if conn is None or conn_port != port:
                if conn is not None:
                    conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                conn_port = port
            n = rnd.randint(1, 20)
            ids = [tid * 10**9 + counter + i for i in range(n)]
            counter += n
            body = b"".join(b'{"id":%d}\n' % i for i in ids)
            wait = rnd.random() < 0.1
            path = "/v0/events?name=crash&token=%s%s" % (self.token, "&wait=true" if wait else "")
            try:
                conn.request("POST", path, body=body)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = None
                time.sleep(0.05)
                continue
            with self.lock:
                self.sent += 1
                # 504 (wait timed out) and a 500 from a failed insert also mean "accepted".
                if resp.status in (200, 202, 500, 504) and (
                        resp.status != 500 or b"accepted" in data):
                    self.acked.update(ids)
                else:
                    self.errors[resp.status] = self.errors.get(resp.status, 0) + 1
                    if resp.status == 503:
                        time.sleep(0.05)


def test_kill9_loses_and_duplicates_nothing(make_server):
    rnd = random.Random(int(os.environ.get("SLUICE_CRASH_SEED", "20261122")))
    s = make_server(args=["--flush-interval", "100", "--rate-limit-requests", "-1",
                          "--rate-limit-bytes", "-1", "--wait-timeout", "5"],
                    label="crash")
    s.create_ds("crash", "SCHEMA >\n    `id` UInt64 `json:$.id`\n").expect(200)
    load = Load(s.admin_token)
    load.port = s.port
    load.start()
    t0 = time.monotonic()
    try:
        for _ in range(ROUNDS):
            time.sleep(rnd.uniform(0.3, MAX_UP_S))
            rc = s.kill()
            assert rc == -9, "sluice serve exited with %r before the kill" % rc
            load.port = None
            s.start()
            load.port = s.port
        time.sleep(1.0)
    finally:
        load.join()
    acked = set(load.acked)
    assert len(acked) > 1000, "too little load: %d events acknowledged, answers %r" % (
        len(acked), load.errors)
    # Everything acknowledged reaches the table (replayed and flushed after the last start).
    deadline = time.monotonic() + 60
    while True:
        total = s.count("crash")
        if total >= len(acked) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    dups = s.scalar("SELECT count() - uniqExact(id) FROM crash")
    assert dups == 0, "%d duplicated events" % dups
    ids = s.req("GET", "/v0/sql", params={
        "q": "SELECT id FROM crash FORMAT JSONCompactColumns"}).expect(200).json()[0]
    present = set(ids)
    missing = acked - present
    assert not missing, "%d acknowledged events are missing (e.g. %r); %d in the table" % (
        len(missing), sorted(missing)[:5], len(present))
    print("crash test: %d rounds in %.0f s, %d requests, %d events acknowledged, %d in the "
          "table, other answers %r" % (ROUNDS, time.monotonic() - t0, load.sent, len(acked),
                                       len(present), load.errors))
