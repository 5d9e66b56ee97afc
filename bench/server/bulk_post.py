#!/usr/bin/env python3
"""Bulk NDJSON client for the server benchmark: posts FILE to /v0/events in bodies of about
CHUNK_MIB (cut at newlines) over CONNS keep-alive connections at once (one thread each, taking
bodies from a shared queue), then, with --count-sql, polls count() through /v0/sql until every
row is visible.

    bulk_post.py --url http://127.0.0.1:PORT --name web --token T [--conns 4] [--chunk-mib 10]
                 [--count-sql] FILE.ndjson

Prints one RESULT line: rows, bytes, ack_s (first send to last 202), visible_s (first send to
count() == rows; 0 without --count-sql), rows_s (rows / visible_s, or / ack_s), the client's own
CPU seconds (to show it is not the bottleneck) and the answers' status codes. Standard library
only. The file is read and cut before the clock starts.
"""
import argparse
import http.client
import json
import os
import queue
import sys
import threading
import time
import urllib.parse


def cut(data, chunk):
    out, start = [], 0
    while start < len(data):
        end = min(start + chunk, len(data))
        if end < len(data):
            nl = data.rfind(b"\n", start, end)
            end = nl + 1 if nl >= start else data.find(b"\n", end) + 1 or len(data)
        out.append(data[start:end])
        start = end
    return out


def count_rows(host, port, token, name):
    c = http.client.HTTPConnection(host, port, timeout=60)
    q = urllib.parse.quote("SELECT count() FROM %s FORMAT TSV" % name)
    c.request("GET", "/v0/sql?q=%s&token=%s" % (q, token))
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        raise RuntimeError("count: %d %s" % (r.status, body[:200]))
    return int(body.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--token", default="")
    ap.add_argument("--conns", type=int, default=4)
    ap.add_argument("--chunk-mib", type=float, default=10)
    ap.add_argument("--count-sql", action="store_true")
    ap.add_argument("--expect-rows", type=int, default=0, help="rows already in the table + these")
    ap.add_argument("file")
    a = ap.parse_args()

    u = urllib.parse.urlsplit(a.url)
    data = open(a.file, "rb").read()
    rows = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    bodies = cut(data, int(a.chunk_mib * (1 << 20)))
    del data
    work = queue.Queue()
    for b in bodies:
        work.put(b)
    path = "/v0/events?name=%s&token=%s" % (a.name, a.token)
    statuses, accepted, errors = {}, [0], []
    lock = threading.Lock()

    def worker():
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
        while True:
            try:
                b = work.get_nowait()
            except queue.Empty:
                break
            c.request("POST", path, body=b, headers={"Content-Type": "application/x-ndjson"})
            r = c.getresponse()
            answer = r.read()
            with lock:
                statuses[r.status] = statuses.get(r.status, 0) + 1
                if r.status in (200, 202):
                    try:
                        accepted[0] += json.loads(answer).get("successful_rows", 0)
                    except ValueError:
                        pass  # the reference server answers a fixed body
                elif len(errors) < 3:
                    errors.append(answer[:200])
        c.close()

    cpu0, t0 = os.times(), time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(a.conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t_ack = time.monotonic()
    cpu1 = os.times()
    visible = 0.0
    seen = 0
    if a.count_sql:
        want = a.expect_rows + rows
        deadline = t_ack + 120
        while True:
            seen = count_rows(u.hostname, u.port, a.token, a.name)
            if seen >= want or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        visible = time.monotonic() - t0
    ack = t_ack - t0
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    for e in errors:
        print("error answer:", e, file=sys.stderr)
    print(
        "RESULT rows=%d bytes=%d bodies=%d conns=%d ack_s=%.3f visible_s=%.3f rows_s=%.0f "
        "ack_rows_s=%.0f mb_s=%.1f accepted=%d counted=%d client_cpu_s=%.2f statuses=%s"
        % (rows, sum(map(len, bodies)), len(bodies), a.conns, ack, visible,
           rows / (visible or ack), rows / ack, sum(map(len, bodies)) / (visible or ack) / 1e6,
           accepted[0], seen, cpu,
           ",".join("%d:%d" % kv for kv in sorted(statuses.items()))))


if __name__ == "__main__":
    main()
