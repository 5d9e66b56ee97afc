"""/v0/sql (SPEC §7): JSON by default with meta/data/rows/statistics, FORMAT honoured, GET and
POST, read-only (writes, DDL, SYSTEM, url()/file() refused), and READ scopes per table."""
import json
import time

import pytest

SCHEMA = """SCHEMA >
    `id` UInt64 `json:$.id`,
    `s` String `json:$.s`
"""


@pytest.fixture
def ds(server, uniq):
    name = uniq("sq")
    server.create_ds(name, SCHEMA).expect(200)
    server.events(name, b"".join(b'{"id":%d,"s":"v%d"}\n' % (i, i) for i in range(10)),
                  wait=True).expect(200)
    return name


def test_json_default_output(server, ds):
    r = server.sql("SELECT id, s FROM %s WHERE id < 3 ORDER BY id LIMIT 2" % ds).expect(200)
    assert r.header("Content-Type").startswith("application/json"), dict(r.headers)
    d = r.json()
    assert d["meta"] == [{"name": "id", "type": "UInt64"}, {"name": "s", "type": "String"}]
    assert [(int(x["id"]), x["s"]) for x in d["data"]] == [(0, "v0"), (1, "v1")]
    assert d["rows"] == 2
    assert d["rows_before_limit_at_least"] == 3
    st = d["statistics"]
    assert set(st) >= {"elapsed", "rows_read", "bytes_read"}, st
    assert isinstance(st["elapsed"], (int, float)) and st["rows_read"] >= 3


def test_post_body(server, ds):
    r = server.sql("SELECT count() AS c FROM %s" % ds, method="POST").expect(200)
    assert int(r.json()["data"][0]["c"]) == 10


def test_format_csv(server, ds):
    r = server.sql("SELECT id, s FROM %s ORDER BY id LIMIT 3 FORMAT CSV" % ds).expect(200)
    assert r.body == b'0,"v0"\n1,"v1"\n2,"v2"\n'
    assert "csv" in (r.header("Content-Type") or "").lower() or \
        (r.header("Content-Type") or "").startswith("text/"), dict(r.headers)


def test_format_tsv_with_names(server):
    r = server.sql("SELECT number AS n, toString(number * 2) AS m FROM numbers(2) "
                   "FORMAT TSVWithNames").expect(200)
    assert r.body == b"n\tm\n0\t0\n1\t2\n"


def test_format_jsoneachrow(server, ds):
    r = server.sql("SELECT toUInt32(id) AS id, s FROM %s ORDER BY id LIMIT 3 FORMAT JSONEachRow"
                   % ds).expect(200)
    assert [json.loads(x) for x in r.body.splitlines()] == [
        {"id": 0, "s": "v0"}, {"id": 1, "s": "v1"}, {"id": 2, "s": "v2"}]


def test_show_describe_explain(server, ds):
    d = server.sql_json("DESCRIBE TABLE %s" % ds)
    assert [x["name"] for x in d["data"]] == ["id", "s"]
    d = server.sql_json("SHOW TABLES")
    assert ds in [list(x.values())[0] for x in d["data"]]
    server.sql("EXPLAIN SELECT count() FROM %s" % ds).expect(200)


def test_clickhouse_error_400(server):
    err = server.sql("SELECT * FROM no_such_table_e2e_xyz").expect_error(400)
    assert "no_such_table_e2e_xyz" in err, err
    server.sql("SELEKT 1").expect_error(400)


def test_missing_query_400(server):
    server.req("GET", "/v0/sql").expect_error(400)
    server.req("GET", "/v0/sql", params={"q": ""}).expect_error(400)


@pytest.mark.parametrize("stmt", [
    "INSERT INTO {ds} VALUES (100, 'x')",
    "INSERT INTO {ds} SELECT number, 'x' FROM numbers(5)",
    "CREATE TABLE e2e_evil (a Int32) ENGINE = Memory",
    "DROP TABLE {ds}",
    "TRUNCATE TABLE {ds}",
    "ALTER TABLE {ds} DELETE WHERE 1",
    "ALTER TABLE {ds} ADD COLUMN evil Int32",
    "RENAME TABLE {ds} TO {ds}_renamed",
    "SYSTEM FLUSH LOGS",
    "SYSTEM STOP MERGES",
    "SET readonly = 0",
    "OPTIMIZE TABLE {ds} FINAL",
    "KILL QUERY WHERE 1",
    "SELECT * FROM url('http://127.0.0.1:9/x', CSV, 'a String')",
    "SELECT * FROM file('/etc/passwd', LineAsString)",
    "SELECT * FROM file('/etc/hostname', 'LineAsString', 'l String')",
    "INSERT INTO FUNCTION file('e2e_evil.csv', CSV, 'a Int32') SELECT 1",
    "SELECT 1; DROP TABLE {ds}",
    "SELECT * FROM {ds} SETTINGS readonly = 0",
])
def test_non_read_only_refused(server, ds, stmt):
    q = stmt.format(ds=ds)
    r = server.sql(q)
    assert r.status in (400, 403), r
    r.expect_error(r.status)
    r = server.sql(q, method="POST")
    assert r.status in (400, 403), r
    # Nothing changed.
    assert server.count(ds) == 10
    assert server.sql_rows("SELECT name FROM system.columns WHERE database = 'default' AND "
                           "table = '%s' ORDER BY position" % ds) == [{"name": "id"},
                                                                      {"name": "s"}]
    assert server.scalar("SELECT count() FROM system.tables WHERE name IN ('e2e_evil', "
                         "'%s_renamed')" % ds) == 0


def test_token_scopes(server, ds, uniq):
    other = uniq("sqo")
    server.create_ds(other, SCHEMA).expect(200)
    reader = server.create_token(uniq("rd"), ["DATASOURCES:READ:" + ds])
    appender = server.create_token(uniq("ap"), ["DATASOURCES:APPEND:" + ds])
    assert server.scalar("SELECT count() FROM %s" % ds, token=reader) == 10
    assert server.scalar("SELECT count() FROM %s_quarantine" % ds, token=reader) == 0
    server.sql("SELECT count() FROM %s" % other, token=reader).expect_error(403)
    server.sql("SELECT count() FROM (SELECT * FROM %s)" % other, token=reader).expect_error(403)
    server.sql("SELECT count() FROM %s AS a JOIN %s AS b ON a.id = b.id" % (ds, other),
               token=reader).expect_error(403)
    server.sql("SELECT * FROM %s WHERE id IN (SELECT id FROM %s)" % (ds, other),
               token=reader).expect_error(403)
    server.sql("SELECT count() FROM system.tables", token=reader).expect_error(403)
    server.sql("SELECT count() FROM %s" % ds, token=appender).expect_error(403)
    server.sql("SELECT 1", token=None).expect_error(403)
    server.sql("SELECT 1", token="sl.bogus").expect_error(403)


def test_time_bounded(make_server, serve_flag):
    flag = serve_flag("--sql-timeout")
    if not flag:
        pytest.skip("`sluice serve --help` lists no SQL time limit flag")
    s = make_server(args=[flag, "1"])
    t0 = time.monotonic()
    r = s.sql("SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) = 0")
    took = time.monotonic() - t0
    assert r.status in (400, 408, 504), r
    r.expect_error(r.status)
    assert took < 10, took
    # The next query's answer is its own, nothing left over from the cancelled one.
    for _ in range(2):
        assert s.sql("SELECT 1 AS one FORMAT CSV").expect(200).body == b"1\n"


def test_result_size_bounded(make_server, serve_flag):
    flag = serve_flag("--sql-max-result-bytes")
    if not flag:
        pytest.skip("`sluice serve --help` lists no SQL result size flag")
    s = make_server(args=[flag, "100K"])
    r = s.sql("SELECT number, toString(number) FROM numbers(1000000)")
    assert r.status in (400, 413), r
    r.expect_error(r.status)
    assert len(r.body) < 100 * 1024
    # The next query's answer is its own, nothing left over from the refused one.
    for _ in range(2):
        r = s.sql("SELECT number FROM numbers(10) FORMAT CSV").expect(200)
        assert r.body == b"".join(b"%d\n" % i for i in range(10))


def test_runtime_error_leaves_no_output_behind(make_server):
    """A query that fails after it started producing output answers 400, and later answers do
    not carry any part of its output (own server: a leak would pollute the shared one)."""
    s = make_server()
    r = s.sql("SELECT number, throwIf(number = 300000, 'e2e boom') FROM numbers(1000000)")
    assert "e2e boom" in r.expect_error(400)
    for _ in range(4):
        assert s.sql("SELECT 1 AS one FORMAT CSV").expect(200).body == b"1\n"


@pytest.fixture
def secret_pair(server, uniq):
    """(own, other, reader token of own): `other` holds a row with the text TOPSECRET."""
    own, other = uniq("own"), uniq("oth")
    server.create_ds(own, SCHEMA).expect(200)
    server.create_ds(other, SCHEMA).expect(200)
    server.events(own, b'{"id":1,"s":"mine"}', wait=True).expect(200)
    server.events(other, b'{"id":1,"s":"TOPSECRET"}', wait=True).expect(200)
    return own, other, server.create_token(uniq("rd"), ["DATASOURCES:READ:" + own])


@pytest.mark.parametrize("q", [
    "SELECT * FROM {other}",
    "SELECT * FROM default.{other}",
    "SELECT * FROM merge('default', '^{other}$')",
    "SELECT * FROM merge('^{other}$')",
    "SELECT * FROM merge(currentDatabase(), '{other}')",
    "SELECT * FROM view(SELECT * FROM {other})",
    "SELECT * FROM viewIfPermitted(SELECT * FROM {other} ELSE null('id UInt64, s String'))",
    "SELECT * FROM loop(default.{other}) LIMIT 1",
    "SELECT * FROM remote('127.0.0.1', default, {other})",
    "SELECT * FROM mergeTreeIndex(default, {other})",
    "SELECT id, s FROM {own} UNION ALL SELECT id, s FROM {other}",
    "WITH x AS (SELECT * FROM {other}) SELECT * FROM x",
    "SELECT (SELECT groupArray(s) FROM {other})",
    "SELECT * FROM {own} WHERE s IN {other}",
    "SELECT * FROM {own} PASTE JOIN {other}",
    "SELECT * FROM {other}_quarantine",
    "SELECT * FROM system.tables",
    "SELECT query FROM system.query_log",
    "DESCRIBE TABLE {other}",
    "SHOW CREATE TABLE {other}",
])
def test_read_scope_cannot_reach_other_tables(server, secret_pair, q):
    own, other, tok = secret_pair
    r = server.sql(q.format(own=own, other=other), token=tok)
    assert b"TOPSECRET" not in r.body, r
    assert r.status in (400, 403), r
    r.expect_error(r.status)


@pytest.mark.parametrize("q, expect", [
    ("SELECT 1 AS one FORMAT CSV", b"1\n"),
    ("SELECT s FROM {own} FORMAT CSV", b'"mine"\n'),
    ("SELECT count() FROM {own}_quarantine FORMAT CSV", b"0\n"),
    ("DESCRIBE TABLE {own} FORMAT TSV", "as admin"),
    ("SHOW CREATE TABLE {own} FORMAT TSVRaw", "as admin"),
    ("EXPLAIN SELECT count() FROM {own}", None),
])
def test_read_scope_allows_its_own_reads(server, secret_pair, q, expect):
    """SPEC §7: SELECT, SHOW, DESCRIBE and EXPLAIN are the read-only statements; a READ token
    runs them on its own data source (and table-less SELECTs, which read nothing)."""
    own, _, tok = secret_pair
    r = server.sql(q.format(own=own), token=tok).expect(200)
    if expect == "as admin":
        expect = server.sql(q.format(own=own)).expect(200).body
    if expect is not None:
        assert r.body == expect
