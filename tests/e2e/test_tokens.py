"""Tokens (SPEC §8): create with scopes, list without secrets, delete; every scope allows what it
says and nothing else; the admin token from SLUICE_ADMIN_TOKEN or printed once on first start."""
import os
import re
import stat

import pytest

SCHEMA = "SCHEMA >\n    `id` UInt64 `json:$.id`\n"
SECRET_RE = re.compile(r"sl\.[A-Za-z0-9_-]{43}")


@pytest.fixture
def two(server, uniq):
    a, b = uniq("ta"), uniq("tb")
    server.create_ds(a, SCHEMA).expect(200)
    server.create_ds(b, SCHEMA).expect(200)
    return a, b


def test_create_list_delete(server, uniq):
    name = uniq("tok")
    scopes = ["DATASOURCES:READ:foo", "DATASOURCES:APPEND:foo"]
    r = server.req("POST", "/v0/tokens", params=[("name", name)] +
                   [("scope", s) for s in scopes]).expect(200)
    d = r.json()
    assert set(d) == {"name", "token", "scopes"}, d
    assert d["name"] == name and d["scopes"] == scopes
    secret = d["token"]
    assert SECRET_RE.fullmatch(secret), secret
    lst = server.req("GET", "/v0/tokens").expect(200)
    body = lst.json()
    assert set(body) == {"tokens"}
    mine = [t for t in body["tokens"] if t["name"] == name]
    assert mine and mine[0]["scopes"] == scopes and "token" not in mine[0], mine
    assert "admin" in [t["name"] for t in body["tokens"]]
    # No secret anywhere in the listing, not even the admin's.
    assert secret not in lst.text and server.admin_token not in lst.text
    assert not SECRET_RE.search(lst.text)
    # The token works, then is deleted and refused.
    server.create_ds("foo", SCHEMA)
    server.events("foo", b'{"id":1}', token=secret).expect(202)
    server.req("DELETE", "/v0/tokens/" + name).expect(200)
    server.events("foo", b'{"id":1}', token=secret).expect_error(403)
    assert name not in [t["name"] for t in server.req("GET", "/v0/tokens").json()["tokens"]]
    server.req("DELETE", "/v0/tokens/" + name).expect_error(404)


def test_create_errors(server, uniq):
    server.req("POST", "/v0/tokens", params={"scope": "ADMIN"}).expect_error(400)  # no name
    server.req("POST", "/v0/tokens", params={"name": uniq("x"), "scope": "NOPE"}) \
        .expect_error(400)
    server.req("POST", "/v0/tokens", params={"name": uniq("x"),
                                              "scope": "DATASOURCES:APPEND:bad-name!"}) \
        .expect_error(400)
    server.req("POST", "/v0/tokens", params={"name": "bad name/x", "scope": "ADMIN"}) \
        .expect_error(400)
    n = uniq("dup")
    server.create_token(n, ["TOKENS"])
    r = server.req("POST", "/v0/tokens", params={"name": n, "scope": "ADMIN"})
    assert r.status in (400, 409), r
    r.expect_error(r.status)
    server.req("DELETE", "/v0/tokens/" + uniq("none")).expect_error(404)


def test_token_api_needs_tokens_scope(server, uniq, two):
    a, _ = two
    app = server.create_token(uniq("app"), ["DATASOURCES:APPEND:" + a])
    server.req("GET", "/v0/tokens", token=app).expect_error(403)
    server.req("POST", "/v0/tokens", params={"name": uniq("z"), "scope": "ADMIN"},
               token=app).expect_error(403)
    server.req("GET", "/v0/tokens", token=None).expect_error(403)
    # TOKENS can manage tokens.
    mgr = server.create_token(uniq("mgr"), ["TOKENS"])
    n = uniq("made")
    server.create_token(n, ["DATASOURCES:READ:" + a], token=mgr)
    server.req("GET", "/v0/tokens", token=mgr).expect(200)
    server.req("DELETE", "/v0/tokens/" + n, token=mgr).expect(200)
    # ... but not data.
    server.events(a, b'{"id":1}', token=mgr).expect_error(403)
    server.sql("SELECT count() FROM " + a, token=mgr).expect_error(403)


def test_append_scope(server, uniq, two):
    a, b = two
    t = server.create_token(uniq("app"), ["DATASOURCES:APPEND:" + a])
    server.events(a, b'{"id":1}', token=t).expect(202)
    server.events(a, b'{"id":1}', token=t, auth="query").expect(202)
    server.events(b, b'{"id":1}', token=t).expect_error(403)
    server.events(uniq("new"), b'{"id":1}', token=t).expect_error(403)  # cannot create
    server.create_ds(uniq("new"), SCHEMA, token=t).expect_error(403)
    server.sql("SELECT count() FROM " + a, token=t).expect_error(403)
    server.req("POST", "/v0/datasources/%s/truncate" % a, token=t).expect_error(403)
    server.req("DELETE", "/v0/datasources/" + a, token=t).expect_error(403)


def test_read_scope(server, uniq, two):
    a, b = two
    server.events(a, b'{"id":1}', wait=True).expect(200)
    t = server.create_token(uniq("rd"), ["DATASOURCES:READ:" + a])
    assert server.scalar("SELECT count() FROM " + a, token=t) == 1
    server.req("GET", "/v0/datasources/" + a, token=t).expect(200)
    server.req("GET", "/v0/datasources/%s.datasource" % a, token=t).expect(200)
    server.req("GET", "/v0/datasources/" + b, token=t).expect_error(403)
    server.sql("SELECT count() FROM " + b, token=t).expect_error(403)
    server.events(a, b'{"id":1}', token=t).expect_error(403)
    server.req("DELETE", "/v0/datasources/" + a, token=t).expect_error(403)
    # A listing shows only what the token may read.
    lst = server.req("GET", "/v0/datasources", token=t)
    if lst.status == 200:
        assert [d["name"] for d in lst.json()["datasources"]] == [a]
    else:
        lst.expect_error(403)


def test_drop_scope(server, uniq, two):
    a, b = two
    server.events(a, b'{"id":1}', wait=True).expect(200)
    t = server.create_token(uniq("dr"), ["DATASOURCES:DROP:" + a])
    server.req("POST", "/v0/datasources/%s/truncate" % b, token=t).expect_error(403)
    server.req("DELETE", "/v0/datasources/" + b, token=t).expect_error(403)
    server.events(a, b'{"id":1}', token=t).expect_error(403)
    server.req("POST", "/v0/datasources/%s/truncate" % a, token=t).expect(200)
    assert server.count(a) == 0
    server.req("DELETE", "/v0/datasources/" + a, token=t).expect(200)
    server.req("GET", "/v0/datasources/" + a).expect_error(404)


def test_delete_revokes_the_data_sources_scopes(server, uniq, two):
    a, b = two
    name = uniq("rv")
    t = server.create_token(name, ["DATASOURCES:READ:" + a, "DATASOURCES:APPEND:" + a,
                                   "DATASOURCES:READ:" + b])
    server.req("DELETE", "/v0/datasources/" + a).expect(200)
    listed = {x["name"]: x["scopes"] for x in server.req("GET", "/v0/tokens").json()["tokens"]}
    assert listed[name] == ["DATASOURCES:READ:" + b]
    # Created again under the same name, the data source does not inherit the old grants.
    server.create_ds(a, SCHEMA).expect(200)
    server.events(a, b'{"id":1}', token=t).expect_error(403)
    server.sql("SELECT count() FROM " + a, token=t).expect_error(403)
    assert server.scalar("SELECT count() FROM " + b, token=t) == 0


def test_create_scope(server, uniq, two):
    a, _ = two
    t = server.create_token(uniq("cr"), ["DATASOURCES:CREATE"])
    n = uniq("made")
    server.create_ds(n, SCHEMA, token=t).expect(200)
    server.events(n, b'{"id":1}', token=t).expect(202)
    server.events(a, b'{"id":1}', token=t).expect(202)  # append anywhere
    auto = uniq("auto")
    r = server.events(auto, b'{"k":1}', token=t, wait=True).expect(200)
    assert r.json() == {"successful_rows": 1, "quarantined_rows": 0}
    server.req("GET", "/v0/tokens", token=t).expect_error(403)
    server.req("DELETE", "/v0/datasources/" + a, token=t).expect_error(403)


def test_multiple_scopes(server, uniq, two):
    a, b = two
    t = server.create_token(uniq("multi"), ["DATASOURCES:APPEND:" + a, "DATASOURCES:READ:" + b])
    server.events(a, b'{"id":1}', token=t).expect(202)
    server.events(b, b'{"id":1}', token=t).expect_error(403)
    server.sql("SELECT count() FROM " + b, token=t).expect(200)
    server.sql("SELECT count() FROM " + a, token=t).expect_error(403)


def test_admin_token_printed_when_not_preset(make_server):
    s = make_server(admin_token=None, label="noadmin")
    out = s.stdout_text() + s.stderr_text()
    found = set(SECRET_RE.findall(out))
    assert len(found) == 1, "expected the admin token printed once on first start, found %r" \
        % found
    secret = found.pop()
    s.admin_token = secret
    r = s.events("printed", b'{"a":1}', wait=True).expect(200)
    assert r.json() == {"successful_rows": 1, "quarantined_rows": 0}
    s.req("GET", "/v0/tokens", token=secret).expect(200)
    # Stored in the data dir with mode 0600.
    holders = []
    for root, dirs, files in os.walk(s.data_dir):
        if "clickhouse" in dirs:
            dirs.remove("clickhouse")
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                if secret.encode() in fh.read() or "token" in f.lower():
                    holders.append(p)
    assert holders, "no token store (a file holding the secret or named *token*) under %s" \
        % s.data_dir
    for p in holders:
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, (p, oct(os.stat(p).st_mode))
    # Second start: the same token works and is not printed again.
    assert s.stop() == 0
    s.start()
    again = s.stdout_text() + s.stderr_text()
    assert secret not in again, "the admin token was printed again on the second start"
    s.req("GET", "/v0/tokens", token=secret).expect(200)
    assert s.count("printed") == 1


def test_preset_admin_token(server):
    server.req("GET", "/v0/tokens", token=server.admin_token).expect(200)
    toks = server.req("GET", "/v0/tokens").json()["tokens"]
    admin = [t for t in toks if t["name"] == "admin"]
    assert admin and "ADMIN" in admin[0]["scopes"], toks
