"""Differential test: random schemas over every SPEC §5 type and random rows (edge values and
broken ones), converted by `sluice check` and parsed by ClickHouse's own JSONEachRow (chDB).
The two must agree line by line, on accept/reject and on every stored value, except for the
differences documented in docs/conversion.md (see diffcore.documented_reason).

Environment: SLUICE_DIFF_SEED (default 1), SLUICE_DIFF_CASES (schemas, default 40),
SLUICE_DIFF_ROWS (rows per schema, default 150), SLUICE_DIFF_BAD (per-cell probability of a
broken value, default 0.04), SLUICE_DIFF_REPORT (a file to append every difference to).
"""
import os
import random

import pytest

import diffcore
import gen

SEED = int(os.environ.get("SLUICE_DIFF_SEED", "1"))
CASES = int(os.environ.get("SLUICE_DIFF_CASES", "40"))
ROWS = int(os.environ.get("SLUICE_DIFF_ROWS", "150"))
BAD = float(os.environ.get("SLUICE_DIFF_BAD", "0.04"))


def make_case(seed, rows):
    r = random.Random(seed)
    cols = gen.random_schema(r)
    out = [gen.random_row(r, cols, bad=BAD) for _ in range(rows)]
    return cols, out


@pytest.mark.parametrize("k", range(CASES))
def test_random_schema(k, ch, sluice_bin, workdir):
    seed = SEED * 1000003 + k
    cols, rows = make_case(seed, ROWS)
    ds = gen.datasource_text(cols)
    nd = ("\n".join(row.text for row in rows) + "\n").encode()
    res = diffcore.run_sluice(workdir, ds, nd)
    case = diffcore.Case([(c.name, c.type.sql, c.needs_value) for c in cols],
                         [row.text for row in rows], [row.valid_json for row in rows],
                         [row.cells for row in rows], [row.notes for row in rows],
                         {c.name: c.default is not None for c in cols})
    out = diffcore.compare(ch, "d%d" % k, [c.ddl() for c in cols], case, res)
    path = os.environ.get("SLUICE_DIFF_REPORT")
    if path and out.documented and not out.diffs:
        with open(path, "a") as f:
            f.write("seed %d: documented differences %s\n" % (seed, out.documented))
    if out.diffs:
        msg = "seed %d (SLUICE_DIFF_SEED=%d case %d), files in %s\nschema:\n%s\n%s" % (
            seed, SEED, k, workdir, ds, diffcore.summary(out))
        if path:
            with open(path, "a") as f:
                f.write(msg + "\n" + "\n".join(str(d) for d in out.diffs[25:]) + "\n\n")
        pytest.fail(msg, pytrace=False)
