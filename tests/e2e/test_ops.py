"""Operations (SPEC §11): /v0/health, /v0/ready, /metrics in Prometheus text with counters that
move, structured logs, unknown routes."""
import json
import socket
import time

SCHEMA = "SCHEMA >\n    `id` UInt64 `json:$.id`\n"


def total(metrics, fragment, exclude=()):
    """Sum of the samples whose name contains `fragment` (and none of `exclude`), without
    histogram parts."""
    s = 0.0
    for k, v in metrics.items():
        name = k.split("{")[0]
        if fragment in name and not any(e in name for e in exclude) and \
                not name.endswith(("_bucket", "_sum", "_count")):
            s += v
    return s


def test_health(server):
    r = server.req("GET", "/v0/health", token=None).expect(200)
    r.expect_rate_headers()
    r = server.req("GET", "/v0/health").expect(200)


def test_ready(server):
    r = server.req("GET", "/v0/ready", token=None).expect(200)
    assert r.body.strip()


def test_metrics_format(server):
    r = server.req("GET", "/metrics", token=None).expect(200)
    ctype = r.header("Content-Type") or ""
    assert ctype.startswith("text/plain"), ctype
    m = server.metrics()  # asserts every line parses
    assert m, r.text
    # Every sample has a # TYPE line for its family.
    types = {line.split()[2] for line in r.text.splitlines() if line.startswith("# TYPE ")}
    for k in m:
        fam = k.split("{")[0]
        base = fam
        for suf in ("_bucket", "_sum", "_count"):
            if fam.endswith(suf) and fam[: -len(suf)] in types:
                base = fam[: -len(suf)]
        assert base in types, "no # TYPE line for %s" % fam


def test_metrics_counters_move(server, uniq):
    name = uniq("met")
    server.create_ds(name, SCHEMA).expect(200)
    before = server.metrics()
    for i in range(5):
        server.events(name, b'{"id":%d}\n{"id":%d}\n' % (i, i + 100)).expect(202)
    r = server.events(name, b'{"id":1}\n{"id":"x"}\n{"id":2}\n', wait=True).expect(200)
    assert r.json() == {"successful_rows": 2, "quarantined_rows": 1}
    server.wait_count(name, 12, timeout=3)
    after = server.metrics()
    req_delta = total(after, "request", exclude=("bytes", "parked")) - \
        total(before, "request", exclude=("bytes", "parked"))
    assert req_delta >= 6, (req_delta, after)
    rows_delta = total(after, "rows", exclude=("quarantin", "discard", "buffer")) - \
        total(before, "rows", exclude=("quarantin", "discard", "buffer"))
    assert rows_delta >= 12, (rows_delta, after)
    q_delta = total(after, "quarantin") - total(before, "quarantin")
    assert q_delta >= 1, (q_delta, after)
    b_delta = total(after, "bytes", exclude=("buffer",)) - total(before, "bytes",
                                                                exclude=("buffer",))
    assert b_delta > 0, after


def test_structured_logs(server):
    server.req("GET", "/v0/health", token=None).expect(200)
    server.events(None, b'{"a":1}').expect_error(400)
    time.sleep(0.2)
    lines = server.stderr_text().splitlines()
    parsed = []
    for line in lines:
        line = line.strip()
        if line.startswith("{"):
            try:
                parsed.append(json.loads(line))
            except ValueError:
                pass
    assert parsed, "no JSON log line on stderr: %r" % lines[:20]
    assert any("level" in p and ("msg" in p or "message" in p) for p in parsed), parsed[:5]


def test_unknown_route_404(server):
    server.req("GET", "/v0/nothing_here").expect_error(404)
    server.req("GET", "/").expect_error(404)
    server.req("POST", "/v1/events?name=x", body=b'{"a":1}').expect_error(404)


def test_wrong_method(server):
    r = server.req("GET", "/v0/events", params={"name": "x"})
    assert r.status in (404, 405), r
    r.expect_error(r.status)
    r = server.req("PUT", "/v0/tokens")
    assert r.status in (404, 405), r
    r.expect_error(r.status)


def test_health_and_ready_not_rate_limited(make_server):
    """Liveness/readiness probes must not be refused because other API traffic used the
    request budget (a 429 on /v0/health would make an orchestrator restart a healthy server)."""
    s = make_server(args=["--rate-limit-requests", "2"])
    for _ in range(6):
        s.sql("SELECT 1")
    for path in ("/v0/health", "/v0/ready", "/metrics"):
        for _ in range(3):
            s.req("GET", path, token=None).expect(200)


def test_slow_client_is_disconnected(make_server):
    """A client that stops mid-request is dropped after --connection-timeout, and does not
    keep others from being served meanwhile."""
    s = make_server(args=["--connection-timeout", "1"])
    socks = []
    for _ in range(20):
        c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        c.sendall(b"POST /v0/events?name=slow HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                  b"\r\n{\"a\":")
        socks.append(c)
    s.req("GET", "/v0/health", token=None).expect(200)
    time.sleep(3)
    for c in socks:
        try:
            data = c.recv(4096)
        except (ConnectionResetError, socket.timeout) as e:
            data = e
        assert data == b"" or isinstance(data, ConnectionResetError) or \
            data.startswith(b"HTTP/1.1 4"), data
        c.close()
    s.req("GET", "/v0/health", token=None).expect(200)
    s.sql("SELECT count() FROM system.tables WHERE name = 'slow'").expect(200)
    assert s.scalar("SELECT count() FROM system.tables WHERE name = 'slow'") == 0
