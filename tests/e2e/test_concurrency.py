"""Many keep-alive clients sending one row per request at once: every accepted row is in the table
exactly once (count() = uniqExact(id) = number of 2xx answers).

100 clients x 1000 requests (about 25 s on 2 cores). SLUICE_E2E_QUICK=1 runs 100 x 200;
SLUICE_E2E_CLIENTS and SLUICE_E2E_REQUESTS override both."""
import http.client
import os
import threading
import time

QUICK = os.environ.get("SLUICE_E2E_QUICK") == "1"
CLIENTS = int(os.environ.get("SLUICE_E2E_CLIENTS", "100"))
PER_CLIENT = int(os.environ.get("SLUICE_E2E_REQUESTS", "200" if QUICK else "1000"))
SCHEMA = "SCHEMA >\n    `id` UInt64 `json:$.id`,\n    `client` UInt32 `json:$.c`\n"


def client(port, token, ds, c, n, results):
    ok = other = transport = retried = 0
    statuses = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    path = "/v0/events?name=" + ds
    hdrs = {"Authorization": "Bearer " + token, "Connection": "keep-alive"}
    i = 0
    while i < n:
        body = b'{"id":%d,"c":%d}' % (c * 10_000_000 + i, c)
        try:
            conn.request("POST", path, body=body, headers=hdrs)
            r = conn.getresponse()
            r.read()
        except (OSError, http.client.HTTPException):
            # The fate of this row is unknown: count it and do not resend it.
            transport += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            i += 1
            continue
        if r.status == 429:
            # Rate limited: nothing was stored, so resending the same id is safe.
            retried += 1
            time.sleep(min(float(r.headers.get("Retry-After") or 1), 1.0) / 10)
            continue
        statuses[r.status] = statuses.get(r.status, 0) + 1
        if 200 <= r.status < 300:
            ok += 1
        else:
            other += 1
        i += 1
        if r.headers.get("Connection", "").lower() == "close":
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.close()
    results[c] = (ok, other, transport, retried, statuses)


def test_concurrent_single_row_requests(make_server, serve_flag):
    args = []
    flag = serve_flag("--rate-limit", "--rate-limit-requests", "--ratelimit-requests",
                      "--rate-limit-rps", "--requests-per-second", "--rps")
    if flag:
        args += [flag, "1000000"]  # the default 1000 req/s per data source would dominate
    s = make_server(args=args, label="conc")
    ds = "conc"
    s.create_ds(ds, SCHEMA).expect(200)
    results = {}
    threads = [threading.Thread(target=client, args=(s.port, s.admin_token, ds, c, PER_CLIENT,
                                                     results)) for c in range(CLIENTS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    assert len(results) == CLIENTS
    ok = sum(r[0] for r in results.values())
    other = sum(r[1] for r in results.values())
    transport = sum(r[2] for r in results.values())
    retried = sum(r[3] for r in results.values())
    statuses = {}
    for r in results.values():
        for k, v in r[4].items():
            statuses[k] = statuses.get(k, 0) + v
    print("%d clients x %d requests: %.1f s, %.0f req/s, statuses %s, 429 retries %d" % (
        CLIENTS, PER_CLIENT, took, CLIENTS * PER_CLIENT / took, statuses, retried))
    assert transport == 0, "%d requests failed at the transport level" % transport
    assert other == 0, "non-2xx answers: %s" % statuses
    assert ok == CLIENTS * PER_CLIENT
    # A wait=true request flushes; then everything accepted before it is committed too.
    s.events(ds, b'{"id":999999999999,"c":9999}', wait=True).expect(200)
    s.wait_count(ds, ok + 1, timeout=10)
    d = s.sql_rows("SELECT count() AS n, uniqExact(id) AS u, uniqExact(client) AS c FROM %s "
                   "WHERE client != 9999" % ds)[0]
    assert (int(d["n"]), int(d["u"]), int(d["c"])) == (ok, ok, CLIENTS)
    per = s.sql_rows("SELECT client, count() AS n, min(id) AS lo, max(id) AS hi FROM %s "
                     "WHERE client != 9999 GROUP BY client ORDER BY client" % ds)
    for row in per:
        c = int(row["client"])
        assert int(row["n"]) == PER_CLIENT, row
        assert int(row["lo"]) == c * 10_000_000 and \
            int(row["hi"]) == c * 10_000_000 + PER_CLIENT - 1, row
