"""ClickHouse outage test (docs/durability.md): with the SLUICE_FAULT_INSERT_FILE hook armed every
insert fails, as if ClickHouse were down. Numbered events keep coming from a few threads: they get
202 while the write-ahead log has room (wait=true ones get 504), then 503 with Retry-After once
the --max-buffer-bytes budget is used, and /v0/ready says not ready. The server is killed (-9) and
restarted during the outage; then the fault is lifted and every acknowledged event must reach the
table exactly once. About 10-30 s."""
import http.client
import os
import random
import threading
import time

BUDGET = 2 << 20
THREADS = 4
PAD = "x" * 400  # makes ~430-byte events so the budget fills after a few thousand


class Load:
    """THREADS connections sending 10-30 events per request with ids thread * 10^9 + counter
    (10 % with wait=true). Acknowledged ids (200, 202, 504, 500 "accepted") are recorded with
    the bytes sent in them; for each "buffer is full" 503 the acknowledged bytes at that moment
    are recorded."""

    def __init__(self, token, port):
        self.token = token
        self.port = port
        self.acked = set()
        self.acked_bytes = 0
        self.statuses = {}
        self.budget_503s = []  # acked_bytes when a "buffer is full" 503 came
        self.retry_after_missing = 0
        self.lock = threading.Lock()
        self.counters = [0] * THREADS
        self.threads = []

    def start(self):
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(THREADS)]
        for t in self.threads:
            t.start()

    def join(self, timeout=30):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(timeout=max(0.1, deadline - time.monotonic()))

    def run(self, tid):
        """Sends until the first 503 (the budget is used up)."""
        rnd = random.Random(tid)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            while True:
                n = rnd.randint(10, 30)
                base = tid * 10**9 + self.counters[tid]
                self.counters[tid] += n
                ids = list(range(base, base + n))
                body = b"".join(b'{"id":%d,"pad":"%s"}\n' % (i, PAD.encode()) for i in ids)
                wait = rnd.random() < 0.1
                path = "/v0/events?name=outage&token=%s%s" % (self.token,
                                                              "&wait=true" if wait else "")
                try:
                    conn.request("POST", path, body=body)
                    resp = conn.getresponse()
                    data = resp.read()
                except (OSError, http.client.HTTPException):
                    conn.close()
                    time.sleep(0.05)
                    continue
                with self.lock:
                    self.statuses[resp.status] = self.statuses.get(resp.status, 0) + 1
                    if resp.status in (200, 202, 504) or (resp.status == 500 and
                                                          b"accepted" in data):
                        self.acked.update(ids)
                        self.acked_bytes += len(body)
                    elif resp.status == 503:
                        if resp.getheader("Retry-After") is None:
                            self.retry_after_missing += 1
                        if b"buffer is full" in data:
                            self.budget_503s.append(self.acked_bytes)
                if resp.status == 503:
                    return
        finally:
            conn.close()


def test_outage_keeps_rows_in_wal_and_delivers_them_once(make_server, tmp_path):
    fault = str(tmp_path / "clickhouse-down")
    open(fault, "w").close()
    s = make_server(args=["--max-buffer-bytes", str(BUDGET), "--wait-timeout", "1",
                          "--flush-interval", "100", "--rate-limit-requests", "-1",
                          "--rate-limit-bytes", "-1"],
                    env={"SLUICE_FAULT_INSERT_FILE": fault}, label="outage")
    s.create_ds("outage", "SCHEMA >\n    `id` UInt64 `json:$.id`,\n"
                "    `pad` String `json:$.pad`\n").expect(200)
    t0 = time.monotonic()

    # 1. Outage: fill the budget. Each thread stops at its first 503.
    load = Load(s.admin_token, s.port)
    load.start()
    load.join(timeout=40)
    assert all(not t.is_alive() for t in load.threads), "the budget never ran out: %r" % (
        load.statuses)
    assert load.statuses.get(202, 0) > 50, load.statuses
    assert load.statuses.get(504, 0) > 0, "no wait=true request timed out: %r" % load.statuses
    assert load.statuses.get(200, 0) == 0, "rows were committed during the outage"
    assert load.budget_503s, "no 'buffer is full' 503: %r" % load.statuses
    assert load.retry_after_missing == 0
    # 503 only once roughly the budget was accepted (request bytes ~ WAL bytes for these rows).
    assert min(load.budget_503s) >= BUDGET * 0.6, (
        "503 after only %d bytes accepted (budget %d)" % (min(load.budget_503s), BUDGET))
    m = s.metrics()
    used = m["sluice_buffer_used_bytes"]
    assert BUDGET * 0.8 <= used <= BUDGET, "buffer used %r of %d" % (used, BUDGET)
    assert m["sluice_flush_failures_total"] > 0
    s.req("GET", "/v0/ready", token=None).expect(503)
    assert s.count("outage") == 0, "the fault hook let an insert through"
    big = b"".join(b'{"id":%d,"pad":"%s"}\n' % (8 * 10**9 + i, PAD.encode()) for i in range(200))
    r = s.events("outage", big)
    assert r.status == 503 and r.header("Retry-After"), r

    # 2. Restart during the outage: the rows wait in the WAL, the budget is still used.
    assert s.kill() == -9
    s.start()
    assert s.count("outage") == 0
    s.req("GET", "/v0/ready", token=None).expect(503)
    r = s.events("outage", big)
    assert r.status == 503 and r.header("Retry-After"), r

    # 3. Restore: everything acknowledged arrives, once.
    os.unlink(fault)
    acked = set(load.acked)
    deadline = time.monotonic() + 30
    while s.count("outage") < len(acked) and time.monotonic() < deadline:
        time.sleep(0.25)
    dups = s.scalar("SELECT count() - uniqExact(id) FROM outage")
    assert dups == 0, "%d duplicated events" % dups
    ids = s.req("GET", "/v0/sql", params={
        "q": "SELECT id FROM outage FORMAT JSONCompactColumns"}).expect(200).json()[0]
    present = set(ids)
    missing = acked - present
    assert not missing, "%d acknowledged events missing (e.g. %r); %d in the table" % (
        len(missing), sorted(missing)[:5], len(present))
    # Room again: ready, and a wait=true request is committed.
    deadline = time.monotonic() + 10
    while s.req("GET", "/v0/ready", token=None).status != 200 and time.monotonic() < deadline:
        time.sleep(0.25)
    s.req("GET", "/v0/ready", token=None).expect(200)
    s.events("outage", b'{"id":9000000000,"pad":""}\n', wait=True).expect(200)
    print("outage test: %.0f s, answers %r, %d events acknowledged (%d bytes), first 503 at %d "
          "bytes, buffer used %d of %d" % (time.monotonic() - t0, load.statuses, len(acked),
                                           load.acked_bytes, min(load.budget_503s), used,
                                           BUDGET))
