"""Minimal ctypes wrapper around chDB's C API (libchdb.so), for tests.

One Session owns one chDB data directory for the life of the process (chDB allows one path per
process). Queries return text; binary row blocks go through the stream-insert API, never inline
in SQL text. Close the session before the process exits: an open connection crashed at exit.
"""
import ctypes
import os

DEFAULT_LIB = os.path.join(os.path.dirname(__file__), "..", "..", "deps", "chdb", "lib", "libchdb.so")


class ChdbError(Exception):
    """A query or insert that ClickHouse refused; .message holds ClickHouse's text."""

    def __init__(self, what, message):
        super().__init__("%s: %s" % (what, message))
        self.message = message


_lib = None


def _load(path):
    global _lib
    if _lib is not None:
        return _lib
    if not os.path.exists(path):
        raise RuntimeError("libchdb.so not found at %s; run `make deps`" % path)
    lib = ctypes.CDLL(path)
    vp, cp, sz = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t
    sig = {
        "chdb_set_signal_handlers_enabled": (None, [ctypes.c_int]),
        # chdb_connect returns a pointer to the connection handle (chdb_connection *).
        "chdb_connect": (vp, [ctypes.c_int, ctypes.POINTER(cp)]),
        "chdb_close_conn": (None, [vp]),
        "chdb_shutdown": (ctypes.c_int, []),
        "chdb_query_n": (vp, [vp, cp, sz, cp, sz]),
        "chdb_result_buffer": (vp, [vp]),
        "chdb_result_length": (sz, [vp]),
        "chdb_result_error": (cp, [vp]),
        "chdb_result_rows_written": (ctypes.c_uint64, [vp]),
        "chdb_destroy_query_result": (None, [vp]),
        "chdb_stream_insert": (vp, [vp, cp, cp]),
        "chdb_stream_append": (ctypes.c_int, [vp, cp, sz]),
        "chdb_stream_done": (vp, [vp]),
        "chdb_stream_insert_error": (cp, [vp]),
        "chdb_destroy_insert_stream": (None, [vp]),
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    lib.chdb_set_signal_handlers_enabled(0)
    _lib = lib
    return lib


class Session:
    """A chDB connection on `path` (created if missing)."""

    def __init__(self, path, lib_path=None):
        self.lib = _load(lib_path or os.environ.get("SLUICE_CHDB_LIB", DEFAULT_LIB))
        os.makedirs(path, exist_ok=True)
        args = [b"clickhouse", ("--path=%s" % path).encode()]
        argv = (ctypes.c_char_p * len(args))(*args)
        self.handle_ptr = self.lib.chdb_connect(len(args), argv)
        if not self.handle_ptr:
            raise ChdbError("connect", "chdb_connect(%s) failed" % path)
        # Dereference chdb_connection * → chdb_connection, which the query calls take.
        self.conn = ctypes.c_void_p.from_address(self.handle_ptr).value

    def _take_result(self, res, what):
        if not res:
            raise ChdbError(what, "no result")
        try:
            err = self.lib.chdb_result_error(res)
            if err:
                raise ChdbError(what, err.decode("utf-8", "replace"))
            n = self.lib.chdb_result_length(res)
            buf = self.lib.chdb_result_buffer(res)
            return ctypes.string_at(buf, n) if n and buf else b""
        finally:
            self.lib.chdb_destroy_query_result(res)

    def query_bytes(self, sql, fmt="TabSeparated"):
        """Runs one statement; returns its output bytes or raises ChdbError."""
        q = sql.encode()
        f = fmt.encode()
        res = self.lib.chdb_query_n(self.conn, q, len(q), f, len(f))
        return self._take_result(res, sql[:200])

    def query(self, sql, fmt="TabSeparated"):
        return self.query_bytes(sql, fmt).decode("utf-8", "replace")

    def insert(self, insert_sql, fmt, data, chunk=16 << 20):
        """Streams `data` (bytes in `fmt`) into `insert_sql` ("INSERT INTO t [(cols)] [SETTINGS ...]",
        no FORMAT clause). Returns the rows written; raises ChdbError with ClickHouse's message."""
        st = self.lib.chdb_stream_insert(self.conn, insert_sql.encode(), fmt.encode())
        if not st:
            raise ChdbError(insert_sql, "chdb_stream_insert returned NULL")
        try:
            err = self.lib.chdb_stream_insert_error(st)
            if err:
                raise ChdbError(insert_sql, err.decode("utf-8", "replace"))
            for off in range(0, len(data), chunk):
                part = data[off : off + chunk]
                if self.lib.chdb_stream_append(st, part, len(part)) != 0:
                    err = self.lib.chdb_stream_insert_error(st)
                    raise ChdbError(insert_sql, (err or b"append failed").decode("utf-8", "replace"))
            res = self.lib.chdb_stream_done(st)
            if not res:
                err = self.lib.chdb_stream_insert_error(st)
                raise ChdbError(insert_sql, (err or b"done failed").decode("utf-8", "replace"))
            try:
                err = self.lib.chdb_result_error(res)
                if err:
                    raise ChdbError(insert_sql, err.decode("utf-8", "replace"))
                return self.lib.chdb_result_rows_written(res)
            finally:
                self.lib.chdb_destroy_query_result(res)
        finally:
            self.lib.chdb_destroy_insert_stream(st)

    def close(self):
        if self.handle_ptr:
            self.lib.chdb_close_conn(self.handle_ptr)
            self.handle_ptr = None
            self.conn = None


def shutdown():
    if _lib is not None:
        _lib.chdb_shutdown()
