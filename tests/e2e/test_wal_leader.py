"""kill -9 with --fsync never and interval: there, request threads write the log groups
themselves (leader/follower group commit, docs/durability.md) instead of the writer thread. A
process kill loses no written record in any fsync mode, so every acknowledged event must be in
the table exactly once, as in test_crash.py (whose load generator this reuses), over fewer
rounds (~30 s in all)."""
import random
import time

import pytest

from test_crash import Load

ROUNDS = 4


@pytest.mark.parametrize("fsync", ["never", "interval:20"])
def test_kill9_with_request_threads_writing(make_server, fsync):
    rnd = random.Random(20261122)
    s = make_server(args=["--fsync", fsync, "--flush-interval", "100",
                          "--rate-limit-requests", "-1", "--rate-limit-bytes", "-1",
                          "--wait-timeout", "5"],
                    label="leader-" + fsync.replace(":", "-"))
    s.create_ds("crash", "SCHEMA >\n    `id` UInt64 `json:$.id`\n").expect(200)
    load = Load(s.admin_token)
    load.port = s.port
    load.start()
    try:
        for _ in range(ROUNDS):
            time.sleep(rnd.uniform(0.5, 2.5))
            rc = s.kill()
            assert rc == -9, "sluice serve exited with %r before the kill" % rc
            load.port = None
            s.start()
            load.port = s.port
        time.sleep(1.0)
    finally:
        load.join()
    acked = set(load.acked)
    assert len(acked) > 500, "too little load: %d acknowledged, answers %r" % (
        len(acked), load.errors)
    deadline = time.monotonic() + 60
    while s.count("crash") < len(acked) and time.monotonic() < deadline:
        time.sleep(0.5)
    dups = s.scalar("SELECT count() - uniqExact(id) FROM crash")
    assert dups == 0, "%d duplicated events" % dups
    ids = s.req("GET", "/v0/sql", params={
        "q": "SELECT id FROM crash FORMAT JSONCompactColumns"}).expect(200).json()[0]
    missing = acked - set(ids)
    assert not missing, "%d acknowledged events are missing (e.g. %r)" % (
        len(missing), sorted(missing)[:5])
