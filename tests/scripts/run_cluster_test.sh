#!/usr/bin/env bash
# End to end: ./scripts/run.sh in a temporary copy (with the built binaries)
# starts the 3+3 cluster and its walkthrough; a real Prometheus, with the
# scrape and alert configuration of deploy/prometheus/ pointed at it, scrapes
# every process; after a workload its HTTP API must show every target up
# and sensible throughput, ISR, controller and consumer lag series, and
# every metric the Grafana dashboard queries. `run.sh stop` must then leave
# no process and no listening port behind.
#
#   tests/scripts/run_cluster_test.sh SOURCE_DIR BIN_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
bin=$(cd "$2" && pwd)
work=$(mktemp -d /tmp/samsa-run-test-XXXXXX)
prom_pid=
base=
claims=()

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cleanup() {
  set +e
  [[ -n $prom_pid ]] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
  if [[ -d $work/copy/var/run ]]; then
    SAMSA_BIN=$bin SAMSA_BASE_PORT=$base bash "$work/copy/scripts/run.sh" stop >/dev/null 2>&1
    for f in "$work"/copy/var/run/*.pid; do [[ -f $f ]] && kill -9 "$(<"$f")" 2>/dev/null; done
  fi
  rm -rf "$work"
  for f in "${claims[@]}"; do rm -f "$f"; done
}
trap cleanup EXIT

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Ports are claimed as the C++ tests' harness does (tests/harness/process.cc):
# a file /tmp/samsa-test-ports/PORT holding the claiming pid, so concurrently
# running tests never pick the same one.
claim_port() {
  local file=/tmp/samsa-test-ports/$1 owner
  mkdir -p /tmp/samsa-test-ports
  for _ in 1 2; do
    if (set -o noclobber; echo $$ >"$file") 2>/dev/null; then
      claims+=("$file")
      return 0
    fi
    owner=$(cat "$file" 2>/dev/null || true)
    [[ -n $owner ]] && kill -0 "$owner" 2>/dev/null && return 1
    rm -f "$file"  # stale: its owner is gone
  done
  return 1
}

# A base port with all 12 ports (and Prometheus's) free and claimed.
for _ in $(seq 100); do
  candidate=$((20000 + (RANDOM % 590) * 20))
  ports=($(seq "$candidate" $((candidate + 5))) $(seq $((candidate + 100)) $((candidate + 106))))
  ok=1
  for p in "${ports[@]}"; do
    if port_in_use "$p" || ! claim_port "$p"; then ok=0; break; fi
  done
  if ((ok)); then base=$candidate; break; fi
  for f in "${claims[@]}"; do rm -f "$f"; done
  claims=()
done
[[ -n $base ]] || fail "no free port range"
prom_port=$((base + 106))

mkdir -p "$work/copy"
cp -r "$src/scripts" "$src/deploy" "$work/copy/"
run() { SAMSA_BIN=$bin SAMSA_BASE_PORT=$base bash "$work/copy/scripts/run.sh" "$@"; }

echo "== run.sh (ports from $base)"
rc=0
run >"$work/run.out" 2>&1 || rc=$?
((rc == 0)) || { cat "$work/run.out"; fail "run.sh exited $rc"; }
out=$(<"$work/run.out")
for want in "cluster healthy: 3 controllers, 3 brokers active" '"user":"John Doe"' \
  'Group "analytics"' 'Group "dashboard"' "-- group analytics" "-- group dashboard" \
  "TOPIC        PARTITION  COMMITTED  LOG-END  LAG  OWNER" \
  "http://127.0.0.1:$((base + 100))/metrics" "http://127.0.0.1:$((base + 101))/metrics"; do
  grep -qF -- "$want" <<<"$out" || { echo "$out"; fail "run.sh output lacks: $want"; }
done
# group_lag GROUP FILE: the sum of GROUP's lag column in run.sh's output.
group_lag() {
  awk -v g="$1" '$0 == "-- group " g {on=1; next} /^-- group/ {on=0}
    on && $1 == "user-clicks" {s += $5} END {print s + 0}' "$2"
}
# The dashboard group read 2 of the 6 clicks, analytics all of them.
[[ $(group_lag dashboard "$work/run.out") == 4 ]] || fail "group dashboard's lag is not 4"
[[ $(group_lag analytics "$work/run.out") == 0 ]] || fail "group analytics's lag is not 0"

echo "== run.sh again and status: nothing new starts"
run >"$work/run2.out" 2>&1 || { cat "$work/run2.out"; fail "a second run.sh failed"; }
[[ $(grep -c "already running" "$work/run2.out") == 6 ]] || fail "a second run.sh started processes"
# 6 more clicks: analytics reads them from its committed offsets, dashboard 2.
[[ $(group_lag dashboard "$work/run2.out") == 8 ]] || fail "group dashboard's lag is not 8"
[[ $(group_lag analytics "$work/run2.out") == 0 ]] || fail "group analytics's lag is not 0"
status=$(run status)
[[ $(grep -c ": running (pid" <<<"$status") == 6 ]] || { echo "$status"; fail "status"; }

echo "== Prometheus with deploy/prometheus/, scraping every second"
mkdir -p "$work/prom"
cp "$src/deploy/prometheus/alerts.yml" "$work/prom/"
sed_args=(-e "s/scrape_interval: 10s/scrape_interval: 1s/" -e "s/evaluation_interval: 10s/evaluation_interval: 1s/")
for i in 1 2 3; do
  sed_args+=(-e "s/samsa-$i:9192/127.0.0.1:$((base + 100 + 2 * (i - 1)))/"
    -e "s/samsa-$i:9193/127.0.0.1:$((base + 101 + 2 * (i - 1)))/")
done
sed "${sed_args[@]}" "$src/deploy/prometheus/prometheus.yml" >"$work/prom/prometheus.yml"
grep -q "samsa-[0-9]:" "$work/prom/prometheus.yml" && fail "a target was not rewritten"
promtool check config "$work/prom/prometheus.yml" >/dev/null
prometheus --config.file="$work/prom/prometheus.yml" --storage.tsdb.path="$work/prom/data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prom/prometheus.log" 2>&1 &
prom_pid=$!
api=http://127.0.0.1:$prom_port/api/v1

# query EXPR: the value of a one-sample instant query ("" when empty).
query() {
  curl -s --max-time 5 "$api/query" --data-urlencode "query=$1" |
    python3 -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")'
}
# until EXPR DESCRIPTION: waits up to 60 s for EXPR (a filter) to return a sample.
until_true() {
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    [[ -n $(query "$1" 2>/dev/null) ]] && return 0
    sleep 1
  done
  fail "$2 (never true: $1)"
}

until_true 'count(up{job=~"samsa-.*"} == 1) == 6' "every controller and broker target is up"
curl -s "$api/targets" | python3 -c 'import json,sys
t = json.load(sys.stdin)["data"]["activeTargets"]
down = [x["scrapeUrl"] for x in t if x["health"] != "up"]
assert len(t) == 6 and not down, (len(t), down)'

echo "== a workload: 200000 records, read by group analytics"
SAMSA_BOOTSTRAP="127.0.0.1:$base,127.0.0.1:$((base + 2)),127.0.0.1:$((base + 4))"
export SAMSA_BOOTSTRAP
"$bin/samsa" perf produce user-clicks --records 200000 --record-size 100 --throughput 50000 \
  >"$work/perf.out" 2>&1 || { cat "$work/perf.out"; fail "perf produce"; }

until_true 'sum(increase(samsa_broker_records_in_total{topic="user-clicks"}[1m])) > 100000' \
  "brokers count the records produced"
until_true 'sum(rate(samsa_broker_requests_total{api="Produce"}[1m])) > 0' "produce requests"
until_true 'count(histogram_quantile(0.99, sum by (le, api) (rate(samsa_broker_request_seconds_bucket{api="Produce"}[1m]))) > 0)' \
  "a produce latency p99"
until_true 'sum(samsa_broker_under_replicated_partitions) == 0' "every partition fully replicated"
until_true 'sum(samsa_broker_leaderships) >= 6' "user-clicks has 6 leaders among the brokers"
until_true 'max(samsa_controller_offline_partitions) == 0' "no offline partition"
until_true 'sum(samsa_controller_active) == 1' "exactly one active controller"
until_true 'count(samsa_raft_term) == 3 and max(samsa_raft_term) > 0' "three Raft voters in a term"
until_true 'max(samsa_controller_brokers_active) == 3' "three active brokers"
# Nobody read the new records yet: both groups lag by them, dashboard by 8 more.
until_true 'sum(samsa_broker_consumer_lag_records{group="dashboard"}) == 200008' \
  "group dashboard lags by the 200000 new records and the 8 it left"
until_true 'sum(samsa_broker_consumer_lag_records{group="analytics"}) == 200000' \
  "group analytics lags by the 200000 new records"
"$bin/samsa" consume user-clicks --group analytics --max-messages 200000 --timeout-ms 20000 \
  >/dev/null 2>"$work/consume.err" || { cat "$work/consume.err"; fail "consume"; }
until_true 'sum(samsa_broker_consumer_lag_records{group="analytics"}) == 0' \
  "group analytics caught up: no lag"
until_true 'sum(samsa_broker_consumer_lag_records{group="dashboard"}) == 200008' \
  "group dashboard's lag is its own"
until_true 'sum(increase(samsa_broker_records_out_total{topic="user-clicks"}[1m])) > 100000' \
  "brokers count the records fetched"
until_true 'count(samsa_build_info == 1) == 6' "every process exports its build info"

echo "== every metric the dashboard queries exists"
python3 - "$src/deploy/grafana/samsa-dashboard.json" >"$work/dashboard-metrics" <<'EOF'
import json, re, sys
names = set()
def walk(panels):
    for p in panels:
        walk(p.get("panels", []))
        for t in p.get("targets", []):
            names.update(re.findall(r"\bsamsa_[a-z_]+", t["expr"]))
walk(json.load(open(sys.argv[1]))["panels"])
print("\n".join(sorted(names)))
EOF
[[ -s $work/dashboard-metrics ]] || fail "the dashboard queries no metric"
while read -r name; do
  until_true "count({__name__=\"$name\"}) > 0" "the dashboard's metric $name exists"
done <"$work/dashboard-metrics"
echo "   $(wc -l <"$work/dashboard-metrics") metrics"

echo "== promtool check metrics on every process"
for p in $(seq $((base + 100)) $((base + 105))); do
  curl -s --max-time 5 "http://127.0.0.1:$p/metrics" | promtool check metrics ||
    fail "promtool check metrics on :$p"
done

echo "== run.sh stop"
pids=$(cat "$work"/copy/var/run/*.pid)
run stop >"$work/stop.out" 2>&1 || { cat "$work/stop.out"; fail "run.sh stop"; }
for pid in $pids; do
  state=$(ps -o stat= -p "$pid" 2>/dev/null || true)
  [[ -z $state || $state == Z* ]] || fail "pid $pid still runs after stop"
done
for p in $(seq "$base" $((base + 5))) $(seq $((base + 100)) $((base + 105))); do
  port_in_use "$p" && fail "port $p still listens after stop"
done
ls "$work"/copy/var/run/*.pid >/dev/null 2>&1 && fail "pid files left behind"
echo "PASS"
