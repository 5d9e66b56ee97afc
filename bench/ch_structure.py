#!/usr/bin/env python3
"""ClickHouse column list for the JSONEachRow baseline of the converter benchmark.

    ch_structure.py FILE.datasource raw|typed      column list on stdout, e.g. "`a` UInt64, ..."

ClickHouse's JSONEachRow maps top-level JSON keys to columns; it cannot map $.payload.pathname
to a column. So the .datasource columns are regrouped by their first path step:
  - a column whose path is exactly $.key keeps its type under the name `key`;
  - columns below $.key.x... become a named Tuple `key` whose elements follow the JSON nesting
    (JSONEachRow reads a JSON object into a named Tuple by element names);
  - $.key[:] / $.key[:][:] columns keep their Array type under `key`; $.key[:].f columns become
    `key` Array(Tuple(f T, ...)).
When one key is wanted both whole and by parts (web: `payload` String and $.payload.pathname;
arrays: `items_raw` String and $.items[:].sku), `raw` keeps the whole-value column (an object
read as its JSON text) and `typed` keeps the parsed parts. Only standard library.
"""
import re, sys


def columns(text):
    """(type, path steps) for each SCHEMA column of a .datasource text."""
    m = re.search(r"^SCHEMA >\n(.*?)(?:\n\s*\n|\Z)", text, re.S | re.M)
    out = []
    for line in m.group(1).splitlines():
        line = line.strip().rstrip(",")
        if not line or line.startswith("--"):
            continue
        name = re.match(r"`?([A-Za-z0-9_]+)`?\s+", line)
        rest = line[name.end():]
        pm = re.search(r"`json:([^`]*)`", rest)
        path = pm.group(1) if pm else "$." + name.group(1)
        if pm:
            rest = rest[:pm.start()] + rest[pm.end():]
        ctype = re.split(r"\s+(?:DEFAULT|CODEC)\b", rest.strip())[0].strip()
        default = re.search(r"\bDEFAULT\s+(.*)$", rest.strip())
        steps = re.findall(r"\.([A-Za-z0-9_-]+)|\.\['([^']*)'\]|(\[:\])", path[1:])
        steps = [a or b or c for a, b, c in steps]
        out.append((ctype, steps, default.group(1).strip() if default else None))
    return out


def q(name):
    return "`%s`" % name.replace("`", "\\`")


def strip_array(ctype):
    """Array(T) -> T (one level)."""
    assert ctype.startswith("Array(") and ctype.endswith(")"), ctype
    return ctype[6:-1]


def build(cols, mode):
    """Tree: key -> ('leaf', type, default) or ('obj', {…}) or ('arr_obj', {field: type})."""
    tree = {}
    order = []

    def put(node, key, val):
        if key not in node:
            node[key] = val
            if node is tree:
                order.append(key)
            return
        old = node[key]
        if old[0] == "leaf" and val[0] != "leaf":
            if mode == "typed":
                node[key] = val
        elif old[0] != "leaf" and val[0] == "leaf":
            if mode == "raw":
                node[key] = val
        elif old[0] == val[0] == "obj":
            for k, v in val[1].items():
                put(old[1], k, v)
        elif old[0] == val[0] == "arr_obj":
            old[1].update(val[1])

    for ctype, steps, default in cols:
        if len(steps) == 1 or all(s == "[:]" for s in steps[1:]):
            put(tree, steps[0], ("leaf", ctype, default))
        elif steps[1] == "[:]" and len(steps) == 3:
            put(tree, steps[0], ("arr_obj", {steps[2]: strip_array(ctype)}))
        elif "[:]" not in steps:
            node = ("leaf", ctype, default)
            for s in reversed(steps[1:]):
                node = ("obj", {s: node})
            put(tree, steps[0], node)
        else:
            sys.exit("ch_structure.py: path shape not handled: %s" % steps)
    return tree, order


def render(node):
    kind = node[0]
    if kind == "leaf":
        return node[1]
    if kind == "obj":
        return "Tuple(%s)" % ", ".join("%s %s" % (q(k), render(v)) for k, v in node[1].items())
    return "Array(Tuple(%s))" % ", ".join("%s %s" % (q(k), t) for k, t in node[1].items())


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("raw", "typed"):
        sys.exit(__doc__)
    tree, order = build(columns(open(sys.argv[1]).read()), sys.argv[2])
    parts = []
    for k in order:
        node = tree[k]
        s = "%s %s" % (q(k), render(node))
        if node[0] == "leaf" and node[2] is not None:
            s += " DEFAULT " + node[2]
        parts.append(s)
    print(", ".join(parts))


if __name__ == "__main__":
    main()
