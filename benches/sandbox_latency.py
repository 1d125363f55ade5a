#!/usr/bin/env python3
"""Latency of the sandbox API server and mesh proxy over loopback keep-alive connections.

Run inside a sandbox (release build):
    target/release/labctl sandbox --users 1 --mesh-delay 0s -- python3 benches/sandbox_latency.py
Stores N ConfigMaps (default 1,000), then prints p50/p99 of GET one, LIST all N,
LIST by label selector, and a proxy round trip to the context-scraper.
"""
import http.client, json, os, re, statistics, time, urllib.parse

N = int(os.environ.get("N", "1000"))
RUNS = int(os.environ.get("RUNS", "300"))
server = re.search(r"server: (\S+)", open(os.environ["KUBECONFIG"]).read()).group(1)
api = urllib.parse.urlparse(server)
proxy = urllib.parse.urlparse(os.environ["http_proxy"])

conn = http.client.HTTPConnection(api.hostname, api.port)
for i in range(N):
    body = json.dumps({"metadata": {"name": f"bench-{i}", "labels": {"bench": "yes"}}, "data": {"i": str(i)}})
    conn.request("POST", "/api/v1/namespaces/user1/configmaps", body, {"Content-Type": "application/json"})
    r = conn.getresponse(); r.read()
    assert r.status == 201, r.status

def measure(label, c, path, expect=200):
    times = []
    size = 0
    for _ in range(RUNS):
        t = time.perf_counter()
        c.request("GET", path)
        r = c.getresponse(); data = r.read()
        times.append((time.perf_counter() - t) * 1000)
        assert r.status == expect, (label, r.status)
        size = len(data)
    times.sort()
    print(f"{label:<32} p50 {statistics.median(times):6.2f} ms   p99 {times[int(len(times) * 0.99) - 1]:6.2f} ms   ({RUNS} runs, {size} bytes)")

measure("GET one configmap", conn, "/api/v1/namespaces/user1/configmaps/bench-500")
measure(f"LIST {N} configmaps", conn, "/api/v1/namespaces/user1/configmaps")
measure("LIST by label selector", conn, "/api/v1/namespaces/user1/configmaps?labelSelector=bench%3Dyes")
measure("LIST namespaces", conn, "/api/v1/namespaces")
measure("LIST one namespace's configmaps", conn, "/api/v1/namespaces/user1-istio/configmaps")
pconn = http.client.HTTPConnection(proxy.hostname, proxy.port)
measure("proxy round trip (scraper)", pconn, "http://context-scraper.user1:8080/scrape/custom_search?term=skynet", expect=500)
