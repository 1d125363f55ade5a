#!/usr/bin/env bash
# Latency of the sandbox API server and mesh proxy, measured with curl.
# Run inside a sandbox:  labctl sandbox --users 1 --mesh-delay 0s -- benches/sandbox_latency.sh
# Prints p50/p99 (ms) of GET and LIST with 1,000 ConfigMaps stored, and of a proxy round trip.
set -euo pipefail
: "${KUBECONFIG:?run me under labctl sandbox}"
API=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
NS=user1
N=${N:-1000}
RUNS=${RUNS:-200}

# Create N ConfigMaps over one keep-alive connection (one curl, many URLs).
body=$(mktemp); trap 'rm -f "$body"' EXIT
args=()
for i in $(seq 1 "$N"); do
  args+=(--next -s -o /dev/null -X POST -H 'Content-Type: application/json'
         -d "{\"metadata\":{\"name\":\"bench-$i\",\"labels\":{\"bench\":\"yes\"}},\"data\":{\"i\":\"$i\"}}"
         "$API/api/v1/namespaces/$NS/configmaps")
done
curl "${args[@]:1}"

# Times RUNS requests of URL (over one connection) and prints p50/p99 in ms.
measure() {
  local label=$1 url=$2 noproxy=$3
  local a=()
  for _ in $(seq 1 "$RUNS"); do a+=(--next -s -o /dev/null -w '%{time_total}\n' $noproxy "$url"); done
  curl "${a[@]:1}" | sort -n | awk -v label="$label" '
    { t[NR] = $1 * 1000 }
    END { printf "%-28s p50 %7.2f ms   p99 %7.2f ms   (n=%d)\n", label, t[int(NR*0.5)], t[int(NR*0.99)], NR }'
}

measure "GET configmap" "$API/api/v1/namespaces/$NS/configmaps/bench-500" "--noproxy *"
measure "LIST configmaps ($N)" "$API/api/v1/namespaces/$NS/configmaps" "--noproxy *"
measure "LIST label selector" "$API/api/v1/namespaces/$NS/configmaps?labelSelector=bench%3Dyes" "--noproxy *"
measure "proxy round trip (scraper)" "http://context-scraper.$NS:8080/scrape/custom_search?term=skynet" ""
