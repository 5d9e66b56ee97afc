"""Restart (SPEC §9, §11): SIGTERM flushes what was accepted and exits 0; a new process on the same
data dir has the same data sources, tokens and rows, and keeps working."""
import json
import signal
import threading
import time

SCHEMA = """DESCRIPTION >
    restart test

TOKEN "restart_appender" APPEND

SCHEMA >
    `id` UInt64 `json:$.id`,
    `v` Nullable(String) `json:$.v`
"""


def test_sigterm_flushes_and_restart_keeps_everything(make_server):
    s = make_server(label="restart")
    created = s.create_ds("kept", SCHEMA).expect(200).json()
    file_before = s.req("GET", "/v0/datasources/kept.datasource").expect(200).text
    get_before = s.req("GET", "/v0/datasources/kept").expect(200).json()
    reader = s.create_token("restart_reader", ["DATASOURCES:READ:kept"])
    tokens_before = s.req("GET", "/v0/tokens").expect(200).json()
    # Rows answered 202 and not yet flushed (default flush interval 500 ms), then SIGTERM at once.
    accepted = quarantined = 0
    for i in range(50):
        body = b"".join(b'{"id":%d,"v":"r%d"}\n' % (i * 10 + j, i) for j in range(10))
        if i % 10 == 0:
            body += b'{"id":"bad"}\n'
        r = s.events("kept", body).expect(202)
        accepted += r.json()["successful_rows"]
        quarantined += r.json()["quarantined_rows"]
    assert (accepted, quarantined) == (500, 5)
    # Auto-created data source too.
    s.events("kept_auto", b'{"k":"x","n":1}\n{"k":"y","n":2}\n').expect(202)
    rc = s.stop(signal.SIGTERM)
    assert not s.killed_after_timeout, "sluice serve did not exit within the SIGTERM timeout"
    assert rc == 0, "sluice serve exited with %r after SIGTERM" % rc

    s.start()
    assert s.count("kept") == 500
    assert s.count("kept_quarantine") == 5
    assert s.count("kept_auto") == 2
    assert s.scalar("SELECT uniqExact(id) FROM kept") == 500
    names = [d["name"] for d in s.req("GET", "/v0/datasources").expect(200).json()["datasources"]]
    assert {"kept", "kept_auto"} <= set(names), names
    assert s.req("GET", "/v0/datasources/kept.datasource").expect(200).text == file_before
    get_after = s.req("GET", "/v0/datasources/kept").expect(200).json()
    assert get_after["columns"] == get_before["columns"]
    assert s.req("GET", "/v0/tokens").expect(200).json() == tokens_before
    # Tokens still work: the scoped reader, the TOKEN-line appender, the admin.
    assert s.scalar("SELECT count() FROM kept", token=reader) == 500
    s.events("kept", b'{"id":1}', token=reader).expect_error(403)
    appender = {t["name"]: t["token"] for t in created.get("tokens", [])}.get("restart_appender")
    if appender:
        s.events("kept", b'{"id":100000}', token=appender, wait=True).expect(200)
    else:
        s.events("kept", b'{"id":100000}', wait=True).expect(200)
    assert s.count("kept") == 501
    s.events("kept_auto", b'{"k":"z","n":3}', wait=True).expect(200)
    assert s.count("kept_auto") == 3
    # Deleted things stay deleted across a restart.
    s.req("DELETE", "/v0/tokens/restart_reader").expect(200)
    s.req("DELETE", "/v0/datasources/kept_auto").expect(200)
    assert s.stop() == 0
    s.start()
    s.req("GET", "/v0/datasources/kept_auto").expect_error(404)
    s.sql("SELECT 1", token=reader).expect_error(403)
    assert s.count("kept") == 501


def test_sigterm_answers_parked_wait_requests(make_server):
    """wait=true requests in flight when SIGTERM arrives get an answer (200 after the final
    flush, or 503), and every row answered 200 is there after the restart."""
    s = make_server(args=[], label="parked")
    s.create_ds("parked", "SCHEMA >\n    `id` UInt64\n").expect(200)
    answers = []

    def send(i):
        try:
            r = s.events("parked", b'{"id":%d}' % i, wait=True)
            answers.append((i, r.status, r.body))
        except OSError as e:
            answers.append((i, None, repr(e)))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    rc = s.stop(signal.SIGTERM)
    for t in threads:
        t.join(timeout=30)
    assert rc == 0
    ok = [i for i, st, _ in answers if st == 200]
    assert all(st in (200, 503, None) for _, st, _ in answers), answers
    for i, st, body in answers:
        if st == 200:
            assert json.loads(body) == {"successful_rows": 1, "quarantined_rows": 0}
    s.start()
    got = {int(x["id"]) for x in s.sql_rows("SELECT id FROM parked")}
    assert set(ok) <= got, (ok, got)
