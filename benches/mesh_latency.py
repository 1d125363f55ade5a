#!/usr/bin/env python3
"""Kiali graph API and ingress TLS latency in the sandbox, over loopback.

Run inside a sandbox (release build for the figures in BENCHMARKS.md):
    target/release/labctl sandbox --users 1 --mesh-delay 0s -- python3 benches/mesh_latency.py
Records N scraper requests (default 10,000; each is two records, the request and its
blocked upstream call), then prints p50/p99 of the graph API over them, and of an HTTPS
request through the proxy's CONNECT to the ingress gateway (SIMPLE TLS, a new tunnel and
handshake each time, as curl makes).
"""
import http.client, os, ssl, statistics, subprocess, tempfile, time, urllib.parse

N = int(os.environ.get("N", "10000"))
RUNS = int(os.environ.get("RUNS", "200"))
proxy = urllib.parse.urlparse(os.environ["http_proxy"])
KIALI = "kiali-user1-istio.apps.sandbox.local"
GW = "istio-ingressgateway-user1-istio.apps.sandbox.local"

def pct(ts):
    ts = sorted(ts)
    return ts[len(ts) // 2] * 1000, ts[int(len(ts) * 0.99) - 1] * 1000

c = http.client.HTTPConnection(proxy.hostname, proxy.port)
for _ in range(N):
    c.request("GET", "http://context-scraper.user1:8080/scrape/custom_search?term=x")
    c.getresponse().read()
times = []
for _ in range(RUNS):
    t = time.perf_counter()
    c.request("GET", f"http://{KIALI}/kiali/api/namespaces/graph?namespaces=user1&graphType=workload&duration=600s")
    r = c.getresponse(); r.read()
    assert r.status == 200
    times.append(time.perf_counter() - t)
print("graph API over %d requests: p50 %.2f ms, p99 %.2f ms" % ((N,) + pct(times)))

d = tempfile.mkdtemp()
sh = lambda cmd: subprocess.run(cmd, shell=True, check=True, cwd=d, capture_output=True)
sh("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=ca -keyout ca.key -out ca.crt")
sh(f"openssl req -newkey rsa:2048 -nodes -subj /CN={GW} -keyout s.key -out s.csr")
sh(f"printf 'subjectAltName=DNS:{GW}' > ext && openssl x509 -req -in s.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile ext -out s.crt")
sh("kubectl create secret tls bench-cred -n user1-istio --cert=s.crt --key=s.key")
gw = """apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bench}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: bench-cred}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bench}
spec:
  hosts: ["*"]
  gateways: [bench]
  http:
  - route: [{destination: {host: context-scraper, port: {number: 8080}}}]
"""
open(os.path.join(d, "gw.yaml"), "w").write(gw)
sh("kubectl apply -n user1 -f gw.yaml")
ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))
times = []
for _ in range(RUNS):
    t = time.perf_counter()
    s = http.client.HTTPSConnection(proxy.hostname, proxy.port, context=ctx)
    s.set_tunnel(GW, 443)
    s.request("GET", "/healthz")
    r = s.getresponse(); r.read(); s.close()
    assert r.status == 200, r.status
    times.append(time.perf_counter() - t)
print("TLS request through CONNECT (new tunnel + handshake each): p50 %.2f ms, p99 %.2f ms" % pct(times))
