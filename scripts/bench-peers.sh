#!/usr/bin/env bash
# Samsa against the systems a user would pick instead, on this machine in
# one run: NATS JetStream (nats-server, 1 server and a 3-server cluster) and
# Redis Streams (redis-server), each started here on 127.0.0.1 with its data
# in a temporary directory, driven by bench/peers/ (libnats, hiredis) with
# the same message sizes and counts as `samsa perf`.
#
#   scripts/bench-peers.sh [--record] [--quick] [--profile]
#
# Workloads: (1) produce, one producer, no replication; (2) produce with
# replication 3 (Samsa acks=all with min.insync.replicas 2; JetStream R3;
# Redis has no replication); (3) catch-up consume of what (1) wrote;
# (4) end to end at 10,000 msg/s of 1 KiB, replicated. Durable: Samsa
# flush.policy=always, Redis appendfsync always; relaxed: Samsa os, Redis
# everysec. nats-server 2.9 (Debian 12's) has no per-message fsync
# (sync_interval arrived in 2.10): its rows are the same in both. Each
# driver is set for what the workload measures: Samsa's producer batches
# 256 KiB (2,400 records of 100 B, 250 of 1 KiB: with five batches in
# flight, smaller ones leave the window too short to cover each request's
# fsync) with linger 5 ms, and lingers 1 ms end to end; the JetStream
# driver keeps 1,024 publishes in flight, the Redis one pipelines.
# Prints a markdown table (figure and Samsa/peer ratio per row) and the
# broker's RSS at start and end; --record appends them to
# docs/benchmarks.md with date, commit and machine. --quick: a tenth of the
# records, to try the script. --profile: a CPU profile (`perf record -e
# cpu-clock`) of the leader broker during a replicated 100-byte produce
# run, its hottest functions printed (and recorded) after the table.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
record=0
scale=1
profile=0
for arg in "$@"; do
  case $arg in
    --record) record=1 ;;
    --quick) scale=10 ;;
    --profile) profile=1 ;;
    *) echo "usage: $0 [--record] [--quick] [--profile]" >&2; exit 2 ;;
  esac
done
n_small=$((500000 / scale))  # 100-byte records
n_large=$((100000 / scale))  # 1 KiB records
e2e_rate=10000
e2e_n=$((100000 / scale))

./scripts/setup.sh >/dev/null
[[ -d build ]] || ./scripts/build.sh
cmake --build build -j "${JOBS:-2}" --target samsa samsa-broker samsa-controller \
  samsa-bench-nats samsa-bench-redis >/dev/null
bin=$root/build/bin

work=$(mktemp -d "${TMPDIR:-/tmp}/samsa-peers-XXXXXX")
pids=()
samsa_started=0
cleanup() {
  if ((samsa_started)); then SAMSA_VAR=$work/samsa SAMSA_BASE_PORT=$base ./scripts/run.sh stop >/dev/null 2>&1 || true; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A base port with the 400 above it free (Samsa uses base..base+105, the
# peers base+200..base+310).
base=
for _ in $(seq 50); do
  candidate=$((20000 + (RANDOM % 100) * 400))
  ok=1
  for p in $(seq "$candidate" 10 $((candidate + 399))); do port_free "$p" || { ok=0; break; }; done
  if ((ok)); then base=$candidate; break; fi
done
[[ -n $base ]] || { echo "bench-peers: no free port range" >&2; exit 1; }

wait_port() {
  for _ in $(seq 100); do port_free "$1" || return 0; sleep 0.1; done
  echo "bench-peers: nothing listens on $1" >&2
  exit 1
}

echo "== starting Samsa (3 controllers, 3 brokers), JetStream (1 and 3 servers), Redis (2)" >&2
SAMSA_VAR=$work/samsa SAMSA_BASE_PORT=$base SAMSA_BIN=$bin ./scripts/run.sh >"$work/run.log" 2>&1
samsa_started=1
bootstrap="127.0.0.1:$base,127.0.0.1:$((base + 2)),127.0.0.1:$((base + 4))"
samsa() { "$bin/samsa" --bootstrap "$bootstrap" "$@"; }
broker_pid=$(<"$work/samsa/run/broker-101.pid")
# Resident KiB: all, heap and other anonymous memory, file mappings (the
# binary's libraries and the segment indexes, which grow with the log).
rss_kib() { awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s ", $2}' "/proc/$1/status"; }
rss_start=$(rss_kib "$broker_pid")

nats1=$((base + 200))
mkdir -p "$work/nats1"
nats-server -js -a 127.0.0.1 -p "$nats1" -sd "$work/nats1" -n single >"$work/nats1.log" 2>&1 &
pids+=($!)
routes=""
for i in 1 2 3; do routes+="${routes:+,}nats://127.0.0.1:$((base + 220 + i))"; done
for i in 1 2 3; do
  mkdir -p "$work/nats3-$i"
  nats-server -js -a 127.0.0.1 -p $((base + 210 + i)) -sd "$work/nats3-$i" -n "node-$i" \
    --cluster_name bench --cluster "nats://127.0.0.1:$((base + 220 + i))" --routes "$routes" \
    >"$work/nats3-$i.log" 2>&1 &
  pids+=($!)
done
nats3=$((base + 211))
redis_always=$((base + 300))
redis_everysec=$((base + 301))
for mode in always everysec; do
  port=$redis_always
  [[ $mode == everysec ]] && port=$redis_everysec
  mkdir -p "$work/redis-$mode"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$work/redis-$mode" --save "" \
    --appendonly yes --appendfsync "$mode" >"$work/redis-$mode.log" 2>&1 &
  pids+=($!)
done
for p in "$nats1" "$nats3" $((base + 212)) $((base + 213)) "$redis_always" "$redis_everysec"; do
  wait_port "$p"
done
# The 3-server JetStream cluster needs a meta leader before streams.
for _ in $(seq 100); do
  grep -q "JetStream cluster new metadata leader\|Self is new JetStream cluster metadata leader" \
    "$work"/nats3-*.log && break
  sleep 0.2
done

# topic NAME REPLICATION FLUSH: a one-partition Samsa topic.
topic() {
  samsa topic create "$1" --partitions 1 --replication-factor "$2" \
    --config "flush.policy=$3" --config min.insync.replicas=$(($2 > 1 ? 2 : 1)) >/dev/null
}
# Figures of one run, as JSON; a failed run is reported and yields {}.
# Each run starts with nothing left to write back: the runs before leave
# hundreds of MB of dirty pages, and the kernel's writeback of them (30 s
# after they were written) overlapping a run slows it by as much as 40 %
# and queues a latency run's fsyncs behind it (docs/benchmarks.md).
run() {
  local out
  sync
  if out=$("$@" 2>>"$work/errors.log"); then
    echo "$out" | tail -n 1
  else
    echo "bench-peers: failed: $*" >&2
    echo "{}"
  fi
}
samsa_perf() { run "$bin/samsa" --bootstrap "$bootstrap" --output json perf "$@"; }
nats_bench() { run "$bin/samsa-bench-nats" "$@"; }
redis_bench() { run "$bin/samsa-bench-redis" "$@"; }

results=$work/results.jsonl
note() {  # note WORKLOAD SIZE DURABILITY SYSTEM JSON
  printf '{"workload":"%s","size":%s,"durability":"%s","system":"%s","r":%s}\n' "$@" >>"$results"
}

samsa_batch=262144
samsa_e2e_linger_ms=1
for size in 100 1024; do
  n=$n_small
  ((size == 1024)) && n=$n_large
  for durability in durable relaxed; do
    flush=always redis=$redis_always
    [[ $durability == relaxed ]] && flush=os redis=$redis_everysec
    echo "== produce, no replication, $size B, $durability" >&2
    topic "p1-$size-$durability" 1 "$flush"
    note produce-1 "$size" "$durability" samsa \
      "$(samsa_perf produce "p1-$size-$durability" --records "$n" --record-size "$size" --acks all \
        --batch-size "$samsa_batch")"
    note produce-1 "$size" "$durability" jetstream \
      "$(nats_bench --url "nats://127.0.0.1:$nats1" --mode produce --stream "p1-$size-$durability" \
        --records "$n" --record-size "$size")"
    note produce-1 "$size" "$durability" redis \
      "$(redis_bench --port "$redis" --mode produce --stream "p1-$size" --records "$n" --record-size "$size")"

    echo "== produce, replication 3, $size B, $durability" >&2
    topic "p3-$size-$durability" 3 "$flush"
    note produce-3 "$size" "$durability" samsa \
      "$(samsa_perf produce "p3-$size-$durability" --records "$n" --record-size "$size" --acks all \
        --batch-size "$samsa_batch")"
    note produce-3 "$size" "$durability" jetstream \
      "$(nats_bench --url "nats://127.0.0.1:$nats3" --mode produce --stream "p3-$size-$durability" \
        --records "$n" --record-size "$size" --replicas 3)"
  done
  echo "== catch-up consume, $size B" >&2
  note consume "$size" durable samsa "$(samsa_perf consume "p1-$size-durable" --records "$n")"
  note consume "$size" durable jetstream \
    "$(nats_bench --url "nats://127.0.0.1:$nats1" --mode consume --stream "p1-$size-durable" \
      --records "$n" --record-size "$size")"
  note consume "$size" durable redis \
    "$(redis_bench --port "$redis_always" --mode consume --stream "p1-$size" --records "$n" --record-size "$size")"
done

hot=""
if ((profile)); then
  echo "== CPU profile of the leader during a replicated 100 B produce" >&2
  topic profiled 3 always
  leader=$(samsa --output json topic describe profiled |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["partitions"][0]["leader"])')
  leader_pid=$(<"$work/samsa/run/broker-$leader.pid")
  perf record -e cpu-clock -g -o "$work/perf.data" -p "$leader_pid" >/dev/null 2>&1 &
  perf_pid=$!
  samsa_perf produce profiled --records "$n_small" --record-size 100 --acks all >/dev/null
  kill -INT "$perf_pid"
  wait "$perf_pid" 2>/dev/null || true
  # (head closes the pipe early: not a failure)
  hot=$(perf report -i "$work/perf.data" --stdio --no-children --sort symbol -g none 2>/dev/null |
    grep -E '^ +[0-9.]+%' | head -n 15 | sed -E 's/^ +/    /; s/ +- +- *$//; s/ +$//') || true
fi

echo "== end to end, $e2e_rate msg/s of 1 KiB, replicated, durable" >&2
topic e2e 3 always
note e2e 1024 durable samsa \
  "$(samsa_perf e2e e2e --records "$e2e_n" --record-size 1024 --throughput "$e2e_rate" --acks all \
    --linger-ms "$samsa_e2e_linger_ms")"
note e2e 1024 durable jetstream \
  "$(nats_bench --url "nats://127.0.0.1:$nats3" --mode e2e --stream e2e --records "$e2e_n" \
    --record-size 1024 --replicas 3 --throughput "$e2e_rate")"
note e2e 1024 durable redis \
  "$(redis_bench --port "$redis_always" --mode e2e --stream e2e --records "$e2e_n" \
    --record-size 1024 --throughput "$e2e_rate")"
rss_end=$(rss_kib "$broker_pid")

table=$(python3 - "$results" "$rss_start" "$rss_end" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
fig = {}
for r in rows:
    fig[(r["workload"], r["size"], r["durability"], r["system"])] = r["r"]
def rate(k):
    r = fig.get(k) or {}
    return r.get("records_per_sec") if r.get("errors", 1) == 0 else None
def fmt(v):
    return "failed" if v is None else f"{v:,.0f}/s"
def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"
out = ["| workload | size | durability | Samsa | JetStream | Redis | Samsa/JetStream | Samsa/Redis |",
       "| --- | --- | --- | --- | --- | --- | --- | --- |"]
names = {"produce-1": "produce, no replication", "produce-3": "produce, replication 3",
         "consume": "catch-up consume"}
for w in ("produce-1", "produce-3", "consume"):
    for size in (100, 1024):
        for d in (("durable", "relaxed") if w != "consume" else ("durable",)):
            s, j = rate((w, size, d, "samsa")), rate((w, size, d, "jetstream"))
            rd = rate((w, size, d, "redis")) if w != "produce-3" else None
            redis = fmt(rd) if w != "produce-3" else "no replication"
            out.append(f"| {names[w]} | {size} B | {d} | {fmt(s)} | {fmt(j)} | {redis} | "
                       f"{ratio(s, j)} | {ratio(s, rd)} |")
out.append("")
out.append("| end to end, 10,000 msg/s of 1 KiB, replicated, durable | p50 | p99 | p99.9 | max |")
out.append("| --- | --- | --- | --- | --- |")
for system, name in (("samsa", "Samsa (RF 3, acks=all, flush always)"),
                     ("jetstream", "JetStream (R3)"), ("redis", "Redis (appendfsync always, no replication)")):
    r = fig.get(("e2e", 1024, "durable", system)) or {}
    if not r or r.get("errors", 1) != 0:
        out.append(f"| {name} | failed | | | |")
        continue
    out.append(f"| {name} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | "
               f"{r['p999_ms']:.2f} ms | {r['max_ms']:.2f} ms |")
out.append("")
def rss(kib):
    total, anon, files = (int(v) / 1024 for v in kib.split())
    return f"{total:.0f} MiB (anonymous {anon:.0f}, file-backed {files:.0f})"
out.append(f"Broker 101 RSS: {rss(sys.argv[2])} at the start, {rss(sys.argv[3])} at the end.")
print("\n".join(out))
PY
)
echo "$table"
if [[ -n $hot ]]; then
  printf '\nHottest functions of the leader broker (perf record -e cpu-clock, self time):\n\n%s\n' "$hot"
fi
if [[ -s $work/errors.log ]]; then
  echo "bench-peers: what the drivers printed on stderr:" >&2
  tail -n 20 "$work/errors.log" >&2
fi
if ((record)); then
  {
    echo
    echo "## Against NATS JetStream and Redis Streams ($(date -u +%F), commit $(git rev-parse --short HEAD))"
    echo
    echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),"
    echo "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME");"
    echo "nats-server $(nats-server --version | awk '{print $2}'), redis-server $(redis-server --version | awk '{print $3}' | cut -d= -f2)."
    echo "Command: \`scripts/bench-peers.sh $*\`; $n_small records of 100 B, $n_large of 1 KiB,"
    echo "one-partition topics and single streams, every server and client on this machine."
    echo "Samsa's producer: batch.size $((samsa_batch / 1024)) KiB,"
    echo "linger 5 ms; end to end, linger $samsa_e2e_linger_ms ms. JetStream: 1,024 publishes in flight; Redis: pipelined."
    echo
    echo "$table"
    if [[ -n $hot ]]; then
      printf '\nHottest functions of the leader broker during a replicated 100 B produce\n'
      printf '(`--profile`: perf record -e cpu-clock -g, self time):\n\n%s\n' "$hot"
    fi
  } >>docs/benchmarks.md
  echo "bench-peers: appended to docs/benchmarks.md" >&2
fi
