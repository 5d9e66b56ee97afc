"""The comparison engine of the differential test: runs `sluice check` on a schema and its rows,
asks ClickHouse (chDB) what its own JSONEachRow parser does with each line, and lists every
difference with the column type, the JSON value and both results.

ClickHouse's verdict for a line is the one it gives when that line alone is inserted with
`INSERT ... FORMAT JSONEachRow`. For speed, lines that are valid JSON are first inserted in one
batch (each tagged with its line number, errors skipped); every line the batch rejected, every
line that is not valid JSON and every line where the batch disagrees with sluice is then
inserted alone, and that single-line result is the one compared.
"""
import json
import os
import re
import subprocess

import pytest

REF_SETTINGS = ("date_time_input_format='best_effort', input_format_skip_unknown_fields=1")


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
            data = ("\n".join(parts) + "\n").encode()
            self.s.insert("INSERT INTO %s_ref SETTINGS %s, input_format_allow_errors_num=1000000000, "
                          "input_format_allow_errors_ratio=1" % (self.t, REF_SETTINGS), "JSONEachRow", data)
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
# The comparison


class Case:
    """What the comparison needs to know about a case: the columns (name, type text, and whether
    absence quarantines in sluice), the lines, and per line the JSON text given for each column
    (None if absent; unknown for nested paths) and notes from the generator."""

    def __init__(self, columns, lines, valid, cells=None, notes=None):
        self.columns = columns  # [(name, sql type, needs_value)]
        self.lines, self.valid = lines, valid
        self.cells = cells or [None] * len(lines)  # per line: {column: json text or None}
        self.notes = notes or [None] * len(lines)  # per line: {column: note}


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
                    reason = documented_reason(case, i, col, needs)
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


def documented_reason(case, i, col, needs):
    """Why sluice may quarantine what ClickHouse accepts, for column `col` of line i, or None."""
    cells = case.cells[i - 1]
    notes = case.notes[i - 1]
    if cells is None or col not in needs:
        return None
    v = cells.get(col)
    if needs[col] and (v is None or v.strip() == "null"):
        return "missing or null value for a column that is not Nullable and has no DEFAULT"
    if notes and notes.get(col) == "overflow":
        return "integer out of the column's range (ClickHouse wraps it)"
    return None


def check_quarantine(o, case, sluice, res, add, check_cells):
    qrows = o.quarantine(sluice.q_bin)
    qlines = sorted(sluice.quarantined)
    if len(qrows) != len(qlines):
        add("quarantine", 0, "-", "%d quarantined lines" % len(qlines), "%d rows in --quarantine-out" % len(qrows))
        return
    names = [c[0] for c in case.columns]
    for i, row in zip(qlines, qrows):
        raw, want = row["c__raw"], case.lines[i - 1]
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
