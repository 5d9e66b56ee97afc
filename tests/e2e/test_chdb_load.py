"""How the binary finds chDB: it does not link libchdb.so but loads it when `sluice serve` starts
(SLUICE_CHDB_LIB, else the RUNPATH of the build). A library that is missing, not a library, or
not chDB stops `serve` with one clear line and status 1; the other commands never load it."""
import os
import shutil
import socket
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SLUICE = os.path.abspath(os.environ.get("SLUICE_BIN") or
                         os.path.join(REPO, "build", "release", "sluice"))
HINT = "; run `make deps` or set SLUICE_CHDB_LIB"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, tmp_path, lib, input=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    env["HOME"] = str(tmp_path)
    env["SLUICE_CHDB_LIB"] = lib
    return subprocess.run([SLUICE] + args, env=env, input=input, capture_output=True,
                          timeout=120)


def serve(tmp_path, lib):
    return run(["serve", "--listen", "127.0.0.1:%d" % free_port(), "--data",
                str(tmp_path / "data")], tmp_path, lib)


def test_missing_library_stops_serve_with_a_clear_message(tmp_path):
    r = serve(tmp_path, "/nonexistent/libchdb.so")
    assert r.returncode == 1, r
    assert r.stderr.decode() == (
        "sluice serve: cannot load ClickHouse (chDB) library '/nonexistent/libchdb.so': "
        "cannot open shared object file: No such file or directory" + HINT + "\n")
    assert r.stdout == b""


def test_file_that_is_no_library(tmp_path):
    bogus = tmp_path / "libchdb.so"
    bogus.write_text("not an ELF file\n" * 100)
    r = serve(tmp_path, str(bogus))
    assert r.returncode == 1, r
    assert r.stderr.decode() == (
        "sluice serve: cannot load ClickHouse (chDB) library '%s': invalid ELF header%s\n"
        % (bogus, HINT))


def test_library_without_chdb_names_the_missing_symbol(tmp_path):
    r = serve(tmp_path, "libz.so.1")
    assert r.returncode == 1, r
    assert r.stderr.decode() == (
        "sluice serve: cannot load ClickHouse (chDB) library 'libz.so.1': missing symbol "
        "chdb_set_signal_handlers_enabled" + HINT + "\n")


def test_client_commands_do_not_load_chdb(tmp_path):
    bad = "/nonexistent/libchdb.so"
    r = run(["--help"], tmp_path, bad)
    assert r.returncode == 0 and b"serve" in r.stdout, r
    ds = tmp_path / "ev.datasource"
    ds.write_text("SCHEMA >\n    `n` Int32 `json:$.n`,\n    `s` String `json:$.s`\n")
    rows = tmp_path / "ev.ndjson"
    rows.write_text('{"n":1,"s":"a"}\n{"n":2,"s":"b"}\n')
    r = run(["check", str(ds), str(rows)], tmp_path, bad)
    assert r.returncode == 0, r
    assert b"2 rows accepted, 0 quarantined" in r.stdout, r
    for cmd in (["serve", "--help"], ["token", "--help"], ["wal", "--help"]):
        r = run(cmd, tmp_path, bad)
        assert r.returncode == 0, (cmd, r)


def test_binary_does_not_link_chdb():
    readelf = shutil.which("readelf")
    if not readelf:
        pytest.skip("readelf not installed")
    dyn = subprocess.run([readelf, "-d", SLUICE], capture_output=True, check=True).stdout.decode()
    assert "libchdb" not in "".join(l for l in dyn.splitlines() if "(NEEDED)" in l), dyn
    assert "deps/chdb/lib" in dyn, dyn  # the default place stays in RUNPATH


def test_explicit_library_path_serves(make_server):
    lib = os.path.realpath(os.path.join(REPO, "deps", "chdb", "lib", "libchdb.so"))
    if not os.path.exists(lib):
        pytest.skip("chDB not installed (make deps)")
    s = make_server(env={"SLUICE_CHDB_LIB": lib})
    s.req("GET", "/v0/ready", token=None).expect(200)
    r = s.req("GET", "/v0/sql", params={"q": "SELECT 40 + 2 AS x FORMAT CSV"}).expect(200)
    assert r.body.strip() == b"42", r
