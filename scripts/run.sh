#!/usr/bin/env bash
# The local cluster in one command: 3 controllers (a Raft quorum) and 3
# brokers on 127.0.0.1, with data, logs and pid files under ./var/.
#
#   scripts/run.sh          set up and build when needed, start the cluster,
#                           wait until it is healthy, run the user-clicks
#                           walkthrough, and leave the cluster running
#   scripts/run.sh status   each process (pid, ports) and the cluster
#   scripts/run.sh logs     the last lines of every log (logs -f: follow)
#   scripts/run.sh stop     SIGTERM everything (brokers first), wait, clean up
#
# Running it again while the cluster runs starts nothing new and runs the
# walkthrough again. Environment:
#   SAMSA_BASE_PORT  first port (default 9092): broker i listens on
#                    BASE+2i, controller i on BASE+1+2i, /metrics 100 higher
#                    (the defaults are deploy/config/*.properties')
#   SAMSA_BIN        where the binaries are (default build/bin, built if absent)
#   SAMSA_VAR        where data, logs and pid files go (default ./var)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
var=${SAMSA_VAR:-$root/var}
base=${SAMSA_BASE_PORT:-9092}
bin=${SAMSA_BIN:-$root/build/bin}
controllers=(1 2 3)
brokers=(101 102 103)

controller_port() { echo $((base + 1 + 2 * ($1 - 1))); }
broker_port() { echo $((base + 2 * ($1 - 101))); }
metrics_port() { echo $(($1 + 100)); }

quorum_voters() {
  local out=() i
  for i in "${controllers[@]}"; do out+=("$i@127.0.0.1:$(controller_port "$i")"); done
  (IFS=,; echo "${out[*]}")
}
quorum_bootstrap() {
  local out=() i
  for i in "${controllers[@]}"; do out+=("127.0.0.1:$(controller_port "$i")"); done
  (IFS=,; echo "${out[*]}")
}
bootstrap() {
  local out=() b
  for b in "${brokers[@]}"; do out+=("127.0.0.1:$(broker_port "$b")"); done
  (IFS=,; echo "${out[*]}")
}

# The pid in var/run/NAME.pid if that process is alive and still ours.
running_pid() {
  local file=$var/run/$1.pid pid
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ -n $pid ]] && alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$var/data/$1" || return 1
  echo "$pid"
}

samsa_cli() { "$bin/samsa" --bootstrap "$(bootstrap)" "$@"; }

# A group consumer without its "group G: assigned ..." lines; its other
# stderr is shown if it fails.
group_consume() {
  local err=$var/consume.err
  if ! samsa_cli consume "$@" 2>"$err"; then
    grep -v '^group ' "$err" >&2
    return 1
  fi
}

ensure_built() {
  if [[ -x $bin/samsa-controller && -x $bin/samsa-broker && -x $bin/samsa ]]; then return; fi
  if [[ -n ${SAMSA_BIN:-} ]]; then
    echo "run: SAMSA_BIN=$SAMSA_BIN has no samsa-controller, samsa-broker and samsa" >&2
    exit 1
  fi
  echo "run: no build yet: installing dependencies and building (a first build takes a while)"
  ./scripts/setup.sh
  ./scripts/build.sh
}

start_process() {  # NAME BINARY CONFIG OVERRIDES...
  local name=$1 binary=$2 config=$3
  shift 3
  if pid=$(running_pid "$name"); then
    echo "run: $name already running (pid $pid)"
    return
  fi
  mkdir -p "$var/data/$name" "$var/log" "$var/run"
  setsid "$bin/$binary" --config "$config" --override "data.dir=$var/data/$name" "$@" \
    >>"$var/log/$name.log" 2>&1 </dev/null &
  echo $! >"$var/run/$name.pid"
  echo "run: started $name (pid $!), log var/log/$name.log"
}

start() {
  local i b
  for i in "${controllers[@]}"; do
    start_process "controller-$i" samsa-controller "deploy/config/controller-$i.properties" \
      --override "listener=127.0.0.1:$(controller_port "$i")" \
      --override "metrics.listener=127.0.0.1:$(metrics_port "$(controller_port "$i")")" \
      --override "controller.quorum.voters=$(quorum_voters)"
  done
  for b in "${brokers[@]}"; do
    start_process "broker-$b" samsa-broker "deploy/config/broker-$b.properties" \
      --override "listener=127.0.0.1:$(broker_port "$b")" \
      --override "metrics.listener=127.0.0.1:$(metrics_port "$(broker_port "$b")")" \
      --override "controller.quorum.bootstrap=$(quorum_bootstrap)"
  done
}

# Until every broker is active and a controller leads (at most 60 s).
wait_healthy() {
  local deadline=$((SECONDS + 60)) described
  while ((SECONDS < deadline)); do
    if described=$(samsa_cli --request-timeout-ms 2000 --output json cluster describe 2>/dev/null) &&
      [[ $(grep -o '"state":"active"' <<<"$described" | wc -l) -eq ${#brokers[@]} ]] &&
      grep -q '"leader":true' <<<"$described"; then
      echo "run: cluster healthy: ${#controllers[@]} controllers, ${#brokers[@]} brokers active"
      return
    fi
    sleep 0.5
  done
  echo "run: the cluster did not become healthy within 60 s; see var/log/ ($0 logs)" >&2
  exit 1
}

walkthrough() {
  echo
  echo "== 1. A topic for click events: 6 partitions, each on 3 brokers"
  if ! samsa_cli topic describe user-clicks 2>/dev/null; then
    samsa_cli topic create user-clicks --partitions 6 --replication-factor 3
  fi

  echo
  echo "== 2. A producer sends clicks (key: the user; same user, same partition)"
  samsa_cli produce user-clicks --key-separator '|' --delivery-report - <<'EOF'
john.doe|{"user":"John Doe","page":"/product/42","action":"Buy Now"}
jane.roe|{"user":"Jane Roe","page":"/home","action":"view"}
john.doe|{"user":"John Doe","page":"/cart","action":"checkout"}
ali.khan|{"user":"Ali Khan","page":"/search?q=shoes","action":"search"}
mei.chen|{"user":"Mei Chen","page":"/product/7","action":"add to cart"}
jane.roe|{"user":"Jane Roe","page":"/product/42","action":"Buy Now"}
EOF

  echo
  echo "== 3. Group \"analytics\" reads the clicks it has not read yet (partition, key, value)"
  group_consume user-clicks --group analytics --from-beginning --max-messages 6 \
    --timeout-ms 15000 --print-partition --print-key

  echo
  echo "== 4. Group \"dashboard\" reads the same topic on its own, only 2 clicks so far"
  group_consume user-clicks --group dashboard --from-beginning --max-messages 2 \
    --timeout-ms 15000 --print-partition --print-key

  echo
  echo "== 5. Each group's committed offset per partition (lag: what it has not read)"
  local g
  for g in analytics dashboard; do
    echo "-- group $g"
    samsa_cli group describe "$g"
  done
}

usage_notes() {
  local i b
  cat <<EOF

The cluster keeps running. Try:
  export PATH=$bin:\$PATH SAMSA_BOOTSTRAP=$(bootstrap)
  samsa cluster describe
  samsa consume user-clicks --group analytics      # waits for new clicks; Ctrl-C to stop
  samsa produce user-clicks                        # one record per line
  samsa group list
  samsa perf produce user-clicks --records 100000 --record-size 100
  kill -9 \$(cat var/run/broker-101.pid)            # a broker dies; leaders move
  $0 status | logs | stop

Metrics (Prometheus):
EOF
  for i in "${controllers[@]}"; do
    echo "  controller-$i  http://127.0.0.1:$(metrics_port "$(controller_port "$i")")/metrics"
  done
  for b in "${brokers[@]}"; do
    echo "  broker-$b    http://127.0.0.1:$(metrics_port "$(broker_port "$b")")/metrics"
  done
}

status() {
  local name pid any=0
  for name in "${controllers[@]/#/controller-}" "${brokers[@]/#/broker-}"; do
    if pid=$(running_pid "$name"); then
      echo "$name: running (pid $pid)"
      any=1
    else
      echo "$name: stopped"
    fi
  done
  if ((any)); then
    echo
    samsa_cli --request-timeout-ms 3000 cluster describe || true
  fi
}

stop() {
  local name pid pids=() group
  # Brokers first: their controlled shutdown needs the controllers.
  for group in "${brokers[@]/#/broker-}" "--" "${controllers[@]/#/controller-}"; do
    if [[ $group == "--" ]]; then
      wait_gone "${pids[@]}"
      pids=()
      continue
    fi
    if pid=$(running_pid "$group"); then
      kill -TERM "$pid"
      pids+=("$pid")
      echo "run: stopping $group (pid $pid)"
    fi
    rm -f "$var/run/$group.pid"
  done
  wait_gone "${pids[@]}"
  echo "run: stopped (data kept in var/data; rm -rf var for a fresh cluster)"
}

# Whether PID runs (an exited process its parent has not reaped yet does not).
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $state && $state != Z* ]]
}

# Waits up to 30 s for PIDS to exit, then SIGKILLs what is left.
wait_gone() {
  local deadline=$((SECONDS + 30)) pid any
  while ((SECONDS < deadline)); do
    any=0
    for pid in "$@"; do alive "$pid" && any=1; done
    ((any)) || return 0
    sleep 0.1
  done
  for pid in "$@"; do
    if alive "$pid"; then
      echo "run: pid $pid did not stop within 30 s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

logs() {
  local follow=0 files=()
  [[ ${1:-} == "-f" ]] && follow=1
  shopt -s nullglob
  files=("$var"/log/*.log)
  if ((${#files[@]} == 0)); then
    echo "run: no logs yet (var/log is empty)"
    return
  fi
  if ((follow)); then tail -n 20 -F "${files[@]}"; else tail -n 20 "${files[@]}"; fi
}

case "${1:-start}" in
  start)
    ensure_built
    start
    wait_healthy
    walkthrough
    usage_notes
    ;;
  status) status ;;
  logs) logs "${2:-}" ;;
  stop) stop ;;
  *)
    echo "usage: $0 [start|status|logs [-f]|stop]" >&2
    exit 2
    ;;
esac
