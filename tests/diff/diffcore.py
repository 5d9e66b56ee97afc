"""The comparison engine of the differential test: runs `sluice check` on a schema and its rows,
asks ClickHouse (chDB) what its own JSONEachRow parser does with each line, and lists every
difference with the column type, the JSON value and both results.

ClickHouse's verdict for a line is the one it gives when that line alone is inserted with
`INSERT ... FORMAT JSONEachRow`. For speed, lines that are valid JSON are first inserted in one
batch (each tagged with its line number, errors skipped); every line the batch rejected, every
line that is not valid JSON and every line where the batch disagrees with sluice is then
inserted alone, and that single-line result is the one compared.
"""
import calendar
import datetime
import json
import os
import re
import subprocess
import zoneinfo
from fractions import Fraction

import pytest

REF_SETTINGS = ("date_time_input_format='best_effort', input_format_skip_unknown_fields=1")
# LowCardinality around numbers, dates and addresses, and FixedString(N > 256), are refused at
# CREATE TABLE unless these are set.
CREATE_SETTINGS = ("allow_suspicious_low_cardinality_types", "allow_suspicious_fixed_string_types")


class Diff:
    def __init__(self, kind, line, column, ctype, value, clickhouse, sluice):
        self.kind, self.line, self.column, self.ctype = kind, line, column, ctype
        self.value, self.clickhouse, self.sluice = value, clickhouse, sluice

    def __str__(self):
        return ("[%s] line %d column %s %s\n    JSON value: %s\n    ClickHouse: %s\n    sluice:     %s"
                % (self.kind, self.line, self.column, self.ctype, _short(self.value),
                   _short(self.clickhouse), _short(self.sluice)))


def _short(v, n=300):
    s = v if isinstance(v, str) else repr(v)
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


def first_line(msg):
    msg = msg.strip().split("\n")[0]
    return re.sub(r"\s*\(version [^)]*\)\s*$", "", msg)


# ---------------------------------------------------------------------------------------------
# sluice


def sluice_bin():
    b = os.environ.get("SLUICE_BIN", "build/release/sluice")
    if not os.path.isabs(b):
        b = os.path.join(os.path.dirname(__file__), "..", "..", b)
    return os.path.abspath(b)


class SluiceResult:
    def __init__(self, report, rows_bin, q_bin):
        self.report, self.rows_bin, self.q_bin = report, rows_bin, q_bin
        self.quarantined = set(report.get("quarantined_lines", []))
        self.errors = {}  # line -> [(column, message)]
        for e in report.get("errors", []):
            self.errors.setdefault(e.get("line"), []).append((e.get("column", ""), e.get("message", "")))


def run_sluice(workdir, datasource_text, ndjson_bytes, name="case"):
    ds = os.path.join(workdir, name + ".datasource")
    nd = os.path.join(workdir, name + ".ndjson")
    out = os.path.join(workdir, name + ".rows.bin")
    qout = os.path.join(workdir, name + ".q.bin")
    with open(ds, "w") as f:
        f.write(datasource_text)
    with open(nd, "wb") as f:
        f.write(ndjson_bytes)
    for p in (out, qout):
        if os.path.exists(p):
            os.unlink(p)
    cmd = [sluice_bin(), "check", ds, nd, "--json", "--out", out, "--quarantine-out", qout,
           "--errors", str(10 * ndjson_bytes.count(b"\n") + 1000)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    try:
        report = json.loads(p.stdout)
    except ValueError:
        pytest.fail("`%s` exited %d without a JSON report\nstdout: %s\nstderr: %s"
                    % (" ".join(cmd), p.returncode, _short(p.stdout.decode("utf-8", "replace"), 2000),
                       _short(p.stderr.decode("utf-8", "replace"), 2000)), pytrace=False)
    for key in ("successful_rows", "quarantined_rows", "quarantined_lines", "errors"):
        if key not in report:
            pytest.fail("sluice check --json lacks %r: %s" % (key, _short(p.stdout.decode(), 1000)),
                        pytrace=False)
    rows_bin = open(out, "rb").read() if os.path.exists(out) else b""
    q_bin = open(qout, "rb").read() if os.path.exists(qout) else b""
    return SluiceResult(report, rows_bin, q_bin)


# ---------------------------------------------------------------------------------------------
# ClickHouse reference


def tsv_rows(text, ncols):
    rows = []
    for ln in text.split("\n"):
        if ln == "" and ncols > 0:
            continue
        f = ln.split("\t")
        assert len(f) == ncols, "unexpected TSV row %r" % ln
        rows.append(tuple(f))
    return rows


class Reference:
    """ClickHouse's verdict per line: accepted[line] = tuple of TSV column texts, or
    rejected[line] = ClickHouse's error message."""

    def __init__(self):
        self.accepted, self.rejected = {}, {}


ENUM_RE = re.compile(r"Enum(8|16)\((?:[^()']|'(?:[^'\\]|\\.)*')*\)")


def select_expr(name, ctype, expr=None):
    """How a column is read back for comparison. Enums are read as their numbers: ClickHouse stores
    0 for a missing Enum value even when 0 is no element, and then cannot print the row."""
    expr = expr or "`%s`" % name
    if ctype and "Enum" in ctype:
        return "CAST(%s, '%s')" % (expr, ENUM_RE.sub(lambda m: "Int" + m.group(1), ctype).replace("'", "\\'"))
    return expr


class Oracle:
    """Owns the tables of one case in the chDB session: <t>_ref (columns + __line), <t>_one
    (columns, single-line inserts), <t>_ours (sluice's rows), <t>_q (sluice's quarantine)."""

    def __init__(self, session, table, col_ddls, col_names, col_types=None):
        self.s, self.t = session, table
        self.names = col_names
        types = col_types or [None] * len(col_names)
        self.sel = ", ".join(select_expr(n, t) for n, t in zip(col_names, types))
        self.qsel = ", ".join("`%s`" % n for n in col_names)
        ddl = ", ".join(col_ddls)
        for suffix in ("ref", "one", "ours", "q"):
            self.s.query("DROP TABLE IF EXISTS %s_%s" % (self.t, suffix))
        # Types users may declare when they create the table with these settings.
        for setting in CREATE_SETTINGS:
            self.s.query("SET %s = 1" % setting)
        self.s.query("CREATE TABLE %s_ref (%s, `__line` UInt32) ENGINE = Memory" % (self.t, ddl))
        self.s.query("CREATE TABLE %s_one (%s) ENGINE = Memory" % (self.t, ddl))
        self.s.query("CREATE TABLE %s_ours (%s) ENGINE = Memory" % (self.t, ddl))
        qcols = ", ".join("`%s` Nullable(String)" % n for n in col_names)
        self.s.query("CREATE TABLE %s_q (c__error_column Array(String), c__error Array(String), "
                     "c__import_id Nullable(String), %s, c__raw String, insertion_date DateTime "
                     "DEFAULT now()) ENGINE = Memory" % (self.t, qcols))

    def drop(self):
        for suffix in ("ref", "one", "ours", "q"):
            self.s.query("DROP TABLE IF EXISTS %s_%s" % (self.t, suffix))

    def batch(self, lines, valid):
        """Inserts the valid-JSON lines in one go; returns {line: values} of what it accepted."""
        parts = []
        for i, (text, ok) in enumerate(zip(lines, valid), 1):
            if not ok or not text.startswith("{"):
                continue
            rest = text[1:]
            sep = "" if rest.lstrip().startswith("}") else ","
            parts.append('{"__line":%d%s%s' % (i, sep, rest))
        if parts:
            from chdb import ChdbError

            data = ("\n".join(parts) + "\n").encode()
            try:
                self.s.insert("INSERT INTO %s_ref SETTINGS %s, input_format_allow_errors_num=1000000000, "
                              "input_format_allow_errors_ratio=1" % (self.t, REF_SETTINGS), "JSONEachRow", data)
            except ChdbError:
                # Some errors (e.g. Decimal math overflow) are not skippable: then every line is
                # asked alone.
                self.s.query("TRUNCATE TABLE %s_ref" % self.t)
                return {}
        out = self.s.query("SELECT __line, %s FROM %s_ref ORDER BY __line" % (self.sel, self.t))
        return {int(r[0]): r[1:] for r in tsv_rows(out, len(self.names) + 1)}

    def single(self, text):
        """ClickHouse's verdict on one line alone: (True, values) or (False, message)."""
        from chdb import ChdbError

        self.s.query("TRUNCATE TABLE %s_one" % self.t)
        try:
            self.s.insert("INSERT INTO %s_one SETTINGS %s" % (self.t, REF_SETTINGS), "JSONEachRow",
                          text.encode() + b"\n")
        except ChdbError as e:
            return False, first_line(e.message)
        rows = tsv_rows(self.s.query("SELECT %s FROM %s_one" % (self.sel, self.t)), len(self.names))
        if len(rows) != 1:
            return False, "ClickHouse stored %d rows for one line" % len(rows)
        return True, rows[0]

    def ours(self, rows_bin):
        from chdb import ChdbError

        if rows_bin:
            try:
                self.s.insert("INSERT INTO %s_ours" % self.t, "RowBinaryWithDefaults", rows_bin)
            except ChdbError as e:
                pytest.fail("ClickHouse refused sluice's --out (%d bytes) as RowBinaryWithDefaults: %s"
                            % (len(rows_bin), first_line(e.message)), pytrace=False)
        out = self.s.query("SELECT %s FROM %s_ours SETTINGS max_threads = 1" % (self.sel, self.t))
        return tsv_rows(out, len(self.names))

    def quarantine(self, q_bin):
        cols = "c__error_column, c__error, c__import_id, %s, c__raw" % self.qsel
        if q_bin:
            from chdb import ChdbError

            try:
                self.s.insert("INSERT INTO %s_q (%s)" % (self.t, cols), "RowBinary", q_bin)
            except ChdbError as e:
                pytest.fail("ClickHouse refused sluice's --quarantine-out (%d bytes) as RowBinary: %s"
                            % (len(q_bin), first_line(e.message)), pytrace=False)
        out = self.s.query("SELECT %s FROM %s_q SETTINGS max_threads = 1" % (cols, self.t), "JSONEachRow")
        return [json.loads(ln, strict=False) for ln in out.split("\n") if ln.strip()]


# ---------------------------------------------------------------------------------------------
# Documented differences (docs/conversion.md, "Differences from ClickHouse")
#
# Each is recognised by the column type and the shape of the JSON value, never by sluice's own
# verdict alone: the value that sluice's message names is located in the cell (by the text
# sluice quotes) and classified independently here. Reasons marked "must" are where ClickHouse
# would corrupt or invent data, so SPEC §5 requires sluice to quarantine: a row that sluice
# accepts with such a value is a `spec` difference. The others are where sluice is merely
# stricter (loose JSON, best_effort spellings outside sluice's date-time subset).

R_MISSING = "missing or null value for a column that is not Nullable and has no DEFAULT"
R_INT_RANGE = "integer out of the column's range (ClickHouse wraps it)"
R_NULL_NESTED = "null inside an Array/Tuple/Map element of a non-Nullable type (ClickHouse stores the default)"
R_EMPTY_NUMBER = "\"\" into an integer or Decimal (ClickHouse stores 0)"
R_FLOAT_INF = "number overflowing the float type (ClickHouse stores inf)"
R_TUPLE_MISSING = "named Tuple object missing an element that is not Nullable/Array/Map (ClickHouse stores the default)"
R_DECIMAL_TEXT = "quoted Decimal with more than one '.' (ClickHouse reads \"1.2.3\" as 1.23)"
R_TUPLE_EMPTY = "[] into a one-element unnamed Tuple (ClickHouse stores the element's default)"
R_BOOL_DATE = "true/false into Date or Date32 (ClickHouse stores day 1/0)"
R_DATE_RANGE = "date or date-time outside its type's range (ClickHouse clamps it or stores past the documented range)"
R_IMPOSSIBLE = "impossible date or time field (ClickHouse rolls it over)"
R_BEST_EFFORT = "date-time spelling outside sluice's best_effort subset"
R_LOOSE_JSON = "loose JSON syntax that ClickHouse accepts: %s"
R_COMPACT = "object/array read into a String is stored compact (SPEC §5)"
R_NULL_DEFAULT = "null in a Nullable column with a DEFAULT takes the DEFAULT (SPEC §5)"

MUST = {R_MISSING, R_INT_RANGE, R_DECIMAL_TEXT, R_TUPLE_EMPTY, R_NULL_NESTED, R_EMPTY_NUMBER, R_FLOAT_INF, R_TUPLE_MISSING,
        R_BOOL_DATE, R_DATE_RANGE, R_IMPOSSIBLE}


class CType:
    """A parsed ClickHouse type: kind plus the few parameters the classification needs."""

    def __init__(self, kind, **kw):
        self.kind, self.children, self.names = kind, [], None
        self.bits = self.p = self.s = 0
        self.signed, self.tz = False, None
        self.__dict__.update(kw)

    @property
    def bare(self):
        """The type without Nullable/LowCardinality wrappers."""
        t = self
        while t.kind in ("Nullable", "LowCardinality"):
            t = t.children[0]
        return t

    @property
    def nullable(self):
        t = self
        while t.kind == "LowCardinality":
            t = t.children[0]
        return t.kind == "Nullable"

    @property
    def absent_ok(self):
        """A named-tuple element that may be missing: Nullable gives NULL, Array/Map empty."""
        return self.nullable or self.bare.kind in ("Array", "Map")


TYPE_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|('(?:[^'\\]|\\.)*')|(-?\d+)|(.))")


def parse_ctype(text):
    toks = [m for m in TYPE_TOKEN.finditer(text) if m.group(0).strip()]
    pos = [0]

    def peek(k=0):
        j = pos[0] + k
        return toks[j] if j < len(toks) else None

    def take():
        pos[0] += 1
        return toks[pos[0] - 1]

    def args_raw():  # balanced skip of "( ... )", returning the top-level argument token lists
        out, cur, depth = [], [], 0
        take()  # (
        while True:
            t = take()
            g = t.group(0).strip()
            if g == "(":
                depth += 1
            elif g == ")":
                if depth == 0:
                    out.append(cur)
                    return out
                depth -= 1
            elif g == "," and depth == 0:
                out.append(cur)
                cur = []
                continue
            cur.append(t)

    def one():
        name = take().group(1)
        has_args = peek() is not None and peek().group(0).strip() == "("
        if name in ("Nullable", "LowCardinality", "Array"):
            take()
            c = one()
            take()
            return CType(name, children=[c])
        if name == "Map":
            take()
            k = one()
            take()
            v = one()
            take()
            return CType("Map", children=[k, v])
        if name == "Tuple":
            take()
            kids, names = [], []
            while True:
                if peek(1) is not None and peek(1).group(1):  # "name Type"
                    names.append(take().group(1))
                kids.append(one())
                if take().group(0).strip() == ")":
                    break
            return CType("Tuple", children=kids, names=names or None)
        args = [" ".join(x.group(0).strip() for x in a) for a in args_raw()] if has_args else []
        m = re.match(r"^(U?)Int(\d+)$", name)
        if m:
            return CType("Int", bits=int(m.group(2)), signed=not m.group(1))
        if name in ("Float32", "Float64"):
            return CType("Float", bits=int(name[5:]))
        if name.startswith("Decimal"):
            if name == "Decimal":
                return CType("Decimal", p=int(args[0]), s=int(args[1]))
            return CType("Decimal", p={"32": 9, "64": 18, "128": 38, "256": 76}[name[7:]], s=int(args[0]))
        if name == "DateTime":
            return CType("DateTime", tz=args[0].strip("'") if args else None)
        if name == "DateTime64":
            return CType("DateTime64", p=int(args[0]) if args else 3,
                         tz=args[1].strip("'") if len(args) > 1 else None)
        if name == "FixedString":
            return CType("FixedString", n=int(args[0]))
        if name.startswith("Enum"):
            return CType("Enum")
        return CType(name)

    return one()


class JNode:
    """A JSON value with its exact text: kind (obj, arr, str, num, true, false, null), raw text,
    items (obj: [(key, key_raw, node)], arr: [node]) and value (str: decoded text)."""

    def __init__(self, kind, raw, items=None, value=None):
        self.kind, self.raw, self.items, self.value = kind, raw, items, value


JSON_WS = " \t\n\r"
NUM_RE = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
STR_RE = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')


def parse_json_raw(text):
    """Strict JSON with raw texts kept; ValueError if `text` is not one JSON value."""

    def ws(i):
        while i < len(text) and text[i] in JSON_WS:
            i += 1
        return i

    def val(i):
        i = ws(i)
        if i >= len(text):
            raise ValueError("end of text")
        c = text[i]
        if c == "{":
            items, j = [], ws(i + 1)
            if j < len(text) and text[j] == "}":
                return JNode("obj", text[i:j + 1], items), j + 1
            while True:
                j = ws(j)
                m = STR_RE.match(text, j)
                if not m:
                    raise ValueError("key expected at %d" % j)
                j = ws(m.end())
                if j >= len(text) or text[j] != ":":
                    raise ValueError("':' expected at %d" % j)
                node, j = val(j + 1)
                items.append((json.loads(m.group(0)), m.group(0), node))
                j = ws(j)
                if j < len(text) and text[j] == ",":
                    j += 1
                    continue
                if j < len(text) and text[j] == "}":
                    return JNode("obj", text[i:j + 1], items), j + 1
                raise ValueError("',' or '}' expected at %d" % j)
        if c == "[":
            items, j = [], ws(i + 1)
            if j < len(text) and text[j] == "]":
                return JNode("arr", text[i:j + 1], items), j + 1
            while True:
                node, j = val(j)
                items.append(node)
                j = ws(j)
                if j < len(text) and text[j] == ",":
                    j += 1
                    continue
                if j < len(text) and text[j] == "]":
                    return JNode("arr", text[i:j + 1], items), j + 1
                raise ValueError("',' or ']' expected at %d" % j)
        if c == '"':
            m = STR_RE.match(text, i)
            if not m:
                raise ValueError("bad string at %d" % i)
            return JNode("str", m.group(0), value=json.loads(m.group(0))), m.end()
        for word in ("true", "false", "null"):
            if text.startswith(word, i):
                return JNode(word, word), i + len(word)
        m = NUM_RE.match(text, i)
        if not m:
            raise ValueError("value expected at %d" % i)
        return JNode("num", m.group(0)), m.end()

    node, end = val(0)
    if ws(end) != len(text):
        raise ValueError("text after the value")
    return node


def describe(node):
    """The value as sluice's messages quote it (sl_types.c describe()): the JSON text (a string
    without escapes decoded), control bytes as spaces, cut to 37 bytes + "..." past 40 bytes."""
    quote = node.kind == "str"
    body = (node.raw[1:-1] if quote else node.raw).encode("utf-8", "surrogatepass")
    cut = len(body) > 40
    if cut:
        take = 37
        while take > 0 and (body[take] & 0xC0) == 0x80:
            take -= 1
        body = body[:take]
    body = bytes(b if b >= 0x20 else 0x20 for b in body)
    s = body.decode("utf-8", "replace")
    return ('"' if quote else "") + s + ("..." if cut else ('"' if quote else ""))


def walk(t, node, nested=False):
    """Every (type, node, nested) pair a conversion visits, parents first; map keys as strings
    of the key type."""
    yield t, node, nested
    if node.kind == "null":
        return
    b = t.bare
    if b.kind == "Array" and node.kind == "arr":
        for e in node.items:
            yield from walk(b.children[0], e, True)
    elif b.kind == "Map" and node.kind == "obj":
        for _, kraw, v in node.items:
            yield from walk(b.children[0], JNode("str", kraw, value=json.loads(kraw)), True)
            yield from walk(b.children[1], v, True)
    elif b.kind == "Tuple" and node.kind == "arr" and len(node.items) == len(b.children):
        for ct, e in zip(b.children, node.items):
            yield from walk(ct, e, True)
    elif b.kind == "Tuple" and b.names and node.kind == "obj":
        keys = [k for k, _, _ in node.items]
        if len(set(keys)) != len(keys):
            return  # duplicate keys: both refuse the value
        for name, ct in zip(b.names, b.children):
            for k, _, v in node.items:
                if k == name:
                    yield from walk(ct, v, True)


INT_TEXT = re.compile(r"^[+-]?\d+$")
FLOAT_TEXT = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
FLOAT_INF = {32: Fraction(2**128 - 2**103), 64: Fraction(2**1024 - 2**970)}  # rounds to inf at/past
DATE_TEXT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$|^(\d{4})(\d{2})(\d{2})$")
DT_TEXT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d*))?)?)?"
                     r"(?: ?(Z|[+-]\d{2}(?::?\d{2})?))?$")
EPOCH_TEXT = re.compile(r"^(\d{9,10})(?:\.(\d+))?$")
DT14_TEXT = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$")
EPOCH_DAY = datetime.date(1970, 1, 1).toordinal()
DATE_RANGE = {"Date": (0, 65535), "Date32": (datetime.date(1900, 1, 1).toordinal() - EPOCH_DAY,
                                              datetime.date(2299, 12, 31).toordinal() - EPOCH_DAY)}
DT64_LOCAL_RANGE = (datetime.datetime(1900, 1, 1), datetime.datetime(2300, 1, 1))
UTC = datetime.timezone.utc


def _days_in_month(y, m):
    return calendar.monthrange(y, m)[1] if 1 <= m <= 12 else 0


def _zone(name):
    return UTC if name in (None, "", "UTC") else zoneinfo.ZoneInfo(name)


def _datetime_text(s, allow_fraction_epoch):
    """sluice's date-time grammar (sl_datetime.h): None if the text is outside it, else
    ("impossible", None) or ("local", naive datetime, offset seconds or None) or ("utc", seconds)."""
    m = DT_TEXT.match(s)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        hh, mi, ss = (int(m.group(k) or 0) for k in (4, 5, 6))
        off = m.group(8)
        osec = None
        if off:
            if off == "Z":
                osec = 0
            else:
                digits = off[1:].replace(":", "")
                oh, om = int(digits[:2]), int(digits[2:] or 0)
                if oh > 14 or om > 59 or (oh == 14 and om):
                    return ("impossible",)
                osec = (oh * 3600 + om * 60) * (-1 if off[0] == "-" else 1)
        if not (1 <= mo <= 12 and 1 <= d <= _days_in_month(y, mo) and hh <= 23 and mi <= 59 and ss <= 59):
            return ("impossible",)
        return ("local", datetime.datetime(y, mo, d, hh, mi, ss), osec)
    m = EPOCH_TEXT.match(s)
    if m and (allow_fraction_epoch or not m.group(2)):
        return ("utc", int(m.group(1)))
    m = DT14_TEXT.match(s) or (re.match(r"^(\d{4})(\d{2})(\d{2})$", s))
    if m:
        f = [int(x) for x in m.groups()] + [0, 0, 0]
        y, mo, d, hh, mi, ss = f[:6]
        if not (1 <= mo <= 12 and 1 <= d <= _days_in_month(y, mo) and hh <= 23 and mi <= 59 and ss <= 59):
            return ("impossible",)
        return ("local", datetime.datetime(y, mo, d, hh, mi, ss), None)
    return None


def _utc_seconds(local, osec, zone):
    if osec is None:
        osec = int(local.replace(tzinfo=zone).utcoffset().total_seconds())
    return int((local - datetime.datetime(1970, 1, 1)).total_seconds()) - osec


def _local_of(utc_seconds, zone):
    when = datetime.datetime(1970, 1, 1, tzinfo=UTC) + datetime.timedelta(seconds=utc_seconds)
    off = when.astimezone(zone).utcoffset() if zone is not UTC else datetime.timedelta(0)
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=utc_seconds) + off


def leaf_reason(t, node, nested):
    """Why sluice may refuse this one value (not its elements) where ClickHouse accepts it, or
    None. The conversion rules of docs/conversion.md, restated independently of sluice."""
    if node.kind == "null":
        return R_NULL_NESTED if nested and not t.nullable else None
    b = t.bare
    k = b.kind
    if k == "Tuple" and not b.names and len(b.children) == 1 and node.kind == "arr" and not node.items:
        return R_TUPLE_EMPTY
    text = node.value if node.kind == "str" else node.raw if node.kind == "num" else None
    if k == "Int" and text is not None:
        if node.kind == "str" and text == "":
            return R_EMPTY_NUMBER
        if INT_TEXT.match(text):
            v = int(text)
            lo, hi = (-(1 << (b.bits - 1)), (1 << (b.bits - 1)) - 1) if b.signed else (0, (1 << b.bits) - 1)
            return R_INT_RANGE if not lo <= v <= hi else None
        return None
    if k == "Decimal" and node.kind == "str":
        if text in ("", "."):
            return R_EMPTY_NUMBER
        if re.fullmatch(r"[+-]?\d*\.\d*\.[\d.]*", text):
            return R_DECIMAL_TEXT
        return None
    if k == "Float" and text is not None and FLOAT_TEXT.match(text.lstrip("+") if node.kind == "str" else text):
        mant, _, exp = text.lower().lstrip("+-").partition("e")
        if exp and abs(int(exp)) > 100000:
            return R_FLOAT_INF if int(exp) > 0 and mant.strip("0.") else None
        return R_FLOAT_INF if abs(Fraction(text.lower().lstrip("+"))) >= FLOAT_INF[b.bits] else None
    if k in ("Date", "Date32"):
        if node.kind in ("true", "false"):
            return R_BOOL_DATE
        lo, hi = DATE_RANGE[k]
        if node.kind == "num" and INT_TEXT.match(text):
            return R_DATE_RANGE if not lo <= int(text) <= hi else None
        if node.kind == "str":
            m = DATE_TEXT.match(text)
            if not m:
                return R_BEST_EFFORT
            y, mo, d = (int(x) for x in (m.group(1, 2, 3) if m.group(1) else m.group(4, 5, 6)))
            if not (1 <= mo <= 12 and 1 <= d <= _days_in_month(y, mo)):
                return R_IMPOSSIBLE
            days = datetime.date(y, mo, d).toordinal() - EPOCH_DAY
            return R_DATE_RANGE if not lo <= days <= hi else None
        return None
    if k in ("DateTime", "DateTime64"):
        zone = _zone(b.tz)
        if node.kind == "num":
            if not INT_TEXT.match(text):
                return None
            if k == "DateTime":
                return R_DATE_RANGE if not 0 <= int(text) <= 2**32 - 1 else None
            ticks = int(text)
            if not -2**63 <= ticks < 2**63:
                return None
            local = _local_of(ticks // 10**b.p, zone)
            return R_DATE_RANGE if not DT64_LOCAL_RANGE[0] <= local < DT64_LOCAL_RANGE[1] else None
        if node.kind != "str":
            return None
        parsed = _datetime_text(text, k == "DateTime64")
        if parsed is None:
            return R_BEST_EFFORT
        if parsed[0] == "impossible":
            return R_IMPOSSIBLE
        utc = parsed[1] if parsed[0] == "utc" else _utc_seconds(parsed[1], parsed[2], zone)
        if k == "DateTime":
            return R_DATE_RANGE if not 0 <= utc <= 2**32 - 1 else None
        if b.p == 9 and not -9223372037 < utc < 9223372036:
            return None  # past Int64 nanoseconds: ClickHouse refuses it too
        local = _local_of(utc, zone)
        return R_DATE_RANGE if not DT64_LOCAL_RANGE[0] <= local < DT64_LOCAL_RANGE[1] else None
    return None


def missing_tuple_elements(t, node):
    """Names of elements a named-tuple object lacks that may not be absent."""
    b = t.bare
    if b.kind != "Tuple" or not b.names or node.kind != "obj":
        return []
    keys = {k for k, _, _ in node.items}
    return [n for n, ct in zip(b.names, b.children) if n not in keys and not ct.absent_ok]


def must_reject(t, node):
    """The first reason SPEC §5 gives for quarantining this top-level value, or None."""
    for ct, n, nested in walk(t, node):
        r = leaf_reason(ct, n, nested)
        if r in MUST:
            return r
        if missing_tuple_elements(ct, n):
            return R_TUPLE_MISSING
    return None


MSG_RE = re.compile(r"^column '[^']*' \(.*?\) at '[^']*': (.*)$", re.S)
MISSING_ELEM_RE = re.compile(r"^the object has no element '([^']*)' of ")


def reason_for_message(t, node, msg):
    """The documented reason for sluice's message about this cell, if the value it names is one
    that the rules above say sluice may refuse."""
    m = MSG_RE.match(msg)
    if not m:
        return None
    rest = m.group(1)
    me = MISSING_ELEM_RE.match(rest)
    for ct, n, nested in walk(t, node):
        if me:
            if me.group(1) in missing_tuple_elements(ct, n):
                return R_TUPLE_MISSING
            continue
        d = describe(n)
        if rest.startswith(d + " is not a valid ") or rest.startswith(d + " is outside "):
            r = leaf_reason(ct, n, nested)
            if r:
                return r
    return None


LOOSE_NUM = re.compile(r"-?[0-9]*\.?[0-9]*(?:[eE][+-]?[0-9]+)?")
ROW_MSG_RE = re.compile(r"^invalid JSON at byte (\d+):")


def loose_json_tokens(text):
    """The tokens of `text` that strict JSON refuses but ClickHouse's JSON reader takes, in
    order: (first byte, last byte, what). Numbers with leading zeros, "1." and ".5"; invalid
    escapes, raw control characters and lone surrogate escapes in strings."""
    out, i, n = [], 0, len(text)
    b = lambda k: len(text[:k].encode("utf-8", "surrogatepass"))  # noqa: E731
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                if text[j] == "\\":
                    e = text[j + 1:j + 2]
                    if e == "u" and re.match(r"[0-9a-fA-F]{4}", text[j + 2:j + 6]):
                        u = int(text[j + 2:j + 6], 16)
                        lo = re.match(r"\\u([dD][c-fC-F][0-9a-fA-F]{2})", text[j + 6:j + 12])
                        if 0xD800 <= u <= 0xDBFF and not lo:
                            out.append((b(j), b(j + 12), "lone surrogate escape"))
                        elif 0xDC00 <= u <= 0xDFFF:
                            out.append((b(j), b(j + 6), "lone surrogate escape"))
                        j += 12 if 0xD800 <= u <= 0xDBFF and lo else 6
                        continue
                    if e not in '"\\/bfnrt':
                        out.append((b(j), b(j + 2), "invalid escape"))
                    j += 2
                    continue
                if ord(text[j]) < 0x20:
                    out.append((b(j), b(j + 1), "raw control character in a string"))
                j += 1
            i = j + 1
            continue
        if c in "-0123456789.":
            m = LOOSE_NUM.match(text, i)
            tok = m.group(0) or c
            if not NUM_RE.fullmatch(tok):
                digits = tok.lstrip("-")
                what = ("number starting with '.'" if digits.startswith(".") else
                        "number with leading zeros" if re.match(r"0\d", digits) else
                        "number ending with '.'" if re.search(r"\.(?:[eE]|$)", digits) else None)
                if what:
                    out.append((b(i), b(i + len(tok)), what))
            i += len(tok)
            continue
        i += 1
    return out


def loose_json_reason(text, msg):
    """The documented reason for a row sluice refused as invalid JSON, if the byte it names is
    inside a token that only loose JSON allows."""
    m = ROW_MSG_RE.match(msg)
    if not m:
        return None
    at = int(m.group(1))
    for lo, hi, what in loose_json_tokens(text):
        if lo <= at <= hi:
            return R_LOOSE_JSON % what
        if lo > at:
            break
    return None


def compact_json(raw):
    """JSON text without the whitespace between tokens (what sluice stores in a String)."""
    out, i, n = [], 0, len(raw)
    while i < n:
        c = raw[i]
        if c == '"':
            m = STR_RE.match(raw, i)
            j = m.end() if m else n
            out.append(raw[i:j])
            i = j
            continue
        if c not in JSON_WS:
            out.append(c)
        i += 1
    return "".join(out)


def compact_strings(t, node):
    """(text, changed): `node`'s text with every object/array that lands in a String made
    compact; `changed` only when such a value had whitespace to drop."""
    if node.kind == "null":
        return node.raw, False
    b = t.bare
    if b.kind == "String" and node.kind in ("obj", "arr"):
        new = compact_json(node.raw)
        return new, new != node.raw
    if b.kind == "Array" and node.kind == "arr":
        kids = [compact_strings(b.children[0], e) for e in node.items]
    elif b.kind == "Tuple" and node.kind == "arr" and len(node.items) == len(b.children):
        kids = [compact_strings(ct, e) for ct, e in zip(b.children, node.items)]
    elif b.kind == "Map" and node.kind == "obj":
        kids = [compact_strings(b.children[1], v) for _, _, v in node.items]
        if not any(ch for _, ch in kids):
            return node.raw, False
        return "{" + ",".join("%s:%s" % (kr, k[0]) for (_, kr, _), k in zip(node.items, kids)) + "}", True
    elif b.kind == "Tuple" and b.names and node.kind == "obj":
        types = dict(zip(b.names, b.children))
        kids = [compact_strings(types[k], v) if k in types else (v.raw, False) for k, _, v in node.items]
        if not any(ch for _, ch in kids):
            return node.raw, False
        return "{" + ",".join("%s:%s" % (kr, k[0]) for (_, kr, _), k in zip(node.items, kids)) + "}", True
    else:
        return node.raw, False
    if not any(ch for _, ch in kids):
        return node.raw, False
    return "[" + ",".join(k[0] for k in kids) + "]", True


def equivalent_line(case, i):
    """The line rewritten so that ClickHouse should store exactly what sluice does, if the
    documented value differences apply to it: (text, [reasons]) or None."""
    try:
        row = parse_json_raw(case.lines[i - 1])
    except ValueError:
        return None
    if row.kind != "obj":
        return None
    types = case.ctypes()
    parts, reasons = [], []
    for k, kr, v in row.items:
        t = types.get(k)
        if t is None:
            parts.append("%s:%s" % (kr, v.raw))
            continue
        if v.kind == "null" and t.nullable and case.defaults.get(k):
            reasons.append(R_NULL_DEFAULT)
            continue
        new, changed = compact_strings(t, v)
        if changed:
            reasons.append(R_COMPACT)
        parts.append("%s:%s" % (kr, new))
    if not reasons:
        return None
    return "{" + ",".join(parts) + "}", reasons


# ---------------------------------------------------------------------------------------------
# The comparison


class Case:
    """What the comparison needs to know about a case: the columns (name, type text, and whether
    absence quarantines in sluice), the lines, and per line the JSON text given for each column
    (None if absent; unknown for nested paths) and notes from the generator."""

    def __init__(self, columns, lines, valid, cells=None, notes=None, defaults=None):
        self.columns = columns  # [(name, sql type, needs_value)]
        self.lines, self.valid = lines, valid
        self.cells = cells or [None] * len(lines)  # per line: {column: json text or None}
        self.notes = notes or [None] * len(lines)  # per line: {column: note}
        self.defaults = defaults or {}  # {column: True when it has a DEFAULT}
        self._ctypes = None

    def ctypes(self):
        """{column: CType}, parsed once."""
        if self._ctypes is None:
            self._ctypes = {name: parse_ctype(sql) for name, sql, _ in self.columns}
        return self._ctypes


KEY_RE = re.compile(r"while reading the value of key ([^\s):]+)")


class Outcome:
    def __init__(self):
        self.diffs = []
        self.documented = {}  # reason -> count
        self.lines = self.both_accept = self.both_reject = 0


def compare(session, table, col_ddls, case, sluice, check_quarantine_cells=True):
    names = [c[0] for c in case.columns]
    types = {c[0]: c[1] for c in case.columns}
    needs = {c[0]: c[2] for c in case.columns}
    n = len(case.lines)
    res = Outcome()
    res.lines = n
    rep = sluice.report

    def cell(i, col):
        cells = case.cells[i - 1]
        if cells is None:
            return "(see line)"
        v = cells.get(col)
        return "(absent)" if v is None else v

    def add(kind, i, col, ch, sl):
        res.diffs.append(Diff(kind, i, col, types.get(col, "?"), cell(i, col) if col in types
                              else case.lines[i - 1], ch, sl))

    # Counts and line numbers of the report itself.
    if rep["successful_rows"] + rep["quarantined_rows"] != n:
        add("report", 0, "-", "%d lines" % n, "successful_rows %d + quarantined_rows %d"
            % (rep["successful_rows"], rep["quarantined_rows"]))
    if len(sluice.quarantined) != rep["quarantined_rows"]:
        add("report", 0, "-", "quarantined_rows %d" % rep["quarantined_rows"],
            "%d quarantined_lines" % len(sluice.quarantined))

    o = Oracle(session, table, col_ddls, names, [c[1] for c in case.columns])
    try:
        ours_rows = o.ours(sluice.rows_bin)
        accepted_lines = [i for i in range(1, n + 1) if i not in sluice.quarantined]
        if len(ours_rows) != len(accepted_lines):
            add("report", 0, "-", "%d accepted lines" % len(accepted_lines),
                "%d rows in --out" % len(ours_rows))
        ours = dict(zip(accepted_lines, ours_rows))

        batch = o.batch(case.lines, case.valid)
        for i in range(1, n + 1):
            s_acc = i not in sluice.quarantined
            b = batch.get(i)
            if b is not None and s_acc and ours.get(i) == b:
                res.both_accept += 1
                continue
            ok, val = o.single(case.lines[i - 1])
            if not ok and not s_acc:
                res.both_reject += 1
            elif ok and s_acc:
                mine = ours.get(i)
                if mine is None:
                    continue  # already reported as a row count mismatch
                if tuple(val) != tuple(mine):
                    # A documented value difference holds when ClickHouse, given the line as
                    # sluice reads it (compact String JSON, DEFAULT for null), stores the same.
                    eq = equivalent_line(case, i)
                    if eq:
                        ok2, val2 = o.single(eq[0])
                        if ok2 and tuple(val2) == tuple(mine):
                            for reason in set(eq[1]):
                                res.documented[reason] = res.documented.get(reason, 0) + 1
                            res.both_accept += 1
                            continue
                same = True
                for col, a, b2 in zip(names, val, mine):
                    if a != b2:
                        same = False
                        add("value", i, col, a, b2)
                if same:
                    res.both_accept += 1
            elif ok and not s_acc:
                errs = sluice.errors.get(i) or [("", "(no error reported)")]
                undocumented = []
                for col, msg in errs:
                    if col == "":
                        reason = loose_json_reason(case.lines[i - 1], msg)
                    else:
                        reason = documented_reason(case, i, col, needs, msg)
                    if reason:
                        res.documented[reason] = res.documented.get(reason, 0) + 1
                    else:
                        undocumented.append((col, msg))
                for col, msg in undocumented:
                    chv = val[names.index(col)] if col in names else "accepted: " + "\t".join(val)
                    add("sluice-rejects", i, col or "(row)", "stored " + chv, "quarantined: " + msg)
            else:  # ClickHouse rejects, sluice accepts
                m = KEY_RE.search(val)
                col = m.group(1).strip("`'\"") if m else None
                mine = ours.get(i)
                if col in names and mine is not None:
                    add("ch-rejects", i, col, "rejected: " + val, "stored " + mine[names.index(col)])
                else:
                    add("ch-rejects", i, col or "(row)", "rejected: " + val,
                        "stored " + ("\t".join(mine) if mine else "?"))
            # Where the oracle would corrupt data, sluice must be stricter (SPEC §5).
            if s_acc:
                for col in names:
                    reason = documented_reason(case, i, col, needs)
                    if reason:
                        add("spec", i, col, "(documented difference: %s)" % reason,
                            "accepted; SPEC §5 says quarantine")

        check_quarantine(o, case, sluice, res, add, check_quarantine_cells)
    finally:
        o.drop()
    return res


def documented_reason(case, i, col, needs, msg=None):
    """Why sluice may quarantine what ClickHouse accepts, for column `col` of line i, or None.
    With `msg` (sluice's message for that column): any documented reason that fits the value the
    message names. Without: only the reasons SPEC §5 makes mandatory (used to check that sluice
    did quarantine)."""
    cells = case.cells[i - 1]
    if cells is None or col not in needs:
        return None
    v = cells.get(col)
    if needs[col] and (v is None or v.strip() == "null"):
        return R_MISSING
    if v is None:
        return None
    try:
        node = parse_json_raw(v)
    except ValueError:
        return None
    t = case.ctypes()[col]
    return must_reject(t, node) if msg is None else reason_for_message(t, node, msg)


def check_quarantine(o, case, sluice, res, add, check_cells):
    qrows = o.quarantine(sluice.q_bin)
    qlines = sorted(sluice.quarantined)
    if len(qrows) != len(qlines):
        add("quarantine", 0, "-", "%d quarantined lines" % len(qlines), "%d rows in --quarantine-out" % len(qrows))
        return
    names = [c[0] for c in case.columns]
    for i, row in zip(qlines, qrows):
        raw, want = row["c__raw"], case.lines[i - 1]
        if want.endswith("\r"):
            want = want[:-1]  # the CR of a CRLF line end is not part of the row
        if raw != want:
            k = next((j for j in range(min(len(raw), len(want))) if raw[j] != want[j]), min(len(raw), len(want)))
            add("quarantine", i, "c__raw", "line (%d chars) from char %d: %r" % (len(want), k, want[max(0, k - 20):k + 40]),
                "c__raw (%d chars) from char %d: %r" % (len(raw), k, raw[max(0, k - 20):k + 40]))
        if not row["c__error"] or len(row["c__error"]) != len(row["c__error_column"]):
            add("quarantine", i, "c__error", "one message per failing column",
                "c__error_column=%r c__error=%r" % (row["c__error_column"], row["c__error"]))
        cells = case.cells[i - 1]
        if not check_cells or cells is None or not case.valid[i - 1]:
            continue
        for col in names:
            given, got = cells.get(col), row.get(col)
            if not quarantine_cell_ok(given, got):
                add("quarantine", i, col, "expected %s" % ("NULL" if given is None else given),
                    "quarantine cell %r" % (got,))


def quarantine_cell_ok(given, got):
    """SPEC §6: JSON strings decoded, other values as JSON text, NULL if absent."""
    if given is None:
        return got is None
    if given.strip() == "null":
        return got is None or got == "null"
    if got is None:
        return False
    try:
        v = json.loads(given)
    except ValueError:
        return True  # not comparable (invalid value inside a valid line cannot happen)
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            return True  # a lone surrogate escape: no single right answer to check against
        return got == v
    try:
        return json.loads(got) == v
    except ValueError:
        return False


def summary(res, limit=25):
    """The failure message: counts, then the first differences in full."""
    kinds = {}
    for d in res.diffs:
        kinds[d.kind] = kinds.get(d.kind, 0) + 1
    head = "%d lines: %d accepted by both, %d rejected by both; documented differences: %s; " \
           "UNDOCUMENTED differences: %s" % (res.lines, res.both_accept, res.both_reject,
                                             res.documented or "none", kinds or "none")
    body = "\n".join(str(d) for d in res.diffs[:limit])
    more = "\n... and %d more" % (len(res.diffs) - limit) if len(res.diffs) > limit else ""
    return head + ("\n" + body + more if body else "")
