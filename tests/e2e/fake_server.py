"""A scriptable stand-in for a sluice server, for testing the client commands of the CLI.

It runs in a thread of the test process on a free loopback port, records every request
(method, path, query, headers, body decoded from gzip) and answers through a handler the test
sets: `fake.handler = lambda req: (status, headers, body)`. Standard library only.
"""

import gzip
import http.server
import json
import threading
import urllib.parse
import zlib


class Request:
    def __init__(self, method, target, headers, raw):
        self.method = method
        parts = urllib.parse.urlsplit(target)
        self.path = urllib.parse.unquote(parts.path)
        self.query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.raw = raw
        enc = self.headers.get("content-encoding", "")
        if enc == "gzip":
            self.body = gzip.decompress(raw)
        elif enc == "deflate":
            self.body = zlib.decompress(raw)
        else:
            self.body = raw

    def param(self, name):
        values = self.query.get(name)
        return values[0] if values else None

    def __repr__(self):
        return f"<{self.method} {self.path} {self.query}>"


def json_answer(status, obj, headers=None):
    return status, dict(headers or {}, **{"Content-Type": "application/json"}), \
        json.dumps(obj).encode()


def events_ok(req):
    """Counts rows like the real server: non-blank lines; lines containing "bad" quarantine."""
    lines = [l for l in req.body.split(b"\n") if l.strip()]
    bad = sum(1 for l in lines if b"bad" in l)
    return json_answer(200 if req.param("wait") == "true" else 202,
                       {"successful_rows": len(lines) - bad, "quarantined_rows": bad})


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _serve(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        fake = self.server.fake
        req = Request(self.command, self.path, self.headers, raw)
        with fake.lock:
            fake.requests.append(req)
        try:
            status, headers, body = fake.handler(req)
        except Exception as e:  # a bug in a test handler shows up as a 500 with the reason
            status, headers, body = 500, {}, json.dumps({"error": f"fake: {e!r}"}).encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = do_PUT = _serve


class FakeServer:
    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.handler = lambda req: json_answer(404, {"error": "no handler"})
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
