#!/usr/bin/env python3
"""202 → visible latency: one sender posts one event every INTERVAL ms for SECONDS, each with a
unique id and its send time; one poller asks /v0/sql for ids not seen yet every POLL ms. For
each id: latency = (time the poll answer that first contained it arrived) − (time its 202
arrived). Both clocks are this process's monotonic clock. The figure is an upper bound: it
includes up to one poll period plus the poll query's own time (both reported).

    latency.py --url http://127.0.0.1:PORT --name lat --token T [--seconds 30] [--interval-ms 10]
               [--poll-ms 20]

The data source must exist with `id` UInt64 and `sent` DateTime64(6) columns. Prints one RESULT
line. Standard library only.
"""
import argparse
import datetime
import http.client
import json
import threading
import time
import urllib.parse


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--token", default="")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--interval-ms", type=float, default=10)
    ap.add_argument("--poll-ms", type=float, default=20)
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)

    acked = {}  # id -> monotonic time of its 202
    seen = {}  # id -> monotonic time of the poll answer that first listed it
    lock = threading.Lock()
    done = threading.Event()
    send_fail = [0]
    poll_times = []

    def sender():
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        path = "/v0/events?name=%s&token=%s" % (a.name, a.token)
        start = time.monotonic()
        i = 0
        while True:
            due = start + i * a.interval_ms / 1000.0
            if due - start > a.seconds:
                break
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            sent = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
            body = json.dumps({"id": i, "sent": sent})
            c.request("POST", path, body=body)
            r = c.getresponse()
            r.read()
            t = time.monotonic()
            if r.status == 202:
                with lock:
                    acked[i] = t
            else:
                send_fail[0] += 1
            i += 1
        c.close()

    def poller():
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        low = 0  # every id below is seen
        next_poll = time.monotonic()
        while True:
            finishing = done.is_set()
            q = "SELECT id FROM %s WHERE id >= %d FORMAT TSV" % (a.name, low)
            t0 = time.monotonic()
            c.request("GET", "/v0/sql?q=%s&token=%s" % (urllib.parse.quote(q), a.token))
            r = c.getresponse()
            body = r.read()
            t = time.monotonic()
            poll_times.append(t - t0)
            if r.status == 200:
                with lock:
                    for line in body.split():
                        n = int(line)
                        if n not in seen:
                            seen[n] = t
                    while low in seen:
                        low += 1
                    all_seen = all(k in seen for k in acked)
            if finishing and all_seen:
                break
            if finishing and t - finished_at[0] > 10:
                break  # give up: reported as missing
            next_poll += a.poll_ms / 1000.0
            now = time.monotonic()
            if next_poll > now:
                time.sleep(next_poll - now)
            else:
                next_poll = now
        c.close()

    finished_at = [0.0]
    ts = threading.Thread(target=sender)
    tp = threading.Thread(target=poller)
    tp.start()
    ts.start()
    ts.join()
    finished_at[0] = time.monotonic()
    done.set()
    tp.join()

    lat = sorted((seen[k] - acked[k]) * 1000 for k in acked if k in seen)
    missing = sum(1 for k in acked if k not in seen)
    pt = sorted(x * 1000 for x in poll_times)
    print(
        "RESULT events=%d acked=%d failed=%d missing=%d p50_ms=%.0f p90_ms=%.0f p99_ms=%.0f "
        "max_ms=%.0f min_ms=%.0f polls=%d poll_query_p50_ms=%.1f poll_query_p99_ms=%.1f"
        % (len(acked) + send_fail[0], len(acked), send_fail[0], missing, pct(lat, 50),
           pct(lat, 90), pct(lat, 99), lat[-1] if lat else float("nan"),
           lat[0] if lat else float("nan"), len(pt), pct(pt, 50), pct(pt, 99)))


if __name__ == "__main__":
    main()
