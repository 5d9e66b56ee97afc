"""The workload datasets of gen_events.py through `sluice check`, compared with ClickHouse.

For each dataset: sluice's rows load into a table of the data source's columns (RowBinaryWithDefaults)
and their count is the report's; clean datasets quarantine nothing; `dirty` quarantines exactly
the lines `gen_events.py dirty --broken FILE` lists, and its quarantine block holds those lines.
Then every column is compared with ClickHouse's own JSONEachRow parse of the same lines: a column
at `$.key` (or `$.key[:]...`) is read as column `key`; columns below `$.key.a.b` become a named Tuple
`key` following the JSON nesting, and `$.key[:].f` an Array of named Tuples, so ClickHouse parses
nested values itself and the test reads them back with tupleElement/arrayMap.

Environment: SLUICE_GEN_EVENTS (path of gen_events.py), SLUICE_DATASET_ROWS (default 3000).
"""
import os
import re
import subprocess
import sys

import pytest

import diffcore

ROWS = int(os.environ.get("SLUICE_DATASET_ROWS", "3000"))
HERE = os.path.dirname(os.path.abspath(__file__))
GEN_CANDIDATES = [os.environ.get("SLUICE_GEN_EVENTS", ""),
                  os.path.join(HERE, "..", "..", "..", "shared", "tools", "gen_events.py")]


def gen_events():
    for p in GEN_CANDIDATES:
        if p and os.path.exists(p):
            return p
    pytest.skip("gen_events.py not found; set SLUICE_GEN_EVENTS")


COL_RE = re.compile(r"^\s*`?([A-Za-z0-9_]+)`?\s+(.*?)\s+`json:([^`]+)`(?:\s+DEFAULT\s+(.*?))?\s*,?\s*$")
STEP_RE = re.compile(r"\.([A-Za-z0-9_-]+)|(\[:\])")


def parse_columns(text):
    """(name, type, path, default) of each SCHEMA line of the generator's .datasource files."""
    cols, inside = [], False
    for ln in text.split("\n"):
        if ln.startswith("SCHEMA"):
            inside = True
            continue
        if inside and not ln.strip():
            break
        if inside:
            m = COL_RE.match(ln)
            assert m, "cannot read schema line %r" % ln
            cols.append(m.groups())
    return cols


def steps(path):
    assert path.startswith("$"), path
    return [("k", m.group(1)) if m.group(1) else ("a",) for m in STEP_RE.finditer(path[1:])]


def strip_array(t):
    assert t.startswith("Array(") and t.endswith(")"), t
    return t[6:-1]


def build(items, depth=0):
    """items: [(remaining steps, type, column name)] at one JSON position. Returns the ClickHouse
    type that reads that position and {column: function(expr) -> SQL extracting the column}."""
    leaves = [it for it in items if all(s[0] == "a" for s in it[0])]
    if leaves:
        t = leaves[0][1]
        return t, {n: (lambda e: e) for _, tt, n in leaves if tt == t}
    if all(it[0][0][0] == "a" for it in items):
        inner_t, fns = build([(s[1:], strip_array(t), n) for s, t, n in items], depth + 1)
        v = "x%d" % depth
        return "Array(%s)" % inner_t, {n: (lambda e, f=f: "arrayMap(%s -> %s, %s)" % (v, f(v), e))
                                       for n, f in fns.items()}
    groups = {}
    for s, t, n in items:
        if s[0][0] == "k":
            groups.setdefault(s[0][1], []).append((s[1:], t, n))
    elems, fns = [], {}
    for key, sub in groups.items():
        t, sf = build(sub, depth + 1)
        elems.append("`%s` %s" % (key, t))
        for n, f in sf.items():
            fns[n] = (lambda e, f=f, key=key: f("tupleElement(%s, '%s')" % (e, key)))
    return "Tuple(%s)" % ", ".join(elems), fns


def reference_tables(cols):
    """Two column sets for ClickHouse's parse: `flat` (columns read whole at $.key) and `typed`
    (nested paths regrouped under their first key); each {key: type}, plus {column: SQL}."""
    by_key = {}
    for name, t, path, _ in cols:
        st = steps(path)
        if not st or st[0][0] != "k":
            continue  # `$` or a path starting with [:]: not comparable this way
        by_key.setdefault(st[0][1], []).append((st[1:], t, name))
    flat, typed, exprs = {}, {}, {}
    for key, items in by_key.items():
        leaves = [it for it in items if all(s[0] == "a" for s in it[0])]
        rest = [it for it in items if it not in leaves]
        if leaves:
            flat[key] = leaves[0][1]
            for _, t, n in leaves:
                if t == leaves[0][1]:
                    exprs[n] = ("flat", "`%s`" % key)
        if rest:
            t, fns = build(rest, 1)
            typed[key] = t
            for n, f in fns.items():
                exprs[n] = ("typed", f("`%s`" % key))
    return flat, typed, exprs


def run_gen(args):
    p = subprocess.run([sys.executable, gen_events()] + args, stdout=subprocess.PIPE, check=True)
    return p.stdout


@pytest.mark.parametrize("dataset", ["web", "wide", "arrays", "small", "dirty"])
def test_dataset(dataset, ch, sluice_bin, workdir):
    rows = ROWS // 3 if dataset == "wide" else ROWS
    schema = run_gen([dataset, "--schema"]).decode()
    broken_file = os.path.join(workdir, "broken.txt")
    extra = ["--broken", broken_file] if dataset == "dirty" else []
    nd = run_gen([dataset, "--rows", str(rows)] + extra)
    lines = nd.decode().split("\n")[:-1]
    broken = set()
    if dataset == "dirty":
        broken = {int(x) for x in open(broken_file).read().split()}
        assert broken, "the dirty dataset should have broken lines"

    res = diffcore.run_sluice(workdir, schema, nd, dataset)
    cols = parse_columns(schema)
    names = [c[0] for c in cols]
    ddls = ["`%s` %s%s" % (n, t, " DEFAULT " + d if d else "") for n, t, _, d in cols]
    rep = res.report
    problems = []

    if sorted(res.quarantined) != sorted(broken):
        errs = [e for e in rep["errors"] if e.get("line") not in broken][:10]
        problems.append("quarantined lines differ from the broken ones: missed %s, extra %s; "
                        "errors on extra lines: %s"
                        % (sorted(broken - res.quarantined)[:20], sorted(res.quarantined - broken)[:20], errs))
    if rep["successful_rows"] != len(lines) - len(res.quarantined):
        problems.append("successful_rows %d for %d lines and %d quarantined"
                        % (rep["successful_rows"], len(lines), len(res.quarantined)))

    o = diffcore.Oracle(ch, "ds_" + dataset, ddls, names, [c[1] for c in cols])
    try:
        ours = o.ours(res.rows_bin)
        if len(ours) != rep["successful_rows"]:
            problems.append("--out holds %d rows, the report says %d" % (len(ours), rep["successful_rows"]))
        q = o.quarantine(res.q_bin)
        want_raw = [lines[i - 1] for i in sorted(res.quarantined)]
        if [r["c__raw"] for r in q] != want_raw:
            problems.append("quarantine c__raw differs from the quarantined lines (%d rows vs %d)"
                            % (len(q), len(want_raw)))
        if any(not r["c__error"] for r in q):
            problems.append("a quarantine row has no c__error")

        # ClickHouse's own parse of the lines sluice accepted, column by column.
        good = [ln for i, ln in enumerate(lines, 1) if i not in res.quarantined]
        flat, typed, exprs = reference_tables(cols)
        ref = {}
        data = ("\n".join(good) + "\n").encode()
        for kind, tcols in (("flat", flat), ("typed", typed)):
            if not tcols:
                continue
            t = "ds_%s_%s" % (dataset, kind)
            ch.query("DROP TABLE IF EXISTS %s" % t)
            ch.query("CREATE TABLE %s (%s) ENGINE = Memory"
                     % (t, ", ".join("`%s` %s" % kv for kv in tcols.items())))
            try:
                ch.insert("INSERT INTO %s SETTINGS %s" % (t, diffcore.REF_SETTINGS), "JSONEachRow", data)
                cnames = [n for n in names if n in exprs and exprs[n][0] == kind]
                ctypes = {c[0]: c[1] for c in cols}
                out = ch.query("SELECT %s FROM %s SETTINGS max_threads = 1"
                               % (", ".join(diffcore.select_expr(n, ctypes[n], exprs[n][1])
                                            for n in cnames), t))
                for n, col in zip(cnames, zip(*diffcore.tsv_rows(out, len(cnames)))):
                    ref[n] = col
            finally:
                ch.query("DROP TABLE IF EXISTS %s" % t)
        compared = 0
        for ci, n in enumerate(names):
            if n not in ref:
                continue
            compared += 1
            mine = [r[ci] for r in ours]
            for k, (a, b) in enumerate(zip(ref[n], mine)):
                if a != b:
                    problems.append("column %s %s, line %d: ClickHouse stored %s, sluice %s\n    line: %s"
                                    % (n, cols[ci][1], lines.index(good[k]) + 1, a[:200], b[:200], good[k][:300]))
                    break
        if good and compared < len(names) - 1:
            problems.append("only %d of %d columns could be compared" % (compared, len(names)))
    finally:
        o.drop()
    if problems:
        pytest.fail("dataset %s (%d lines, files in %s):\n%s" % (dataset, len(lines), workdir, "\n".join(problems)),
                    pytrace=False)
