"""Fixtures of the black-box end-to-end tests: they start the real `sluice serve` binary
(SLUICE_BIN, default build/release/sluice) on a free port with a temporary data dir, wait for
/v0/health, talk to it over HTTP with the standard library only, and always stop it at the end
(SIGTERM, then SIGKILL after a timeout). The server's stdout/stderr go to files; the part written
during a failing test is attached to the test's report.

Helpers reach the tests through fixtures (no `import conftest`): `server` (one shared server for
the session; tests use unique data source names from `uniq`), `make_server` (a dedicated server,
for flags such as a small body cap or a tiny rate limit, or a restart), `serve_flag` (finds a
flag in `sluice serve --help`) and `gen_events` (runs ../shared/tools/gen_events.py)."""
import gzip
import http.client
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
import zlib

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SLUICE_BIN = os.path.abspath(os.environ.get("SLUICE_BIN") or
                             os.path.join(REPO, "build", "release", "sluice"))
GEN_EVENTS = os.path.abspath(os.path.join(REPO, "..", "shared", "tools", "gen_events.py"))
# A fixed admin secret (SLUICE_ADMIN_TOKEN) so the tests know it.
ADMIN_TOKEN = "sl.e2e-admin-0123456789abcdefghijklmnopqrstuvwxyz"
START_TIMEOUT_S = float(os.environ.get("SLUICE_E2E_START_TIMEOUT", "60"))
STOP_TIMEOUT_S = float(os.environ.get("SLUICE_E2E_STOP_TIMEOUT", "30"))
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")

ADMIN = object()  # sentinel: "use the server's admin token"

_servers = []  # every Server started in this session, for the failure report
_counter = itertools.count(1)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ndjson(rows):
    return b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in rows)


def zstd_compress(data):
    return subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE,
                          check=True).stdout


def raw_deflate(data):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


class Resp:
    def __init__(self, method, url, status, headers, body):
        self.method, self.url, self.status, self.headers, self.body = (
            method, url, status, headers, body)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise AssertionError("%s %s: body is not JSON: %r" % (self.method, self.url,
                                                                  self.body[:500]))

    def header(self, name):
        return self.headers.get(name)

    def __repr__(self):
        return "<%s %s -> %d %r>" % (self.method, self.url, self.status, self.body[:300])

    def expect(self, status):
        assert self.status == status, "%s %s: expected %d, got %d: %r" % (
            self.method, self.url, status, self.status, self.body[:1000])
        return self

    def expect_error(self, status):
        """Exact status, a JSON body that is exactly {"error": "<non-empty text>"}."""
        self.expect(status)
        ctype = self.header("Content-Type") or ""
        assert ctype.startswith("application/json"), "%r: Content-Type %r" % (self, ctype)
        body = self.json()
        assert isinstance(body, dict) and set(body) == {"error"}, "%r" % self
        assert isinstance(body["error"], str) and body["error"].strip(), "%r" % self
        return body["error"]

    def expect_rate_headers(self):
        for h in RATE_HEADERS:
            v = self.header(h)
            assert v is not None, "%r: no %s header (headers: %s)" % (self, h,
                                                                      dict(self.headers))
            assert re.fullmatch(r"\d+", v.strip()), "%r: %s: %r" % (self, h, v)
        return self


class Server:
    """One `sluice serve` process."""

    def __init__(self, data_dir, log_dir, args=(), env=None, admin_token=ADMIN_TOKEN,
                 label="sluice"):
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.args = list(args)
        self.extra_env = dict(env or {})
        self.admin_token = admin_token
        self.label = label
        self.proc = None
        self.port = None
        self.logs = []  # (stdout path, stderr path) per start
        self.returncode = None
        _servers.append(self)

    # --- process -----------------------------------------------------------------------

    def start(self, timeout=START_TIMEOUT_S):
        assert self.proc is None
        self.port = free_port()
        n = next(_counter)
        out_path = os.path.join(self.log_dir, "%s-%d.stdout" % (self.label, n))
        err_path = os.path.join(self.log_dir, "%s-%d.stderr" % (self.label, n))
        self.logs.append((out_path, err_path))
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
        if self.admin_token is not None:
            env["SLUICE_ADMIN_TOKEN"] = self.admin_token
        env.update(self.extra_env)
        cmd = [SLUICE_BIN, "serve", "--listen", "127.0.0.1:%d" % self.port, "--data",
               self.data_dir] + self.args
        self.cmd = cmd
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                raise AssertionError("sluice serve exited with %d during start-up: %s\n%s" % (
                    rc, " ".join(cmd), self.log_tail()))
            try:
                r = self.req("GET", "/v0/health", token=None, timeout=2)
                if r.status == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("sluice serve did not answer /v0/health within %.0f s: "
                                     "%s\n%s" % (timeout, " ".join(cmd), self.log_tail()))
            time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT_S):
        """Sends `sig`, waits up to `timeout`, then SIGKILL. Returns the exit status
        (negative: killed by that signal; None if it was not running)."""
        if self.proc is None:
            return None
        p = self.proc
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=timeout)
            killed = False
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            killed = True
        self.proc = None
        self.returncode = p.returncode
        self.killed_after_timeout = killed
        return p.returncode

    def kill(self):
        return self.stop(signal.SIGKILL, timeout=10)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stdout_text(self, index=-1):
        with open(self.logs[index][0], "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr_text(self, index=-1):
        with open(self.logs[index][1], "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_sizes(self):
        sizes = []
        for o, e in self.logs:
            sizes.append(tuple(os.path.getsize(p) if os.path.exists(p) else 0 for p in (o, e)))
        return sizes

    def log_since(self, marks, max_lines=120):
        parts = []
        for i, (o, e) in enumerate(self.logs):
            start = marks[i] if i < len(marks) else (0, 0)
            for path, off in ((o, start[0]), (e, start[1])):
                try:
                    with open(path, "rb") as f:
                        f.seek(off)
                        data = f.read().decode("utf-8", "replace")
                except OSError:
                    continue
                if data.strip():
                    lines = data.splitlines()
                    if len(lines) > max_lines:
                        lines = ["... (%d lines cut)" % (len(lines) - max_lines)] + \
                            lines[-max_lines:]
                    parts.append("== %s ==\n%s" % (path, "\n".join(lines)))
        return "\n".join(parts)

    def log_tail(self):
        return self.log_since([])

    # --- HTTP ----------------------------------------------------------------------------

    def url(self, path, params=None):
        if params:
            q = urllib.parse.urlencode(params, doseq=True)
            path += ("&" if "?" in path else "?") + q
        return path

    def req(self, method, path, body=None, headers=None, params=None, token=ADMIN,
            auth="bearer", timeout=60):
        """One request on a fresh connection. token=ADMIN: the admin token; None: no token.
        auth: "bearer" (Authorization header) or "query" (?token=)."""
        if token is ADMIN:
            token = self.admin_token
        params = list(params.items()) if isinstance(params, dict) else list(params or [])
        hdrs = dict(headers or {})
        if token is not None:
            if auth == "bearer":
                hdrs["Authorization"] = "Bearer " + token
            else:
                params.append(("token", token))
        if isinstance(body, str):
            body = body.encode()
        target = self.url(path, params)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, target, body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            return Resp(method, target, r.status, r.headers, data)
        finally:
            conn.close()

    def events(self, name, body, wait=False, token=ADMIN, params=None, headers=None,
               auth="bearer"):
        if isinstance(body, (list, tuple)):
            body = ndjson(body)
        p = [("name", name)] if name is not None else []
        if wait:
            p.append(("wait", "true"))
        p += list(params.items()) if isinstance(params, dict) else list(params or [])
        return self.req("POST", "/v0/events", body=body, headers=headers, params=p, token=token,
                        auth=auth)

    def sql(self, q, token=ADMIN, method="GET", params=None):
        if method == "GET":
            p = [("q", q)] + list(params or [])
            return self.req("GET", "/v0/sql", params=p, token=token)
        return self.req("POST", "/v0/sql", body=q, params=params, token=token)

    def sql_json(self, q, token=ADMIN):
        return self.sql(q, token=token).expect(200).json()

    def sql_rows(self, q, token=ADMIN):
        return self.sql_json(q, token=token)["data"]

    def scalar(self, q, token=ADMIN):
        data = self.sql_rows(q, token=token)
        assert len(data) == 1, data
        v = list(data[0].values())[0]
        # ClickHouse's JSON quotes 64-bit integers by default.
        if isinstance(v, str) and re.fullmatch(r"-?\d+", v):
            return int(v)
        return v

    def count(self, table, where=""):
        return self.scalar("SELECT count() FROM `%s`%s" % (table, " WHERE " + where
                                                           if where else ""))

    def wait_count(self, table, n, timeout=5.0):
        """Polls count() until it is n (returns the time it took) or fails."""
        t0 = time.monotonic()
        last = None
        while True:
            r = self.sql("SELECT count() AS c FROM `%s`" % table)
            if r.status == 200:
                last = int(r.json()["data"][0]["c"])
                if last == n:
                    return time.monotonic() - t0
                if last > n:
                    raise AssertionError("%s has %d rows, expected %d" % (table, last, n))
            else:
                last = r
            if time.monotonic() - t0 > timeout:
                raise AssertionError("%s: expected %d rows within %.1f s, last answer %r" % (
                    table, n, timeout, last))
            time.sleep(0.05)

    def create_ds(self, name, text, token=ADMIN):
        return self.req("POST", "/v0/datasources", body=text, params={"name": name},
                        token=token)

    def create_token(self, name, scopes, token=ADMIN):
        r = self.req("POST", "/v0/tokens", params=[("name", name)] +
                     [("scope", s) for s in scopes], token=token).expect(200)
        return r.json()["token"]

    def metrics(self):
        r = self.req("GET", "/metrics", token=None).expect(200)
        return parse_prometheus(r.text)


SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+-?\d+)?$')


def parse_prometheus(text):
    """{'name{labels}': float}; raises on a malformed line."""
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            if line.startswith("#"):
                assert re.match(r"^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* ", line) or \
                    line.startswith("# "), "bad comment line %r" % line
            continue
        m = SAMPLE_RE.match(line)
        assert m, "not a Prometheus sample line: %r" % line
        v = m.group(3)
        out[m.group(1) + (m.group(2) or "")] = float(v)
    return out


# --- pytest plumbing ---------------------------------------------------------------------------

def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running e2e test")


@pytest.fixture(scope="session")
def _sluice_binary():
    if not os.access(SLUICE_BIN, os.X_OK):
        pytest.fail("sluice binary not found at %s (build it with `make`, or set SLUICE_BIN)"
                    % SLUICE_BIN)
    h = subprocess.run([SLUICE_BIN, "serve", "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    text = h.stdout.decode("utf-8", "replace")
    if h.returncode != 0 or "unknown command" in text:
        pytest.fail("`%s serve --help` failed (exit %d): the binary has no serve command yet:"
                    "\n%s" % (SLUICE_BIN, h.returncode, text))
    return text


@pytest.fixture(scope="session")
def serve_help(_sluice_binary):
    return _sluice_binary


@pytest.fixture(scope="session")
def serve_flag(serve_help):
    """serve_flag("--a", "--b") → the first flag that `sluice serve --help` lists, or None."""
    def find(*candidates):
        for c in candidates:
            if re.search(r"(^|[\s,\[])" + re.escape(c) + r"([\s=,\]]|$)", serve_help, re.M):
                return c
        return None
    return find


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        marks = getattr(item, "_sluice_log_marks", {})
        for s in _servers:
            text = s.log_since(marks.get(id(s), []))
            if text:
                rep.sections.append(("sluice serve log (%s, port %s)" % (s.label, s.port),
                                     text))


@pytest.fixture(autouse=True)
def _log_marks(request):
    request.node._sluice_log_marks = {id(s): s.log_sizes() for s in _servers}
    yield


@pytest.fixture(scope="session")
def server(tmp_path_factory, _sluice_binary):
    """The shared server (default settings)."""
    d = tmp_path_factory.mktemp("shared")
    s = Server(str(d / "data"), str(d), label="shared")
    s.start()
    yield s
    s.stop()


@pytest.fixture
def make_server(tmp_path, _sluice_binary):
    """make_server(args=[...], env={...}, admin_token=..., data_dir=...) → a started Server,
    stopped at the end of the test. start=False gives an unstarted one."""
    made = []

    def make(args=(), env=None, admin_token=ADMIN_TOKEN, data_dir=None, start=True,
             label="dedicated"):
        n = len(made)
        dd = data_dir or str(tmp_path / ("data%d" % n))
        s = Server(dd, str(tmp_path), args=args, env=env, admin_token=admin_token,
                   label="%s%d" % (label, n))
        made.append(s)
        if start:
            s.start()
        return s

    yield make
    for s in made:
        s.stop()


@pytest.fixture
def uniq(request):
    """uniq("prefix") → a data source / token name unique to this test run."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)[:30]

    def make(prefix=None):
        return "%s_%s" % (prefix or base, uuid.uuid4().hex[:10])
    return make


@pytest.fixture(scope="session")
def gen_events():
    """gen_events("dirty", "--rows", "10", ...) → stdout bytes of gen_events.py."""
    if not os.path.exists(GEN_EVENTS):
        pytest.fail("gen_events.py not found at %s" % GEN_EVENTS)

    def run(*args):
        return subprocess.run([sys.executable, GEN_EVENTS] + [str(a) for a in args],
                              stdout=subprocess.PIPE, check=True).stdout
    return run


@pytest.fixture(scope="session")
def codecs():
    """Body encoders by Content-Encoding name."""
    return {"gzip": gzip.compress, "deflate": zlib.compress, "zstd": zstd_compress,
            "raw-deflate": raw_deflate}


@pytest.fixture(scope="session")
def sluice_bin():
    return SLUICE_BIN
