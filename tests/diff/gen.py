"""Seeded random schemas and NDJSON rows for the differential test against ClickHouse.

Every column is top-level (`$.name`, plus `[:]` per Array level) so that ClickHouse's JSONEachRow,
which maps top-level keys by name, reads the same value that sluice reads through its path.
Values are generated as JSON text (not Python objects) so that quoted numbers, escapes, exponent
forms and other spellings reach both parsers byte for byte. Each generated value carries a note:
"overflow" when it is an integer that does not fit its column (ClickHouse wraps it, sluice
quarantines: a documented difference), else None.
"""
import json
import random

# ---------------------------------------------------------------------------------------------
# JSON text helpers


def jstr(r, s):
    """JSON string literal for `s`, with randomly chosen (but valid) escape spellings."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "/" and r.random() < 0.5:
            out.append("\\/")
        elif ch in "\b\f\n\r\t":
            out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch]
                       if r.random() < 0.7 else "\\u%04x" % o)
        elif o < 0x20:
            out.append("\\u%04x" % o)
        elif o > 0xFFFF and r.random() < 0.4:
            v = o - 0x10000
            out.append("\\u%04x\\u%04X" % (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)))
        elif o > 0x7E and r.random() < 0.3:
            out.append("\\u%04X" % o if o <= 0xFFFF else ch)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def q(s):
    """Plain JSON string literal (no random escapes)."""
    return json.dumps(s, ensure_ascii=False)


def sql_str(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


ALPHABET = "abcXYZ09 _-.,:;!?/\\\"'\t\n\u00e9\u00f1\u4e2d\u6587\U0001F600\u0416\u05d0\x01\x7f"


def rand_text(r, maxlen=12):
    return "".join(r.choice(ALPHABET) for _ in range(r.randint(0, maxlen)))


# ---------------------------------------------------------------------------------------------
# Types. Each has .sql (ClickHouse type text), .gen(r) -> (json_text, note), and flags.


class T:
    nullable = False  # absent/null goes to NULL
    container = False  # Array/Map: absent takes the empty value
    array_depth = 0  # number of [:] the column path needs
    default_sql = None  # a literal usable as DEFAULT, or None

    def gen(self, r, bad):
        """Mostly valid values; with probability about `bad`, an invalid or borderline one."""
        if r.random() < bad * self.bad_weight:
            return self.bad(r)
        return self.good(r)

    bad_weight = 1.0

    def good(self, r):
        raise NotImplementedError

    def bad(self, r):
        return r.choice(WRONG_KINDS), None

    def literal(self, r):
        """A DEFAULT literal, or None when this type gets no DEFAULT."""
        return None


WRONG_KINDS = ['"zz"', "{}", '{"a":1}', "[1]", "[]", "true", "false", '""', "1.5", "-7", '"1e400"']


class Int(T):
    def __init__(self, bits, signed):
        self.bits, self.signed = bits, signed
        self.sql = ("Int%d" if signed else "UInt%d") % bits
        self.lo = -(1 << (bits - 1)) if signed else 0
        self.hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1

    def value(self, r):
        c = r.random()
        if c < 0.3:
            return r.choice([self.lo, self.hi, 0, 1, self.lo + 1, self.hi - 1])
        if c < 0.6:
            return r.randint(self.lo, self.hi)
        b = r.randint(1, self.bits)
        v = r.getrandbits(b)
        if self.signed and r.random() < 0.5:
            v = -v
        return max(self.lo, min(self.hi, v))

    def good(self, r):
        v = self.value(r)
        c = r.random()
        if c < 0.12:
            return q(str(v)), None
        if c < 0.14 and v != 0:
            return "%d.0" % v, None
        if c < 0.16 and 0 < abs(v) < 10**15 and v % 100 == 0:
            return "%de2" % (v // 100), None
        return str(v), None

    def bad(self, r):
        c = r.random()
        if c < 0.45:
            v = r.choice([self.lo - 1, self.hi + 1, self.hi + 1 + r.getrandbits(8),
                          self.lo - 1 - r.getrandbits(8), (1 << 64) + 5, -(1 << 64) - 5,
                          1 << (self.bits + 1), (1 << 256) + 1])
            if self.lo <= v <= self.hi:
                v = self.hi + 1
            return (q(str(v)) if r.random() < 0.15 else str(v)), "overflow"
        return r.choice(['"12abc"', "1.5", "-0.5", "1e3", "1E400", '" 5"', '"+5"', "-0",
                         '"0x1F"', "true", '"abc"', "{}", "[1,2]", '""', "00012"]), None

    def literal(self, r):
        return str(r.randint(max(self.lo, -1000), min(self.hi, 1000)))


class Float(T):
    def __init__(self, bits):
        self.sql = "Float%d" % bits
        self.bits = bits

    def good(self, r):
        c = r.random()
        if c < 0.25:
            return r.choice(["0", "-0.0", "1", "0.1", "1e-5", "-2.5E+10", "123456789012345678",
                             "3.4028235e38", "1.17549435e-38", "1.7976931348623157e308",
                             "5e-324", "2.2250738585072014e-308", "0.30000000000000004",
                             "9007199254740993", "1e-400"]), None
        if c < 0.35:
            return q(repr(r.uniform(-1e6, 1e6))), None
        if c < 0.7:
            return repr(round(r.uniform(-1e4, 1e4), r.randint(0, 6))), None
        return repr(r.uniform(-1, 1) * 10 ** r.randint(-30, 30)), None

    def bad(self, r):
        return r.choice(['"nan"', '"inf"', '"-inf"', '"NaN"', "1e400", "-1e400", '"1.5x"',
                         "true", '"abc"', "[1.0]", "{}", '""', "1.", ".5", "01.5"]), None

    def literal(self, r):
        return repr(round(r.uniform(-100, 100), 3))


class Bool(T):
    sql = "Bool"

    def good(self, r):
        return r.choice(["true", "false"]), None

    def bad(self, r):
        return r.choice(["1", "0", "2", '"true"', '"false"', '"1"', '"yes"', '"on"', '"TRUE"',
                         "1.0", "null ", "[true]", '""', '"t"']), None

    def literal(self, r):
        return r.choice(["true", "false"])


class Decimal(T):
    def __init__(self, p, s, sql):
        self.p, self.s, self.sql = p, s, sql

    def digits(self, r, n):
        return "".join(r.choice("0123456789") for _ in range(n)) or "0"

    def good(self, r):
        ip = r.randint(0, self.p - self.s)
        fp = r.randint(0, self.s)
        txt = self.digits(r, ip).lstrip("0") or "0"
        if fp:
            txt += "." + self.digits(r, fp)
        if r.random() < 0.4:
            txt = "-" + txt
        c = r.random()
        if c < 0.1:
            return q(txt), None
        if c < 0.15:
            neg = txt.startswith("-")
            mant = txt.lstrip("-").replace(".", "").lstrip("0") or "0"
            return "%s%se-%d" % ("-" if neg else "", mant, fp), None
        return txt, None

    def bad(self, r):
        c = r.random()
        if c < 0.4:  # more fraction digits than the scale, or too many integer digits
            return "1." + self.digits(r, self.s + r.randint(1, 4)), None
        if c < 0.7:
            return self.digits(r, self.p - self.s + r.randint(1, 3)).replace("0", "1"), None
        return r.choice(['"1.2.3"', '"abc"', "true", "[1]", "1e400", '"nan"', '""']), None

    def literal(self, r):
        return "1." + "5" * min(self.s, 3) if self.s else "7"


class String(T):
    sql = "String"
    bad_weight = 1.5

    def good(self, r):
        return jstr(r, rand_text(r)), None

    def bad(self, r):  # other JSON kinds: ClickHouse reads them as text
        return r.choice(["123", "-1.50", "1e5", "true", "false", "[1, 2]", '{"a": [1, {"b": null}]}',
                         '{ "k" : "v" }', "[]", "{}", '"\\ud800"', '"\\u0000x"', '"a\\u00"',
                         '"tab\there"', "0.10"]), None

    def literal(self, r):
        return sql_str(r.choice(["", "dflt", "d\u00e9f"]))


class FixedString(T):
    def __init__(self, n):
        self.n = n
        self.sql = "FixedString(%d)" % n

    def good(self, r):
        s = "".join(r.choice("abcXYZ09 \u00e9") for _ in range(r.randint(0, self.n)))
        while len(s.encode()) > self.n:
            s = s[:-1]
        return jstr(r, s), None

    def bad(self, r):
        c = r.random()
        if c < 0.6:
            return q("x" * (self.n + r.randint(1, 3))), None
        if c < 0.8:
            return q("\u00e9" * self.n), None  # 2n bytes
        return r.choice(["12", "true", "[1]", "{}"]), None

    def literal(self, r):
        return sql_str("d" * min(self.n, 2))


def _ymd(r, lo, hi):
    y = r.randint(lo, hi)
    m = r.randint(1, 12)
    d = r.randint(1, 28 if m == 2 else 30)
    return y, m, d


class Date(T):
    def __init__(self, wide):
        self.wide = wide
        self.sql = "Date32" if wide else "Date"
        self.edges = (["1900-01-01", "2299-12-31", "1969-12-31", "1970-01-01"] if wide else
                      ["1970-01-01", "2149-06-06", "2149-06-05", "2000-02-29"])

    def good(self, r):
        c = r.random()
        if c < 0.2:
            return q(r.choice(self.edges)), None
        y, m, d = _ymd(r, 1900 if self.wide else 1970, 2299 if self.wide else 2148)
        s = "%04d-%02d-%02d" % (y, m, d)
        if c < 0.3:
            s += r.choice(["T00:00:00Z", " 12:34:56", "T23:59:59+05:00", "T01:00:00-0300"])
        return q(s), None

    def bad(self, r):
        return r.choice(['"2020-02-30"', '"2020-13-01"', '"2021-02-29"', '"1969-12-31"',
                         '"2149-06-07"', '"1899-12-31"', '"2300-01-01"', '"20200101"',
                         '"2020-1-5"', '"2020/01/05"', '"01/05/2020"', '"yesterday"', '""',
                         "18000", '"18000"', "-1", "true", "[\"2020-01-01\"]"]), None

    def literal(self, r):
        return "'2000-01-01'"


TIMEZONES = ["UTC", "Europe/Madrid", "Asia/Kolkata", "America/New_York", "Australia/Lord_Howe",
             "Pacific/Chatham", "America/St_Johns"]
OFFSETS = ["Z", "z", "+00:00", "-00:00", "+05:30", "-0800", "+1245", "-03:30", "+14:00", "-12:00",
           "+01", ""]


def ts_text(r, lo_year, hi_year, frac_max=9, allow_epoch=True):
    c = r.random()
    if allow_epoch and c < 0.1:
        v = r.randint(0, 4102444800)
        return r.choice([str(v), q(str(v))])
    y, m, d = _ymd(r, lo_year, hi_year)
    hh, mm, ss = r.randint(0, 23), r.randint(0, 59), r.randint(0, 59)
    s = "%04d-%02d-%02d%s%02d:%02d:%02d" % (y, m, d, r.choice("T T "), hh, mm, ss)
    nf = r.randint(0, frac_max) if r.random() < 0.6 else 0
    if nf:
        s += "." + "".join(r.choice("0123456789") for _ in range(nf))
    s += r.choice(OFFSETS)
    return q(s)


class DateTime(T):
    def __init__(self, tz):
        self.tz = tz
        self.sql = "DateTime" if tz is None else "DateTime(%s)" % sql_str(tz)

    def good(self, r):
        c = r.random()
        if c < 0.15:
            return q(r.choice(["1970-01-01 00:00:00", "1970-01-01T00:00:00Z", "2106-02-07 06:28:15Z",
                               "2106-02-07T06:28:15+00:00", "2024-03-31 02:30:00",
                               "2024-10-27 02:30:00", "2024-03-10 02:30:00", "2024-11-03 01:30:00",
                               "2000-02-29T23:59:59.999999999Z", "2026-01-01T00:00:00.5Z",
                               "2021-06-01 12:00"])), None
        return ts_text(r, 1971, 2105), None

    def bad(self, r):
        return r.choice(['"2020-02-30T00:00:00Z"', '"2020-01-01T25:00:00Z"', '"2020-01-01T10:61:00Z"',
                         '"2020-01-01T10:00:60Z"', '"1969-12-31T23:59:59Z"', '"2106-02-07T06:28:16Z"',
                         '"2200-01-01 00:00:00"', '"2020-01-01T10:00:00+25:00"', '"2020-01-01T"',
                         '"2020-01-01T10:00:00.Z"', '"2020-01-01 10:00:00 UTC"', '"Jan 2 2020"',
                         '"Thu, 01 Jan 2020 10:00:00 GMT"', '"2020-01-01T10:00:00.1234567890Z"',
                         "1700000000.5", "-1", "4294967296", '"abc"', '""', "true", "[1]",
                         "1e9", '"1700000000"', '"20200101T100000Z"']), None

    def literal(self, r):
        return "'2001-02-03 04:05:06'"


class DateTime64(T):
    def __init__(self, p, tz):
        self.p, self.tz = p, tz
        self.sql = ("DateTime64(%d)" % p if tz is None else "DateTime64(%d, %s)" % (p, sql_str(tz)))

    def good(self, r):
        c = r.random()
        if c < 0.15:
            edges = ["1900-01-01 00:00:00", "1900-01-01T00:00:00Z", "2299-12-31 23:59:59",
                     "1969-12-31T23:59:59.999999999Z", "1970-01-01T00:00:00.000000001Z",
                     "2024-03-31 02:30:00.25", "2262-04-11T23:47:16.854775807Z"]
            return q(r.choice(edges)), None
        return ts_text(r, 1901, 2261 if self.p == 9 else 2298), None

    def bad(self, r):
        return r.choice(['"1899-12-31T23:59:59Z"', '"2300-01-01T00:00:00Z"', '"2020-02-30 00:00:00"',
                         '"2020-01-01T24:00:00Z"', '"2020-01-01T10:00:00+2:00"', '"not a date"',
                         '"2020-01-01T10:00:00.123456789012Z"', "1700000000.123456", "-100",
                         '"1700000000.5"', '""', "{}", '"2262-04-12T00:00:00Z"']), None

    def literal(self, r):
        return "'2001-02-03 04:05:06'"


class UUID(T):
    sql = "UUID"

    def good(self, r):
        h = "%032x" % r.getrandbits(128)
        s = "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])
        c = r.random()
        if c < 0.1:
            s = s.upper()
        elif c < 0.15:
            s = "00000000-0000-0000-0000-000000000000"
        return q(s), None

    def bad(self, r):
        h = "%032x" % r.getrandbits(128)
        return r.choice([q(h), q("{%s-%s-%s-%s-%s}" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])),
                         q(h[:8] + "-" + h[8:12]), '"zzzz-not-a-uuid"', q("g" + h[1:8] + "-0000-0000-0000-000000000000"),
                         '""', "12", "true", q(h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:] + "0")]), None


class IPv4(T):
    sql = "IPv4"

    def good(self, r):
        c = r.random()
        if c < 0.2:
            return q(r.choice(["0.0.0.0", "255.255.255.255", "127.0.0.1", "10.0.0.1"])), None
        return q("%d.%d.%d.%d" % tuple(r.randint(0, 255) for _ in range(4))), None

    def bad(self, r):
        return r.choice(['"256.1.1.1"', '"1.2.3"', '"1.2.3.4.5"', '"01.2.3.4"', '"1.2.3.-4"',
                         '"::1"', '"a.b.c.d"', '""', "16909060", '"16909060"', "-1", "4294967296",
                         "true", '" 1.2.3.4"']), None


class IPv6(T):
    sql = "IPv6"

    def good(self, r):
        c = r.random()
        if c < 0.25:
            return q(r.choice(["::", "::1", "::ffff:1.2.3.4", "2001:db8::1", "fe80::1:2:3:4",
                               "FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF", "1:2:3:4:5:6:7:8",
                               "1::8", "::2:3:4:5:6:7:8", "2001:DB8::A"])), None
        groups = ["%x" % r.getrandbits(16) for _ in range(8)]
        if r.random() < 0.5:
            i = r.randint(0, 6)
            j = r.randint(i + 1, 8)
            return q(":".join(groups[:i]) + "::" + ":".join(groups[j:])), None
        return q(":".join(groups)), None

    def bad(self, r):
        return r.choice(['"1.2.3.4"', '"1:2:3:4:5:6:7:8:9"', '"1::2::3"', '"12345::"', '"g::1"',
                         '":::"', '""', '"::ffff:1.2.3.256"', "1", "true", '"[::1]"', '"::1%eth0"']), None


class Enum(T):
    def __init__(self, bits, r):
        self.bits = bits
        names = ["a", "b", "c\u00e9", "with space", "x'q", "Z"]
        r.shuffle(names)
        k = r.randint(1, len(names))
        lo, hi = (-128, 127) if bits == 8 else (-32768, 32767)
        vals = r.sample(range(lo, hi + 1), k)
        self.items = list(zip(names[:k], vals))
        self.sql = "Enum%d(%s)" % (bits, ", ".join("%s = %d" % (sql_str(n), v) for n, v in self.items))

    def good(self, r):
        n, v = r.choice(self.items)
        return (str(v) if r.random() < 0.15 else q(n)), None

    def bad(self, r):
        used = {v for _, v in self.items}
        unused = next(x for x in range(1, 200) if x not in used)
        return r.choice(['"unknown"', '"A"', '""', str(unused), q(str(unused)), "1.5", "true",
                         q(self.items[0][0] + " ")]), None

    def literal(self, r):
        return sql_str(self.items[0][0])


class LowCardinality(T):
    def __init__(self, inner):
        self.inner = inner
        self.sql = "LowCardinality(%s)" % inner.sql
        self.nullable = inner.nullable

    def gen(self, r, bad):
        return self.inner.gen(r, bad)

    def literal(self, r):
        return self.inner.literal(r)


class Nullable(T):
    nullable = True

    def __init__(self, inner):
        self.inner = inner
        self.sql = "Nullable(%s)" % inner.sql

    def gen(self, r, bad):
        if r.random() < 0.1:
            return "null", None
        return self.inner.gen(r, bad)

    def literal(self, r):
        return self.inner.literal(r) if r.random() < 0.7 else "NULL"


class Array(T):
    container = True

    def __init__(self, inner):
        self.inner = inner
        self.sql = "Array(%s)" % inner.sql
        self.array_depth = 1 + inner.array_depth

    def gen(self, r, bad):
        c = r.random()
        if c < bad / 2:
            return r.choice(["{}", '"[1,2]"', "1", "true", '{"a":[1]}']), None
        n = r.choice([0, 1, 2, 3, r.randint(0, 8)])
        parts, note = [], None
        for _ in range(n):
            if r.random() < bad / 4:
                t, nt = "null", None
            else:
                t, nt = self.inner.gen(r, bad / 3)
            parts.append(t)
            note = note or nt
        sep = ", " if r.random() < 0.2 else ","
        return "[" + sep.join(parts) + "]", note


class Tuple(T):
    def __init__(self, elems, named):
        self.elems, self.named = elems, named  # elems: [(name, type)]
        inner = ", ".join(("%s %s" % (n, t.sql)) if named else t.sql for n, t in elems)
        self.sql = "Tuple(%s)" % inner

    def gen(self, r, bad):
        parts = []
        for n, t in self.elems:
            v, nt = t.gen(r, bad / 2)
            parts.append((n, v, nt))
        c = r.random()
        if self.named and c < 0.8:
            if r.random() < 0.2:
                r.shuffle(parts)
            if r.random() < bad / 2:
                parts = parts[:-1]
            note = next((nt for _, _, nt in parts if nt), None)
            return "{" + ",".join("%s:%s" % (q(n), v) for n, v, _ in parts) + "}", note
        if c < 1 - bad / 2:
            note = next((nt for _, _, nt in parts if nt), None)
            return "[" + ",".join(v for _, v, _ in parts) + "]", note
        return r.choice(["[]", "1", '"x"', "[1,2,3,4,5,6,7,8]"]), None


class Map(T):
    container = True

    def __init__(self, key, val):
        self.key, self.val = key, val
        self.sql = "Map(%s, %s)" % (key.sql, val.sql)

    def gen(self, r, bad):
        c = r.random()
        if c < bad / 2:
            return r.choice(["[]", '"{}"', "1", '[["a",1]]']), None
        parts, note = [], None
        for i in range(r.choice([0, 1, 2, r.randint(0, 6)])):
            k, nk = self.key.gen(r, bad / 3)
            if not k.startswith('"'):
                k = q(k)
            v, nv = self.val.gen(r, bad / 3)
            note = note or nk or nv
            parts.append("%s:%s" % (k, v))
        return "{" + ",".join(parts) + "}", note


# ---------------------------------------------------------------------------------------------
# Random types and schemas


def scalar_type(r):
    c = r.randrange(17)
    if c == 0:
        return String()
    if c == 1:
        # N > 256 needs allow_suspicious_fixed_string_types at CREATE TABLE (diffcore sets it).
        return FixedString(r.choice([1, 2, 4, 8, 16, 16, 300]))
    if c == 2:
        return Bool()
    if c in (3, 4, 5):
        return Int(r.choice([8, 16, 32, 64, 128, 256]), r.random() < 0.5)
    if c == 6:
        return Float(r.choice([32, 64]))
    if c == 7:
        k = r.randrange(5)
        if k == 0:
            p = r.randint(1, 76)
            s = r.randint(0, p)
            return Decimal(p, s, "Decimal(%d, %d)" % (p, s))
        p = [9, 18, 38, 76][k - 1]
        s = r.randint(0, p)
        return Decimal(p, s, "Decimal%d(%d)" % ([32, 64, 128, 256][k - 1], s))
    if c == 8:
        return Date(r.random() < 0.5)
    if c == 9:
        return DateTime(r.choice([None, None] + TIMEZONES))
    if c == 10:
        return DateTime64(r.randint(0, 9), r.choice([None, "UTC"] + TIMEZONES))
    if c == 11:
        return UUID()
    if c == 12:
        return IPv4()
    if c == 13:
        return IPv6()
    if c == 14:
        return Enum(r.choice([8, 16]), r)
    if c == 15:
        # Around numbers, dates and addresses ClickHouse needs allow_suspicious_low_cardinality_types
        # at CREATE TABLE (diffcore sets it): users may declare them, so they are tested.
        inner = r.choice([String(), String(), FixedString(3), Int(r.choice([8, 32, 64, 256]), r.random() < 0.5),
                          Float(r.choice([32, 64])), Bool(), Date(r.random() < 0.5),
                          DateTime(r.choice([None, "Asia/Kolkata"])), UUID(), IPv4(), IPv6()])
        return LowCardinality(Nullable(inner) if r.random() < 0.3 else inner)
    return Int(r.choice([8, 32, 64]), True)


def random_type(r, depth=0):
    c = r.random()
    if depth < 2 and c < 0.12:
        return Array(random_type(r, depth + 1))
    if depth < 2 and c < 0.17:
        n = r.randint(1, 3)
        named = r.random() < 0.6
        return Tuple([("e%d" % i, random_type(r, depth + 1)) for i in range(n)], named)
    if depth < 2 and c < 0.21:
        key = r.choice([String(), Int(32, False), Int(64, True), LowCardinality(String())])
        return Map(key, random_type(r, depth + 1))
    t = scalar_type(r)
    if c < 0.35 and not isinstance(t, LowCardinality):
        return Nullable(t)
    return t


class Column:
    def __init__(self, name, typ, default):
        self.name, self.type, self.default = name, typ, default

    @property
    def path(self):
        return "$." + self.name + "[:]" * self.type.array_depth

    @property
    def needs_value(self):
        """True when absence quarantines in sluice (SPEC §5): not Nullable, no DEFAULT, not a
        container (Array/Map take their empty value)."""
        return not (self.type.nullable or self.type.container or self.default is not None)

    def ddl(self):
        d = " DEFAULT %s" % self.default if self.default is not None else ""
        return "`%s` %s%s" % (self.name, self.type.sql, d)

    def datasource_line(self):
        d = " DEFAULT %s" % self.default if self.default is not None else ""
        return "`%s` %s `json:%s`%s" % (self.name, self.type.sql, self.path, d)


def random_schema(r, ncols=None):
    ncols = ncols or r.randint(3, 10)
    cols = []
    for i in range(ncols):
        t = random_type(r)
        default = None
        if r.random() < 0.2 and not isinstance(t, (Array, Tuple, Map)):
            default = t.literal(r)
        cols.append(Column("c%d" % i, t, default))
    return cols


def datasource_text(cols):
    body = ",\n".join("    " + c.datasource_line() for c in cols)
    return 'SCHEMA >\n%s\n\nENGINE "MergeTree"\nENGINE_SORTING_KEY "tuple()"\n' % body


# ---------------------------------------------------------------------------------------------
# Rows


class Row:
    """One NDJSON line: its text and, per column, the JSON text given (None if absent) and the
    generator's note. `valid_json` is False for lines made invalid on purpose."""

    def __init__(self, text, cells, notes, valid_json):
        self.text, self.cells, self.notes, self.valid_json = text, cells, notes, valid_json


BROKEN = [
    lambda s: s[: max(1, len(s) - 3)],
    lambda s: s[:-1] + ',"oops":tru}',
    lambda s: s[:-1] + ",}",
    lambda s: s[:-1] + '} x',
    lambda s: s.replace(":", " ", 1),
    lambda s: "{" + s,
    lambda s: s[:-1] + ',"bad":"\\x"}',
    lambda s: s[:-1] + ',"nan":NaN}',
]


def random_row(r, cols, bad=0.04, p_absent=0.015, p_null=0.015, p_broken=0.01):
    """A row whose cells are each invalid with probability about `bad`."""
    cells, notes, parts = {}, {}, []
    for c in cols:
        x = r.random()
        if x < p_absent:
            cells[c.name], notes[c.name] = None, None
            continue
        if x < p_absent + p_null:
            v, n = "null", None
        else:
            v, n = c.type.gen(r, bad)
        cells[c.name], notes[c.name] = v, n
        parts.append((c.name, v))
    if r.random() < 0.1:
        r.shuffle(parts)
    if r.random() < 0.05:
        parts.insert(r.randint(0, len(parts)), ("extra_field", r.choice(['{"x":[1,2]}', '"s"', "3", "null"])))
    sep = r.choice([",", ",", ", "])
    colon = r.choice([":", ":", ": "])
    text = "{" + sep.join(q(k) + colon + v for k, v in parts) + "}"
    valid = True
    x = r.random()
    if x < 0.02:  # trailing whitespace stays in c__raw; a final CR (CRLF line end) does not
        text += r.choice([" ", "\t", "  \t", "\r", " \r"])
    if r.random() < p_broken:
        text = r.choice(BROKEN)(text)
        valid = False
    return Row(text, cells, notes, valid and strict_json_ok(text))


def strict_json_ok(text):
    """True when `text` is JSON by RFC 8259 with every string valid Unicode. Python's json module
    also takes lone surrogate escapes ("\\ud800"), which sluice and ClickHouse
    refuse; such a line is not valid JSON here, so no per-column quarantine cells are expected."""
    try:
        v = json.loads(text, parse_constant=_no_constant)
        json.dumps(v, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return False
    return True


def _no_constant(name):
    raise ValueError("%s is not JSON" % name)
