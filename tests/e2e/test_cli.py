"""Black-box tests of the client commands of the sluice binary (send, sql, datasource, token)
against a fake server (fake_server.py): the requests they make (paths, parameters, headers,
bodies, gzip, retries) and what they print and return. No real server is needed."""

import gzip
import json
import os
import socket
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from fake_server import FakeServer, events_ok, json_answer  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SLUICE = os.path.abspath(os.environ.get("SLUICE_BIN", os.path.join(ROOT, "build/release/sluice")))


@pytest.fixture
def fake():
    with FakeServer() as f:
        yield f


@pytest.fixture
def home(tmp_path):
    d = tmp_path / "home"
    d.mkdir()
    return d


def run(args, home, host=None, env=None, input=None, timeout=60):
    """Runs sluice with a clean environment: HOME is a temp dir, no SLUICE_* inherited."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("SLUICE_") and k != "XDG_CONFIG_HOME"}
    e["HOME"] = str(home)
    if host:
        e["SLUICE_HOST"] = host
    e.update(env or {})
    return subprocess.run([SLUICE] + list(args), env=e, input=input, capture_output=True,
                          timeout=timeout)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


CH_JSON = {
    "meta": [{"name": "action", "type": "LowCardinality(String)"},
             {"name": "c", "type": "UInt64"},
             {"name": "tags", "type": "Array(String)"},
             {"name": "n", "type": "Nullable(Float64)"}],
    "data": [{"action": "view", "c": "12", "tags": ["a", "b"], "n": None},
             {"action": "clïck\nx", "c": "3", "tags": [], "n": 1.5}],
    "rows": 2,
    "rows_before_limit_at_least": 2,
    "statistics": {"elapsed": 0.0012, "rows_read": 15, "bytes_read": 2048},
}


# ---- help -------------------------------------------------------------------------------


def test_help_lists_every_command(home):
    r = run(["--help"], home)
    assert r.returncode == 0
    out = r.stdout.decode()
    for cmd in ["serve", "send", "sql", "datasource", "token", "check", "infer"]:
        assert cmd in out
    r = run([], home)
    assert r.returncode == 2
    r = run(["help", "datasource", "pull"], home)
    assert r.returncode == 0 and r.stdout.startswith(b"usage: sluice datasource pull")


@pytest.mark.parametrize("args", [
    ["send", "--help"], ["sql", "--help"], ["datasource", "--help"], ["token", "--help"],
    ["datasource", "ls", "--help"], ["datasource", "push", "--help"],
    ["datasource", "pull", "--help"], ["datasource", "rm", "--help"],
    ["datasource", "truncate", "--help"], ["datasource", "infer", "--help"],
    ["token", "ls", "--help"], ["token", "create", "--help"], ["token", "rm", "--help"],
    ["check", "--help"], ["serve", "--help"],
])
def test_every_command_has_help(home, args):
    r = run(args, home)
    assert r.returncode == 0, r.stderr
    assert b"usage: sluice" in r.stdout


@pytest.mark.parametrize("args", [
    ["nope"], ["sql"], ["sql", "--bogus", "x"], ["send", "ds"], ["send", "ds", "f", "extra"],
    ["send", "ds", "f", "--batch-bytes", "0"], ["datasource"], ["datasource", "zap"],
    ["datasource", "pull"], ["token", "create", "t"], ["token", "rm"], ["sql", "q", "--host"],
])
def test_usage_errors_exit_2(home, args):
    r = run(args, home)
    assert r.returncode == 2, (r.stdout, r.stderr)


# ---- configuration ----------------------------------------------------------------------


def auth_of(req):
    return req.headers.get("authorization")


def test_host_and_token_precedence(fake, home, tmp_path):
    fake.handler = lambda req: json_answer(200, {"tokens": []})
    cfg = home / ".config" / "sluice"
    cfg.mkdir(parents=True)
    (cfg / "config").write_text(f"# sluice\nhost = {fake.url}/\ntoken = from-config\n")
    os.chmod(cfg / "config", 0o600)

    r = run(["token", "ls"], home)
    assert r.returncode == 0, r.stderr
    assert auth_of(fake.requests[-1]) == "Bearer from-config"
    assert r.stderr.count(b"warning") == 0

    r = run(["token", "ls"], home, env={"SLUICE_TOKEN": "from-env"})
    assert auth_of(fake.requests[-1]) == "Bearer from-env"

    r = run(["token", "ls", "--token", "from-flag"], home, env={"SLUICE_TOKEN": "from-env"})
    assert auth_of(fake.requests[-1]) == "Bearer from-flag"
    r = run(["token", "ls", "--token=eq-flag"], home)
    assert auth_of(fake.requests[-1]) == "Bearer eq-flag"

    # A flag or the environment beats the config file's host too.
    n = len(fake.requests)
    r = run(["token", "ls"], home, env={"SLUICE_HOST": f"127.0.0.1:{free_port()}"})
    assert r.returncode == 1 and len(fake.requests) == n
    r = run(["token", "ls", "--host", fake.url], home,
            env={"SLUICE_HOST": f"127.0.0.1:{free_port()}"})
    assert r.returncode == 0 and len(fake.requests) == n + 1

    # An explicit config file (SLUICE_CONFIG or --config) replaces the default one.
    other = tmp_path / "other.conf"
    other.write_text(f"host={fake.url}\ntoken='quoted'\n")
    os.chmod(other, 0o644)
    r = run(["token", "ls", "--config", str(other)], home)
    assert r.returncode == 0
    assert auth_of(fake.requests[-1]) == "Bearer quoted"
    assert b"chmod 600" in r.stderr  # a readable file that holds a token is pointed out
    r = run(["token", "ls"], home, env={"SLUICE_CONFIG": str(tmp_path / "missing")})
    assert r.returncode == 2 and b"cannot read config file" in r.stderr


def test_no_token_sends_no_authorization(fake, home):
    fake.handler = lambda req: json_answer(403, {"error": "missing token"})
    r = run(["token", "ls"], home, host=fake.url)
    assert r.returncode == 1
    assert auth_of(fake.requests[-1]) is None
    err = r.stderr.decode()
    assert "missing token (HTTP 403)" in err
    assert "--token" in err  # the hint about how to pass one


def test_connection_refused(home):
    url = f"http://127.0.0.1:{free_port()}"
    r = run(["sql", "SELECT 1"], home, host=url)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert f"cannot reach sluice at {url}" in err
    assert "is `sluice serve` running?" in err


def test_non_json_error_body(fake, home):
    fake.handler = lambda req: (502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>")
    r = run(["datasource", "ls"], home, host=fake.url)
    assert r.returncode == 1
    assert b"HTTP 502: <html>Bad Gateway</html>" in r.stderr


# ---- sql --------------------------------------------------------------------------------


def test_sql_table(fake, home):
    fake.handler = lambda req: json_answer(200, CH_JSON)
    r = run(["sql", "SELECT action, count() AS c FROM t GROUP BY action;", "--token", "tk"],
            home, host=fake.url)
    assert r.returncode == 0, r.stderr
    req = fake.requests[-1]
    assert req.method == "GET" and req.path == "/v0/sql"
    assert req.param("q") == "SELECT action, count() AS c FROM t GROUP BY action"
    assert auth_of(req) == "Bearer tk"
    lines = r.stdout.decode().splitlines()
    assert lines[0].split("|")[0].strip() == "action"
    assert [c.strip() for c in lines[0].split("|")] == ["action", "c", "tags", "n"]
    assert set(lines[1]) <= set("-+")
    assert [c.strip() for c in lines[2].split("|")] == ["view", "12", '["a","b"]', "NULL"]
    # Control characters are escaped so a row stays on one line; numbers align right.
    assert [c.strip() for c in lines[3].split("|")] == ["clïck\\nx", "3", "[]", "1.5"]
    assert lines[3].split("|")[1] == "  3 "
    assert len(lines) == 4
    assert b"2 rows in 0.001 s (read 15 rows, 2.0 KB)" in r.stderr


def test_sql_format_option_passes_output_through(fake, home):
    fake.handler = lambda req: (200, {"Content-Type": "text/csv"}, b'"view",12\n"click",3\n')
    r = run(["sql", "SELECT 1", "--format", "CSV"], home, host=fake.url)
    assert r.returncode == 0, r.stderr
    assert fake.requests[-1].param("q") == "SELECT 1\nFORMAT CSV"
    assert r.stdout == b'"view",12\n"click",3\n'

    r = run(["sql", "--format=json", "SELECT 1"], home, host=fake.url)
    assert fake.requests[-1].param("q") == "SELECT 1"
    assert r.stdout == b'"view",12\n"click",3\n'


def test_sql_own_format_clause_is_kept(fake, home):
    fake.handler = lambda req: (200, {}, b'{"a":1}\n')
    r = run(["sql", "select 1 as a format JSONEachRow"], home, host=fake.url)
    assert r.returncode == 0
    assert fake.requests[-1].param("q") == "select 1 as a format JSONEachRow"
    assert r.stdout == b'{"a":1}\n'
    # format() the function and FORMAT inside a string are not clauses: the answer is a table.
    fake.handler = lambda req: json_answer(200, CH_JSON)
    r = run(["sql", "SELECT format('{} FORMAT CSV', 1) -- FORMAT TSV"], home, host=fake.url)
    assert r.stdout.decode().splitlines()[0].split("|")[0].strip() == "action"
    r = run(["sql", "SELECT 1 FORMAT CSV", "--format", "TSV"], home, host=fake.url)
    assert r.returncode == 2


def test_sql_long_query_is_posted(fake, home):
    fake.handler = lambda req: json_answer(200, CH_JSON)
    q = "SELECT " + " + ".join(["1"] * 3000)
    r = run(["sql", q], home, host=fake.url)
    assert r.returncode == 0, r.stderr
    req = fake.requests[-1]
    assert req.method == "POST" and req.path == "/v0/sql"
    assert req.body.decode() == q


def test_sql_from_stdin(fake, home):
    fake.handler = lambda req: json_answer(200, CH_JSON)
    r = run(["sql", "-"], home, host=fake.url, input=b"SELECT 42\n;\n")
    assert r.returncode == 0
    assert fake.requests[-1].param("q") == "SELECT 42"


def test_sql_error(fake, home):
    fake.handler = lambda req: json_answer(400, {"error": "only read-only queries are allowed"})
    r = run(["sql", "DROP TABLE x"], home, host=fake.url)
    assert r.returncode == 1
    assert r.stdout == b""
    assert b"sluice sql: only read-only queries are allowed (HTTP 400)" in r.stderr


def test_sql_empty_result(fake, home):
    body = dict(CH_JSON, data=[], rows=0)
    fake.handler = lambda req: json_answer(200, body)
    r = run(["sql", "SELECT 1 WHERE 0"], home, host=fake.url)
    assert r.returncode == 0
    assert len(r.stdout.decode().splitlines()) == 2  # header and rule
    assert b"0 rows" in r.stderr


# ---- send -------------------------------------------------------------------------------


def make_rows(n, bad_every=0):
    rows = []
    for i in range(n):
        r = {"i": i, "action": "view", "pad": "x" * (i % 37)}
        if bad_every and i % bad_every == 0:
            r["action"] = "bad"
        rows.append(json.dumps(r))
    return ("\n".join(rows) + "\n").encode()


def check_batches(reqs, data, ds, limit):
    assert reqs, "no request"
    for q in reqs:
        assert q.method == "POST" and q.path == "/v0/events"
        assert q.param("name") == ds
        assert q.headers["content-encoding"] == "gzip"
        assert q.raw[:2] == b"\x1f\x8b"
        assert q.headers["idempotency-key"].startswith("sluice-send-")
        assert len(q.body) <= limit
        assert q.body.endswith(b"\n")
        assert q.body.startswith(b"{")
    assert b"".join(q.body for q in reqs) == data
    keys = [q.headers["idempotency-key"] for q in reqs]
    assert len(set(keys)) == len(keys)
    return keys


def test_send_batches(fake, home, tmp_path):
    fake.handler = events_ok
    data = make_rows(500, bad_every=50)
    f = tmp_path / "rows.ndjson"
    f.write_bytes(data)
    r = run(["send", "web events", str(f), "--batch-bytes", "4K", "--token", "tk"], home,
            host=fake.url)
    assert r.returncode == 0, r.stderr
    reqs = list(fake.requests)
    assert len(reqs) > 5
    keys = check_batches(reqs, data, "web events", 4096)
    assert all(auth_of(q) == "Bearer tk" for q in reqs)
    assert all(q.param("wait") is None for q in reqs)
    out = r.stdout.decode()
    assert out.startswith("sent 500 rows (10 quarantined) in ")
    assert f"({len(reqs)} batches" in out
    assert b"_quarantine" in r.stderr  # where to look at the quarantined rows
    assert b"\r" not in r.stderr  # no progress bar when stderr is not a terminal

    # Sending the same file again makes the same keys: the server can skip what it has.
    n = len(fake.requests)
    r = run(["send", "web events", str(f), "--batch-bytes", "4K"], home, host=fake.url)
    assert [q.headers["idempotency-key"] for q in fake.requests[n:]] == keys
    # A new --dedup-id sends it again on purpose.
    n = len(fake.requests)
    r = run(["send", "web events", str(f), "--batch-bytes", "4K", "--dedup-id", "2"], home,
            host=fake.url)
    assert not set(q.headers["idempotency-key"] for q in fake.requests[n:]) & set(keys)


def test_send_gz_input_and_wait(fake, home, tmp_path):
    fake.handler = events_ok
    data = make_rows(3000)
    f = tmp_path / "rows.ndjson.gz"
    f.write_bytes(gzip.compress(data))
    r = run(["send", "ev", str(f), "--batch-bytes", "32768", "--wait"], home, host=fake.url)
    assert r.returncode == 0, r.stderr
    reqs = list(fake.requests)
    assert len(reqs) > 3
    check_batches(reqs, data, "ev", 32768)
    assert all(q.param("wait") == "true" for q in reqs)
    assert r.stdout.decode().startswith("sent 3000 rows (0 quarantined)")


def test_send_stdin_default_batch(fake, home):
    fake.handler = events_ok
    data = make_rows(1000)
    r = run(["send", "ev", "-"], home, host=fake.url, input=data)
    assert r.returncode == 0, r.stderr
    assert len(fake.requests) == 1
    check_batches(fake.requests, data, "ev", 8 << 20)


def test_send_cuts_only_before_a_new_value(fake, home, tmp_path):
    """Pretty-printed objects are never cut in two; \\r\\n and blank lines pass unchanged."""
    fake.handler = events_ok
    objs = [json.dumps({"i": i, "nested": {"a": [1, 2, 3], "s": "y" * 50}}, indent=2)
            for i in range(200)]
    data = ("\r\n\r\n".join(objs) + "\r\n").encode()
    f = tmp_path / "pretty.json"
    f.write_bytes(data)
    r = run(["send", "ev", str(f), "--batch-bytes", "1K"], home, host=fake.url)
    assert r.returncode == 0, r.stderr
    reqs = list(fake.requests)
    assert len(reqs) > 20
    assert b"".join(q.body for q in reqs) == data
    for q in reqs:
        assert q.body.startswith(b"{")
        json.loads(b"[" + b",".join(x for x in q.body.split(b"\r\n\r\n") if x.strip()) + b"]")


def test_send_array_file_is_one_request(fake, home, tmp_path):
    fake.handler = lambda req: json_answer(202, {"successful_rows": 300, "quarantined_rows": 0})
    data = json.dumps([{"i": i} for i in range(300)], indent=1).encode()
    f = tmp_path / "rows.json"
    f.write_bytes(data)
    r = run(["send", "ev", str(f), "--batch-bytes", "1K"], home, host=fake.url)
    assert r.returncode == 0, r.stderr
    assert len(fake.requests) == 1
    assert fake.requests[0].body == data


def test_send_long_line_goes_whole(fake, home, tmp_path):
    fake.handler = events_ok
    big = (json.dumps({"big": "z" * 10000}) + "\n").encode()
    data = big + b'{"small": 1}\n'
    f = tmp_path / "long.ndjson"
    f.write_bytes(data)
    r = run(["send", "ev", str(f), "--batch-bytes", "1K"], home, host=fake.url)
    assert r.returncode == 0, r.stderr
    assert [q.body for q in fake.requests] == [big, b'{"small": 1}\n']


def test_send_retries_503_with_retry_after(fake, home, tmp_path):
    state = {"n": 0}

    def flaky(req):
        state["n"] += 1
        if state["n"] in (2, 3):  # the second batch fails twice
            return json_answer(503, {"error": "disk buffer full"}, {"Retry-After": "1"})
        return events_ok(req)

    fake.handler = flaky
    data = make_rows(200)
    f = tmp_path / "rows.ndjson"
    f.write_bytes(data)
    t0 = time.monotonic()
    r = run(["send", "ev", str(f), "--batch-bytes", "4K"], home, host=fake.url)
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    reqs = list(fake.requests)
    assert 2.0 <= took < 10, took
    # The retried batch went again, byte for byte, with the same key.
    assert reqs[1].raw == reqs[2].raw == reqs[3].raw
    assert reqs[1].headers["idempotency-key"] == reqs[3].headers["idempotency-key"]
    check_batches([reqs[0]] + reqs[3:], data, "ev", 4096)
    assert r.stderr.count(b"HTTP 503 from the server; retrying in 1.0 s") == 2
    assert r.stdout.startswith(b"sent 200 rows (0 quarantined)")


def test_send_retries_429_then_gives_up(fake, home, tmp_path):
    fake.handler = lambda req: json_answer(429, {"error": "rate limited"}, {"Retry-After": "0"})
    f = tmp_path / "rows.ndjson"
    f.write_bytes(make_rows(10))
    r = run(["send", "ev", str(f), "--retries", "3"], home, host=fake.url)
    assert r.returncode == 1
    assert len(fake.requests) == 4
    err = r.stderr.decode()
    assert "rate limited (HTTP 429)" in err
    assert "gave up after 4 attempts" in err
    assert r.stdout.startswith(b"sent 0 rows (0 quarantined)")


def test_send_does_not_retry_client_errors(fake, home, tmp_path):
    state = {"n": 0}

    def second_fails(req):
        state["n"] += 1
        if state["n"] == 2:
            return json_answer(404, {"error": "data source 'ev' does not exist"})
        return events_ok(req)

    fake.handler = second_fails
    f = tmp_path / "rows.ndjson"
    f.write_bytes(make_rows(200))
    r = run(["send", "ev", str(f), "--batch-bytes", "4K"], home, host=fake.url)
    assert r.returncode == 1
    assert len(fake.requests) == 2
    assert b"data source 'ev' does not exist (HTTP 404)" in r.stderr
    n_first = len([l for l in fake.requests[0].body.split(b"\n") if l])
    assert r.stdout.startswith(f"sent {n_first} rows (0 quarantined)".encode())
    assert b"then stopped" in r.stdout
    assert b"running the same command again" in r.stderr


def test_send_retries_connection_errors(home, tmp_path):
    f = tmp_path / "rows.ndjson"
    f.write_bytes(make_rows(10))
    url = f"http://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    r = run(["send", "ev", str(f), "--retries", "2"], home, host=url)
    took = time.monotonic() - t0
    assert r.returncode == 1
    err = r.stderr.decode()
    assert err.count("retrying in") == 2
    assert "is `sluice serve` running?" in err
    assert 0.7 < took < 10  # backoff 0.5 s then 1 s, +-25%


def test_send_unreadable_or_corrupt_input(fake, home, tmp_path):
    fake.handler = events_ok
    r = run(["send", "ev", str(tmp_path / "missing.ndjson")], home, host=fake.url)
    assert r.returncode == 2 and b"cannot read" in r.stderr
    bad = tmp_path / "cut.ndjson.gz"
    bad.write_bytes(gzip.compress(make_rows(2000))[:-100])
    r = run(["send", "ev", str(bad)], home, host=fake.url)
    assert r.returncode == 2 and b"cannot read" in r.stderr


# ---- datasource -------------------------------------------------------------------------

DS_LIST = {"datasources": [
    {"name": "web", "columns": [{"name": "a"}, {"name": "b"}],
     "engine": {"engine": "MergeTree", "sorting_key": "action, timestamp"}},
    {"name": "raw", "columns": [{"name": "x"}], "engine": {"engine": "MergeTree",
                                                         "sorting_key": None}},
]}

DS_TEXT = b"SCHEMA >\n    `a` String `json:$.a`\n\nENGINE \"MergeTree\"\n"


def test_datasource_ls(fake, home):
    fake.handler = lambda req: json_answer(200, DS_LIST)
    r = run(["datasource", "ls"], home, host=fake.url)
    assert r.returncode == 0, r.stderr
    assert fake.requests[-1].method == "GET" and fake.requests[-1].path == "/v0/datasources"
    lines = [[c.strip() for c in l.split("|")] for l in r.stdout.decode().splitlines()]
    assert lines[0] == ["name", "columns", "engine", "sorting key"]
    assert lines[2] == ["web", "2", "MergeTree", "action, timestamp"]
    assert lines[3] == ["raw", "1", "MergeTree", ""]
    r = run(["datasource", "ls", "--json"], home, host=fake.url)
    assert json.loads(r.stdout) == DS_LIST


def test_datasource_push(fake, home, tmp_path):
    answer = {"created": True, "datasource": {"name": "web_events", "columns": [{}, {}, {}]},
              "tokens": [{"name": "tracker", "token": "p.secret"}]}
    fake.handler = lambda req: json_answer(200, answer)
    f = tmp_path / "web_events.datasource"
    f.write_bytes(DS_TEXT)
    r = run(["datasource", "push", str(f)], home, host=fake.url)
    assert r.returncode == 0, r.stderr
    req = fake.requests[-1]
    assert req.method == "POST" and req.path == "/v0/datasources"
    assert req.param("name") == "web_events"
    assert req.body == DS_TEXT
    out = r.stdout.decode()
    assert "created data source 'web_events' (3 columns)" in out
    assert "token 'tracker': p.secret" in out

    answer["created"] = False
    r = run(["datasource", "push", str(f), "--name", "other"], home, host=fake.url)
    assert fake.requests[-1].param("name") == "other"
    assert b"exists with this schema already" in r.stdout

    fake.handler = lambda req: json_answer(409, {"error": "data source 'x' exists with a "
                                                          "different schema"})
    r = run(["datasource", "push", str(f)], home, host=fake.url)
    assert r.returncode == 1 and b"different schema (HTTP 409)" in r.stderr
    r = run(["datasource", "push", str(tmp_path / "nope.datasource")], home, host=fake.url)
    assert r.returncode == 2


def test_datasource_pull(fake, home, tmp_path):
    fake.handler = lambda req: (200, {"Content-Type": "text/plain"}, DS_TEXT)
    r = run(["datasource", "pull", "web"], home, host=fake.url)
    assert r.returncode == 0
    assert fake.requests[-1].path == "/v0/datasources/web.datasource"
    assert r.stdout == DS_TEXT
    out = tmp_path / "web.datasource"
    r = run(["datasource", "pull", "web", "-o", str(out)], home, host=fake.url)
    assert r.returncode == 0 and r.stdout == b""
    assert out.read_bytes() == DS_TEXT

    fake.handler = lambda req: json_answer(404, {"error": "data source 'nope' does not exist"})
    out2 = tmp_path / "nope.datasource"
    r = run(["datasource", "pull", "nope", "--output", str(out2)], home, host=fake.url)
    assert r.returncode == 1
    assert b"does not exist (HTTP 404)" in r.stderr
    assert not out2.exists()


def test_datasource_rm_and_truncate(fake, home):
    fake.handler = lambda req: json_answer(200, {"name": "web", "deleted": True})
    r = run(["datasource", "rm", "web"], home, host=fake.url, input=b"y\n")
    assert r.returncode == 2 and not fake.requests  # stdin is not a terminal: needs --yes
    assert b"--yes" in r.stderr
    r = run(["datasource", "rm", "web", "--yes"], home, host=fake.url)
    assert r.returncode == 0
    assert fake.requests[-1].method == "DELETE"
    assert fake.requests[-1].path == "/v0/datasources/web"
    assert b"deleted data source 'web'" in r.stdout
    r = run(["datasource", "truncate", "-y", "web"], home, host=fake.url)
    assert r.returncode == 0
    assert fake.requests[-1].method == "POST"
    assert fake.requests[-1].path == "/v0/datasources/web/truncate"


def test_datasource_infer_is_offline(home, tmp_path):
    f = tmp_path / "rows.ndjson"
    f.write_bytes(b'{"a": 1, "t": "2024-01-02T03:04:05Z"}\n{"a": 2, "b": "x"}\n')
    r = run(["datasource", "infer", str(f)], home,
            host=f"http://127.0.0.1:{free_port()}")
    assert r.returncode == 0, r.stderr
    assert b"SCHEMA >" in r.stdout


# ---- token ------------------------------------------------------------------------------


def test_token_commands(fake, home):
    tokens = {"tokens": [{"name": "admin", "scopes": ["ADMIN"]},
                         {"name": "tracker", "scopes": ["DATASOURCES:APPEND:web",
                                                        "DATASOURCES:READ:web"]}]}

    def handler(req):
        if req.method == "GET":
            return json_answer(200, tokens)
        if req.method == "POST":
            return json_answer(200, {"name": req.param("name"), "token": "p.s3cret",
                                     "scopes": req.query.get("scope", [])})
        return json_answer(200, {"name": "x", "deleted": True})

    fake.handler = handler
    r = run(["token", "ls"], home, host=fake.url)
    assert r.returncode == 0
    assert fake.requests[-1].path == "/v0/tokens"
    lines = [[c.strip() for c in l.split("|")] for l in r.stdout.decode().splitlines()]
    assert lines[0] == ["name", "scopes"]
    assert lines[3] == ["tracker", "DATASOURCES:APPEND:web, DATASOURCES:READ:web"]

    r = run(["token", "create", "ci bot", "--scope", "DATASOURCES:APPEND:web",
             "--scope=DATASOURCES:READ:web"], home, host=fake.url)
    assert r.returncode == 0, r.stderr
    req = fake.requests[-1]
    assert req.method == "POST" and req.path == "/v0/tokens"
    assert req.param("name") == "ci bot"
    assert req.query["scope"] == ["DATASOURCES:APPEND:web", "DATASOURCES:READ:web"]
    assert r.stdout == b"p.s3cret\n"  # the secret alone, for $(...)
    assert b"shown only now" in r.stderr

    r = run(["token", "rm", "ci bot"], home, host=fake.url)
    assert r.returncode == 0
    assert fake.requests[-1].method == "DELETE"
    assert fake.requests[-1].path == "/v0/tokens/ci bot"
    assert b"deleted token 'ci bot'" in r.stdout


def test_send_reports_replayed_batches(fake, home, tmp_path):
    def replayed(req):
        status, headers, body = events_ok(req)
        headers["Idempotent-Replayed"] = "true"
        return status, headers, body

    fake.handler = replayed
    f = tmp_path / "rows.ndjson"
    f.write_bytes(make_rows(100))
    r = run(["send", "ev", str(f), "--batch-bytes", "2KiB"], home, host=fake.url)
    assert r.returncode == 0, r.stderr
    n = len(fake.requests)
    assert n > 1
    assert f"({n} batches".encode() in r.stdout
    assert f"{n} already sent before".encode() in r.stdout
    assert all(len(q.body) <= 2048 for q in fake.requests)


def test_config_file_unknown_key_is_reported(fake, home, tmp_path):
    fake.handler = lambda req: json_answer(200, {"tokens": []})
    cfg = tmp_path / "c"
    cfg.write_text(f"host = {fake.url}\nhots = x\n")
    r = run(["token", "ls"], home, env={"SLUICE_CONFIG": str(cfg)})
    assert r.returncode == 0
    assert b"unknown key 'hots'" in r.stderr
    cfg.write_text("just words\n")
    r = run(["token", "ls"], home, env={"SLUICE_CONFIG": str(cfg)})
    assert r.returncode == 2 and b"expected 'key = value'" in r.stderr
