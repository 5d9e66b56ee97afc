"""Idempotent retries (SPEC §2): a request whose decompressed body (or Idempotency-Key header)
matches one accepted for the same data source within the window is not inserted again; the answer
repeats the original counts with `Idempotent-Replayed: true`. The window survives restarts and is
configurable (--dedup-window)."""
import gzip
import threading
import time

SCHEMA = """SCHEMA >
    `id` UInt64 `json:$.id`,
    `v` String `json:$.v`
"""


def body(ids, bad=0):
    rows = b"".join(b'{"id":%d,"v":"x"}\n' % i for i in ids)
    return rows + b'{"id":"not a number"}\n' * bad


def replayed(r):
    return (r.header("Idempotent-Replayed") or "").lower() == "true"


def test_same_body_twice_is_inserted_once(server, uniq):
    name = uniq("idem")
    server.create_ds(name, SCHEMA).expect(200)
    b = body(range(10), bad=2)
    first = server.events(name, b).expect(202)
    assert not replayed(first)
    assert first.json() == {"successful_rows": 10, "quarantined_rows": 2}
    second = server.events(name, b).expect(202)
    assert replayed(second), dict(second.headers)
    assert second.json() == first.json()
    # The same bytes gzip-compressed hash the same (the key is of the decompressed body).
    third = server.events(name, gzip.compress(b), headers={"Content-Encoding": "gzip"})
    third.expect(202)
    assert replayed(third) and third.json() == first.json()
    # wait=true on a retry answers 200 once the original rows are committed.
    fourth = server.events(name, b, wait=True).expect(200)
    assert replayed(fourth) and fourth.json() == first.json()
    assert server.count(name) == 10
    assert server.count(name + "_quarantine") == 2
    # A different body is inserted; so is the same body for another data source.
    server.events(name, body(range(10, 15)), wait=True).expect(200)
    assert server.count(name) == 15
    other = uniq("idem_other")
    server.create_ds(other, SCHEMA).expect(200)
    r = server.events(other, b, wait=True).expect(200)
    assert not replayed(r)
    assert server.count(other) == 10
    m = server.metrics()
    assert m["sluice_idempotent_replays_total"] >= 3
    assert m["sluice_idempotency_keys"] >= 3
    assert "sluice_idempotency_evictions_total" in m


def test_idempotency_key_header_replaces_the_body_hash(server, uniq):
    name = uniq("idem_key")
    server.create_ds(name, SCHEMA).expect(200)
    first = server.events(name, body(range(3)), headers={"Idempotency-Key": "batch-1"},
                          wait=True).expect(200)
    assert not replayed(first)
    # Different body, same key: a replay of the first answer, nothing inserted.
    again = server.events(name, body(range(100, 150)),
                          headers={"Idempotency-Key": "batch-1"}).expect(202)
    assert replayed(again)
    assert again.json() == {"successful_rows": 3, "quarantined_rows": 0}
    # Same body, another key: inserted.
    other = server.events(name, body(range(3)), headers={"Idempotency-Key": "batch-2"},
                          wait=True).expect(200)
    assert not replayed(other)
    assert server.count(name) == 6


def test_failed_request_is_not_remembered(server, uniq):
    name = uniq("idem_fail")
    # No such data source and a token that may not create it: 404, then the retry after the
    # data source exists is processed normally.
    tok = server.create_token(uniq("appender"), ["DATASOURCES:APPEND:%s" % name])
    b = body(range(4))
    server.events(name, b, token=tok).expect_error(404)
    server.create_ds(name, SCHEMA).expect(200)
    r = server.events(name, b, token=tok, wait=True).expect(200)
    assert not replayed(r)
    assert r.json() == {"successful_rows": 4, "quarantined_rows": 0}
    assert server.count(name) == 4


def test_concurrent_identical_requests_insert_once(server, uniq):
    name = uniq("idem_race")
    server.create_ds(name, SCHEMA).expect(200)
    b = body(range(20000))  # big enough that the requests overlap
    answers = []
    lock = threading.Lock()

    def send():
        r = server.events(name, b)
        with lock:
            answers.append(r)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in answers if r.status == 202]
    assert all(r.status in (202, 409) for r in answers), answers
    assert len(ok) >= 1
    assert sum(1 for r in ok if not replayed(r)) == 1, [dict(r.headers) for r in ok]
    for r in ok:
        assert r.json() == {"successful_rows": 20000, "quarantined_rows": 0}
    server.wait_count(name, 20000, timeout=10)
    time.sleep(0.7)  # a second insert would have been flushed by now
    assert server.count(name) == 20000


def test_window_survives_restart_and_expires(make_server):
    s = make_server(args=["--dedup-window", "4s"], label="idem")
    s.create_ds("idem_restart", SCHEMA).expect(200)
    b = body(range(7), bad=1)
    first = s.events("idem_restart", b).expect(202)
    keyed = s.events("idem_restart", body([1000]), headers={"Idempotency-Key": "k1"})
    keyed.expect(202)
    t_accepted = time.monotonic()
    assert s.stop() == 0
    s.start()
    again = s.events("idem_restart", b).expect(202)
    assert replayed(again) and again.json() == first.json()
    again = s.events("idem_restart", body([2000]), headers={"Idempotency-Key": "k1"},
                     wait=True).expect(200)
    assert replayed(again) and again.json() == {"successful_rows": 1, "quarantined_rows": 0}
    assert s.count("idem_restart") == 8
    # After the window the same body is a new request.
    time.sleep(max(0.0, 4.2 - (time.monotonic() - t_accepted)))
    late = s.events("idem_restart", b, wait=True).expect(200)
    assert not replayed(late)
    assert s.count("idem_restart") == 15


def test_window_zero_turns_idempotency_off(make_server):
    s = make_server(args=["--dedup-window", "0"], label="idem_off")
    s.create_ds("idem_off", SCHEMA).expect(200)
    for _ in range(2):
        r = s.events("idem_off", body(range(3)), wait=True).expect(200)
        assert not replayed(r)
    assert s.count("idem_off") == 6


def test_bad_dedup_options_are_refused(sluice_bin, tmp_path):
    import subprocess
    for args in (["--dedup-window", "5x"], ["--dedup-window", "-1"],
                 ["--dedup-max-entries", "3"]):
        p = subprocess.run([sluice_bin, "serve", "--data", str(tmp_path / "d")] + args,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        assert p.returncode == 2, (args, p.stderr)
        assert b"bad value" in p.stderr


def test_replay_after_kill_9(make_server):
    """A 202 means durable: after kill -9 the key and the rows come back once each."""
    s = make_server(label="idem_kill")
    s.create_ds("idem_kill", SCHEMA).expect(200)
    b = body(range(25), bad=1)
    first = s.events("idem_kill", b).expect(202)
    s.kill()
    s.start()
    again = s.events("idem_kill", b, wait=True).expect(200)
    assert replayed(again) and again.json() == first.json()
    s.wait_count("idem_kill", 25, timeout=10)
    assert s.count("idem_kill_quarantine") == 1
