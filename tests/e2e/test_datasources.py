"""Data sources (SPEC §3, §5, §6): explicit creation from a .datasource file, the values that
land in the table, quarantine contents, and the data source API (list, get, get the file back,
truncate, delete, errors)."""
import json
import re

import pytest

RICH_SCHEMA = """DESCRIPTION >
    e2e: nested paths, arrays, defaults, Nullable

SCHEMA >
    `id` UInt64 `json:$.id`,
    `ts` DateTime64(3, 'UTC') `json:$.timestamp`,
    `session_id` Nullable(String) `json:$.session_id`,
    `city` String `json:$.geo.city` DEFAULT 'unknown',
    `lat` Float64 `json:$.geo.coords.lat`,
    `odd_key` String `json:$.['odd key']` DEFAULT '',
    `tags` Array(String) `json:$.tags[:]`,
    `prices` Array(Float64) `json:$.items[:].price`,
    `score` Int32 DEFAULT 7,  -- no path: reads $.score
    `level` Nullable(UInt8) `json:$.a.b.c.level`,
    `epoch` Nullable(DateTime('UTC')) `json:$.epoch`,
    `payload` String `json:$.payload`,
    `raw` String `json:$`,

ENGINE "MergeTree"
ENGINE_PARTITION_KEY "toYYYYMM(ts)"
ENGINE_SORTING_KEY "id"
"""

GOOD = [
    {"id": 1, "timestamp": "2026-01-02T03:04:05.678Z", "session_id": "s-1",
     "geo": {"city": "Madrid", "coords": {"lat": 40.4}}, "odd key": "k",
     "tags": ["a", "b"], "items": [{"price": 1.5}, {"price": 2.25}], "score": 3,
     "a": {"b": {"c": {"level": 9}}}, "payload": {"x": [1, 2], "y": "z"}},
    # Missing optional parts: DEFAULTs, NULL, empty arrays; offset honoured.
    {"id": 2, "timestamp": "2026-01-02 05:04:05+02:00", "geo": {"coords": {"lat": -1}},
     "payload": "plain"},
    # Explicit nulls behave like missing values.
    {"id": 3, "timestamp": "2025-12-31T23:00:00.123456789-01:00", "session_id": None, "geo": {"city": None,
                                                                   "coords": {"lat": 0.5}},
     "tags": None, "score": None, "payload": "", "epoch": 1767225600},
]
BAD = [
    # lat missing and not Nullable, no DEFAULT
    {"id": 10, "timestamp": "2026-01-01T00:00:00Z", "payload": "p"},
    # id is not a number
    {"id": "ten", "timestamp": "2026-01-01T00:00:00Z", "geo": {"coords": {"lat": 1}},
     "payload": "p"},
    # level overflows UInt8, timestamp impossible: two failing columns
    {"id": 12, "timestamp": "2026-02-30T25:61:00Z", "geo": {"coords": {"lat": 1}},
     "a": {"b": {"c": {"level": 300}}}, "payload": "p"},
]


def line(d):
    return json.dumps(d, separators=(",", ":"))


def ch_int(v):
    return int(v) if isinstance(v, str) else v


def row_counts(obj):
    """Every integer under a key that mentions rows (e.g. stats.row_count)."""
    out = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)):
                out |= row_counts(v)
            elif "row" in k.lower() and isinstance(v, (int, str)) and str(v).isdigit():
                out.add(int(v))
    elif isinstance(obj, list):
        for v in obj:
            out |= row_counts(v)
    return out


@pytest.fixture
def rich(server, uniq):
    name = uniq("rich")
    r = server.create_ds(name, RICH_SCHEMA).expect(200)
    return name, r


def test_create_rows_land_with_right_values(server, rich):
    name, created = rich
    assert created.header("Content-Type").startswith("application/json")
    created.json()
    r = server.events(name, "\n".join(line(d) for d in GOOD), wait=True).expect(200)
    assert r.json() == {"successful_rows": 3, "quarantined_rows": 0}
    data = server.sql_json("SELECT id, toString(ts) AS ts, session_id, city, lat, odd_key, "
                           "tags, prices, score, level, epoch, payload, raw FROM %s ORDER BY id "
                           "FORMAT JSON" % name)
    got = [dict(x, id=ch_int(x["id"])) for x in data["data"]]
    assert got == [
        {"id": 1, "ts": "2026-01-02 03:04:05.678", "session_id": "s-1", "city": "Madrid",
         "lat": 40.4, "odd_key": "k", "tags": ["a", "b"], "prices": [1.5, 2.25], "score": 3,
         "level": 9, "epoch": None, "payload": '{"x":[1,2],"y":"z"}', "raw": line(GOOD[0])},
        {"id": 2, "ts": "2026-01-02 03:04:05.000", "session_id": None, "city": "unknown",
         "lat": -1, "odd_key": "", "tags": [], "prices": [], "score": 7, "level": None,
         "epoch": None, "payload": "plain", "raw": line(GOOD[1])},
        {"id": 3, "ts": "2026-01-01 00:00:00.123", "session_id": None, "city": "unknown",
         "lat": 0.5, "odd_key": "", "tags": [], "prices": [], "score": 7, "level": None,
         "epoch": "2026-01-01 00:00:00", "payload": "", "raw": line(GOOD[2])},
    ]
    assert data["rows"] == 3
    assert [m["name"] for m in data["meta"]][:3] == ["id", "ts", "session_id"]


def test_quarantine_rows_and_messages(server, rich):
    name, _ = rich
    body = "\n".join(line(d) for d in GOOD + BAD) + "\n{broken json\n"
    r = server.events(name, body, wait=True).expect(200)
    assert r.json() == {"successful_rows": 3, "quarantined_rows": 4}
    assert server.count(name) == 3
    assert server.count(name + "_quarantine") == 4
    q = server.sql_rows("SELECT c__error_column, c__error, c__raw, id, lat, level, "
                        "insertion_date FROM %s_quarantine ORDER BY c__raw" % name)
    by_raw = {x["c__raw"]: x for x in q}
    assert set(by_raw) == {line(d) for d in BAD} | {"{broken json"}
    missing = by_raw[line(BAD[0])]
    assert missing["c__error_column"] == ["lat"], missing
    assert len(missing["c__error"]) == 1 and "lat" in missing["c__error"][0], missing
    assert "$.geo.coords.lat" in missing["c__error"][0], missing
    assert missing["id"] == "10" and missing["lat"] is None, missing
    wrong = by_raw[line(BAD[1])]
    assert wrong["c__error_column"] == ["id"], wrong
    assert wrong["id"] == "ten", wrong  # JSON strings decoded
    two = by_raw[line(BAD[2])]
    assert sorted(two["c__error_column"]) == ["level", "ts"], two
    assert len(two["c__error"]) == 2 and all(e.strip() for e in two["c__error"]), two
    assert two["level"] == "300", two  # other values as JSON text
    broken = by_raw["{broken json"]
    assert broken["c__error"] and all(e.strip() for e in broken["c__error"]), broken
    assert all(x["insertion_date"] for x in q)
    # The quarantine table's columns, in SPEC §6 order.
    cols = server.sql_rows("SELECT name, type FROM system.columns WHERE database = 'default' "
                           "AND table = '%s_quarantine' ORDER BY position" % name)
    names = [c["name"] for c in cols]
    assert names[:3] == ["c__error_column", "c__error", "c__import_id"], names
    assert names[-2:] == ["c__raw", "insertion_date"], names
    assert names[3:-2] == ["id", "ts", "session_id", "city", "lat", "odd_key", "tags", "prices",
                           "score", "level", "epoch", "payload", "raw"], names
    assert all(c["type"] == "Nullable(String)" for c in cols[3:-2]), cols


def test_dirty_dataset_quarantine_equals_broken_lines(server, uniq, gen_events, tmp_path):
    name = uniq("dirty")
    server.create_ds(name, gen_events("dirty", "--schema")).expect(200)
    broken_file = tmp_path / "broken.txt"
    data = gen_events("dirty", "--rows", 2000, "--broken", broken_file)
    lines = data.decode().split("\n")[:-1]
    assert len(lines) == 2000
    broken = [int(x) for x in broken_file.read_text().split()]
    assert broken, "gen_events produced no broken rows"
    r = server.events(name, data, wait=True).expect(200)
    assert r.json() == {"successful_rows": 2000 - len(broken), "quarantined_rows": len(broken)}
    assert server.count(name) == 2000 - len(broken)
    assert server.count(name + "_quarantine") == len(broken)
    raws = sorted(x["c__raw"] for x in server.sql_rows(
        "SELECT c__raw FROM %s_quarantine" % name))
    assert raws == sorted(lines[i - 1] for i in broken)
    # Every quarantined row says why, per column.
    bad = server.scalar("SELECT count() FROM %s_quarantine WHERE length(c__error) = 0 "
                        "OR has(c__error, '')" % name)
    assert bad == 0
    # GET /v0/datasources/<name> reports the same counts.
    st = server.req("GET", "/v0/datasources/" + name).expect(200).json()
    assert {2000 - len(broken), len(broken)} <= row_counts(st), st


def test_create_with_schema_param(server, uniq):
    name = uniq("param")
    r = server.req("POST", "/v0/datasources", params={
        "name": name, "schema": "`a` Int32 `json:$.a`, `b` String `json:$.x.b` DEFAULT 'd'",
        "engine_sorting_key": "a"})
    r.expect(200)
    r = server.events(name, b'{"a":5,"x":{"b":"q"}}\n{"a":6}\n', wait=True).expect(200)
    assert r.json() == {"successful_rows": 2, "quarantined_rows": 0}
    got = server.sql_rows("SELECT a, b FROM %s ORDER BY a" % name)
    assert got == [{"a": 5, "b": "q"}, {"a": 6, "b": "d"}]


def test_list_and_get(server, rich):
    name, _ = rich
    server.events(name, "\n".join(line(d) for d in GOOD + BAD[:1]), wait=True).expect(200)
    lst = server.req("GET", "/v0/datasources").expect(200).json()
    assert isinstance(lst.get("datasources"), list), lst
    names = [d["name"] for d in lst["datasources"]]
    assert name in names
    assert name + "_quarantine" not in names
    g = server.req("GET", "/v0/datasources/" + name).expect(200)
    assert g.header("Content-Type").startswith("application/json")
    d = g.json()
    assert d["name"] == name
    cols = {c["name"]: c for c in d["columns"]}
    assert list(cols) == ["id", "ts", "session_id", "city", "lat", "odd_key", "tags", "prices",
                          "score", "level", "epoch", "payload", "raw"]
    assert cols["ts"]["type"] == "DateTime64(3, 'UTC')"
    assert cols["ts"]["jsonpath"] == "$.timestamp"
    assert cols["prices"]["jsonpath"] == "$.items[:].price"
    assert cols["odd_key"]["jsonpath"] == "$.['odd key']"
    assert cols["city"]["type"] == "String"
    defaults = {k: v.get("default_value", v.get("default")) for k, v in cols.items()}
    assert defaults["city"] == "'unknown'" and defaults["score"] == "7", cols
    assert defaults["lat"] is None
    assert cols["score"]["jsonpath"] in ("$.score", None), cols["score"]
    text = json.dumps(d)
    assert "MergeTree" in text and "toYYYYMM(ts)" in text
    # Row counts (table and quarantine) appear in the answer.
    assert {3, 1} <= row_counts(d), d


def test_get_datasource_file_back_round_trips(server, rich, uniq):
    name, _ = rich
    r = server.req("GET", "/v0/datasources/%s.datasource" % name).expect(200)
    text = r.text
    assert "SCHEMA >" in text
    for frag in ("`json:$.geo.coords.lat`", "`json:$.items[:].price`", "DEFAULT 'unknown'",
                 "Nullable(UInt8)", "ENGINE_SORTING_KEY", "toYYYYMM(ts)"):
        assert frag in text, (frag, text)
    # The file creates the same data source under another name.
    other = uniq("copy")
    server.create_ds(other, text).expect(200)
    a = server.req("GET", "/v0/datasources/" + name).expect(200).json()
    b = server.req("GET", "/v0/datasources/" + other).expect(200).json()
    assert a["columns"] == b["columns"]
    assert a.get("engine") == b.get("engine")


def test_create_same_schema_again_is_ok_different_schema_conflicts(server, rich):
    name, _ = rich
    # SPEC is silent: an identical create is accepted (idempotent push) or a conflict.
    r = server.create_ds(name, RICH_SCHEMA)
    assert r.status in (200, 409), r
    r = server.create_ds(name, "SCHEMA >\n    `other` String\n")
    assert r.status in (400, 409), r
    r.expect_error(r.status)
    # Nothing changed.
    cols = server.req("GET", "/v0/datasources/" + name).expect(200).json()["columns"]
    assert cols[0]["name"] == "id"


def test_truncate(server, rich):
    name, _ = rich
    server.events(name, "\n".join(line(d) for d in GOOD + BAD), wait=True).expect(200)
    assert server.count(name) == 3
    r = server.req("POST", "/v0/datasources/%s/truncate" % name).expect(200)
    assert r.json().get("truncated", True) is True
    assert server.count(name) == 0
    # Still usable afterwards.
    server.events(name, line(GOOD[0]), wait=True).expect(200)
    assert server.count(name) == 1


def test_truncate_takes_queued_rows_along(make_server):
    # Rows acknowledged but not flushed yet (a long flush interval) do not land after the
    # truncate; rows sent after it do.
    s = make_server(args=["--flush-interval", "60000"])
    s.create_ds("tq", "SCHEMA >\n    `id` UInt64 `json:$.id`\n").expect(200)
    s.events("tq", b'{"id":1}\n{"id":2}\n{"id":"bad"}').expect(202)
    s.req("POST", "/v0/datasources/tq/truncate").expect(200)
    s.events("tq", b'{"id":3}', wait=True).expect(200)
    assert s.count("tq") == 1 and s.scalar("SELECT sum(id) FROM tq") == 3
    assert s.count("tq_quarantine") == 0
    # Also after kill -9: the discarded rows are not replayed from the log.
    assert s.kill() == -9
    s.start()
    s.events("tq", b'{"id":4}', wait=True).expect(200)
    assert s.count("tq") == 2 and s.scalar("SELECT sum(id) FROM tq") == 7
    assert s.count("tq_quarantine") == 0


def test_delete_drops_table_and_quarantine(server, rich):
    name, _ = rich
    server.events(name, "\n".join(line(d) for d in GOOD + BAD), wait=True).expect(200)
    tables = "SELECT count() FROM system.tables WHERE database = 'default' AND name IN " \
             "('%s', '%s_quarantine')" % (name, name)
    assert server.scalar(tables) == 2
    server.req("DELETE", "/v0/datasources/" + name).expect(200)
    assert server.scalar(tables) == 0
    server.req("GET", "/v0/datasources/" + name).expect_error(404)
    server.req("GET", "/v0/datasources/%s.datasource" % name).expect_error(404)
    names = [d["name"] for d in server.req("GET", "/v0/datasources").json()["datasources"]]
    assert name not in names
    server.sql("SELECT count() FROM " + name).expect_error(400)
    server.req("DELETE", "/v0/datasources/" + name).expect_error(404)
    # Recreating with another schema works after the delete.
    server.create_ds(name, "SCHEMA >\n    `other` String\n").expect(200)
    server.events(name, b'{"other":"x"}', wait=True).expect(200)
    assert server.count(name) == 1


def test_unknown_names_404(server, uniq):
    n = uniq("missing")
    server.req("GET", "/v0/datasources/" + n).expect_error(404)
    server.req("GET", "/v0/datasources/%s.datasource" % n).expect_error(404)
    server.req("POST", "/v0/datasources/%s/truncate" % n).expect_error(404)
    server.req("DELETE", "/v0/datasources/" + n).expect_error(404)


def test_bad_schema_400_with_line_and_column(server, uniq):
    name = uniq("bad")
    text = "SCHEMA >\n    `a` Int32 `json:$.a`,\n    `b` Foo(3) `json:$.b`\n"
    err = server.create_ds(name, text).expect_error(400)
    assert re.search(r"line 3\b", err) and re.search(r"column \d+", err), err
    err = server.create_ds(name, "SCHEMA >\n    `a` Int32 `json:$.a[`\n").expect_error(400)
    assert re.search(r"line 2\b", err), err
    server.create_ds(name, "this is not a datasource file\n").expect_error(400)
    server.req("GET", "/v0/datasources/" + name).expect_error(404)
    assert server.scalar("SELECT count() FROM system.tables WHERE database = 'default' AND "
                         "name = '%s'" % name) == 0


def test_bad_create_requests(server, uniq):
    server.create_ds("", RICH_SCHEMA).expect_error(400)  # no name
    server.req("POST", "/v0/datasources", body=RICH_SCHEMA).expect_error(400)
    server.create_ds("bad-name", RICH_SCHEMA).expect_error(400)
    server.create_ds("x" * 65, RICH_SCHEMA).expect_error(400)
    server.create_ds(uniq("q") + "_quarantine", RICH_SCHEMA).expect_error(400)
    server.create_ds(uniq("empty"), "").expect_error(400)


def test_token_lines_create_scoped_tokens(server, uniq):
    name = uniq("tok")
    app, rd = uniq("appender"), uniq("reader")
    text = 'TOKEN "%s" APPEND\nTOKEN "%s" READ\n\nSCHEMA >\n    `a` Int32\n' % (app, rd)
    r = server.create_ds(name, text).expect(200)
    toks = {t["name"]: t["scopes"] for t in
            server.req("GET", "/v0/tokens").expect(200).json()["tokens"]}
    assert "DATASOURCES:APPEND:" + name in toks[app], toks
    assert "DATASOURCES:READ:" + name in toks[rd], toks
    secrets = {t["name"]: t["token"] for t in r.json().get("tokens", [])}
    if app in secrets:
        server.events(name, b'{"a":1}', wait=True, token=secrets[app]).expect(200)
        server.sql("SELECT count() FROM " + name, token=secrets[app]).expect_error(403)
    if rd in secrets:
        assert server.scalar("SELECT count() FROM " + name, token=secrets[rd]) in (0, 1)
        server.events(name, b'{"a":1}', token=secrets[rd]).expect_error(403)


def test_datasource_api_needs_token(server, rich):
    name, _ = rich
    server.req("GET", "/v0/datasources", token=None).expect_error(403)
    server.req("GET", "/v0/datasources/" + name, token=None).expect_error(403)
    server.req("POST", "/v0/datasources/%s/truncate" % name, token=None).expect_error(403)
    server.req("DELETE", "/v0/datasources/" + name, token="sl.wrong").expect_error(403)
    server.create_ds(name + "x", RICH_SCHEMA, token=None).expect_error(403)
    server.req("GET", "/v0/datasources/" + name).expect(200)


def test_auto_create_inferred_types(server, uniq):
    """SPEC §3 auto-create rules, end to end: the created table's columns and the rows in it."""
    name = uniq("auto")
    body = (b'{"ts":"2026-01-02T03:04:05.123Z","day":"2026-01-02","n":1,"f":1.5,"b":true,'
            b'"s":"x","tags":["a","b"],"nested":{"k":"v","deep":{"x":1}},"mixed":[1,"a"],'
            b'"opt":null}\n'
            b'{"ts":"2026-01-02T03:04:06Z","day":"2026-01-03","n":2,"f":2.25,"b":false,'
            b'"s":"y","tags":[],"nested":{"k":"w","deep":{"x":2}},"mixed":[],"opt":5}\n')
    r = server.events(name, body, wait=True).expect(200)
    assert r.json() == {"successful_rows": 2, "quarantined_rows": 0}
    cols = server.sql_rows("SELECT name, type FROM system.columns WHERE database = 'default' "
                           "AND table = '%s' ORDER BY position" % name)
    types = {c["name"]: c["type"] for c in cols}
    assert list(types) == ["ts", "day", "n", "f", "b", "s", "tags", "nested_k",
                           "nested_deep_x", "mixed", "opt"], types
    assert types["ts"].startswith("DateTime64(3"), types
    assert types["day"] == "Date"
    assert types["n"] == "Int64" and types["nested_deep_x"] == "Int64"
    assert types["f"] == "Float64" and types["b"] == "Bool"
    assert types["s"] == "String" and types["nested_k"] == "String"
    assert types["tags"] == "Array(String)"
    assert types["mixed"] == "String"
    assert types["opt"] == "Nullable(Int64)"
    d = server.req("GET", "/v0/datasources/" + name).expect(200).json()
    paths = {c["name"]: c["jsonpath"] for c in d["columns"]}
    assert paths["tags"] == "$.tags[:]" and paths["nested_deep_x"] == "$.nested.deep.x"
    assert "ts" in json.dumps(d["engine"]), d["engine"]  # sorting key: first date-time
    got = server.sql_rows("SELECT toString(ts) AS ts, toString(day) AS day, n, f, b, tags, "
                          "nested_deep_x, mixed, opt FROM %s ORDER BY ts" % name)
    assert [(x["ts"], x["day"], int(x["n"]), x["f"], x["b"], x["tags"], int(x["nested_deep_x"]),
             x["mixed"], x["opt"] if x["opt"] is None else int(x["opt"])) for x in got] == [
        ("2026-01-02 03:04:05.123", "2026-01-02", 1, 1.5, True, ["a", "b"], 1, '[1,"a"]', None),
        ("2026-01-02 03:04:06.000", "2026-01-03", 2, 2.25, False, [], 2, "[]", 5)]


@pytest.mark.parametrize("arg", [
    "..%2Ftokens", "../tokens", "%2e%2e", "x.datasource.datasource", ".datasource",
    "a%00b", "tokens.datasource", "%2Fetc%2Fpasswd", "x" * 300, "a/b", "a/truncate/x",
])
def test_odd_route_args(server, arg):
    """Path tricks in /v0/datasources/<name> answer 400 or 404 with a JSON error and never
    serve anything from the data dir."""
    for method, path in (("GET", "/v0/datasources/" + arg),
                         ("DELETE", "/v0/datasources/" + arg),
                         ("POST", "/v0/datasources/%s/truncate" % arg)):
        r = server.req(method, path)
        assert r.status in (400, 404, 405), r
        r.expect_error(r.status)
        assert server.admin_token.encode() not in r.body and b"ADMIN" not in r.body, r
