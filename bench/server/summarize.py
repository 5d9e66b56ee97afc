#!/usr/bin/env python3
"""Summary of bench/server/run.sh's RESULT lines: per test and tool, the median of the rounds and
the range [min–max] of each figure, and the ratios sluice / reference (ratio of the medians, and
the range of the per-round ratios, since each round ran both side by side).

    summarize.py build/bench/server/results-<time>.txt
"""
import collections
import statistics
import sys

FIGURES = {
    "small": ["rps", "p50_ms", "p75_ms", "p90_ms", "p99_ms", "max_ms", "server_cores", "wrk_cores",
              "peak_rss_kb", "rest_rss_kb", "counted", "accepted", "count_ok", "non2xx"],
    "bulk": ["rows_s", "visible_s", "ack_s", "ack_rows_s", "mb_s", "client_cpu_s", "server_cores",
             "peak_rss_kb", "rest_rss_kb", "counted", "maxrss_kb", "cores"],
    "sink": ["rows_s", "visible_s", "mb_s", "maxrss_kb", "cores"],
    "latency": ["p50_ms", "p90_ms", "p99_ms", "max_ms", "acked", "missing", "failed",
                "poll_query_p50_ms", "poll_query_p99_ms", "peak_rss_kb", "rest_rss_kb"],
}
RATIOS = [("small", "rps", "sluice", "nginx"),
          ("bulk", "rows_s", "sluice", "clickhouse-raw"),
          ("bulk", "rows_s", "sluice", "clickhouse-typed"),
          ("bulk", "rows_s", "sluice", "client-vs-nginx")]


def num(s):
    try:
        return float(s)
    except ValueError:
        return None


def main():
    runs = collections.defaultdict(list)  # (test, tool) -> [dict]
    for line in open(sys.argv[1]):
        if not line.startswith("RESULT"):
            continue
        kv = dict(p.split("=", 1) for p in line.split()[1:] if "=" in p)
        if kv.get("tool", "").startswith("clickhouse"):
            kv["rows_s"] = kv.get("median_rows_s")
            kv["visible_s"] = kv.get("median_s")
            kv["mb_s"] = kv.get("median_mbps")
        runs[kv["test"], kv["tool"]].append(kv)

    for (test, tool), rs in runs.items():
        print("%s / %s (%d rounds): median [min–max]" % (test, tool, len(rs)))
        for f in FIGURES[test]:
            vals = [num(r[f]) for r in rs if f in r and num(r[f]) is not None]
            if vals:
                print("  %-18s %12.3f  [%.3f – %.3f]" % (f, statistics.median(vals), min(vals),
                                                         max(vals)))
    for test, f, a, b in RATIOS:
        ra, rb = runs.get((test, "sluice"), []), runs.get((test, b), [])
        if not ra or not rb:
            continue
        by_round = {r["round"]: num(r[f]) for r in rb}
        per = [num(r[f]) / by_round[r["round"]] for r in ra if by_round.get(r["round"])]
        med = statistics.median(num(r[f]) for r in ra) / statistics.median(num(r[f]) for r in rb)
        print("ratio %s %s: %s / %s = %.2fx (per round %s)" % (
            test, f, a, b, med, ", ".join("%.2f" % x for x in per)))


if __name__ == "__main__":
    main()
