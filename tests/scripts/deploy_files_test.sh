#!/usr/bin/env bash
# The deploy/ files are valid for the tools that read them: the systemd units
# pass `systemd-analyze verify` (with ExecStart pointed at the built
# binaries), Prometheus's configuration and alert rules pass promtool, and
# the Grafana files parse.
#
#   tests/scripts/deploy_files_test.sh SOURCE_DIR BIN_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
bin=$(cd "$2" && pwd)
work=$(mktemp -d /tmp/samsa-deploy-test-XXXXXX)
trap 'rm -rf "$work"' EXIT

for unit in "$src"/deploy/systemd/*.service; do
  sed "s|/usr/local/bin/|$bin/|" "$unit" >"$work/$(basename "$unit")"
done
out=$(systemd-analyze verify "$work"/*.service 2>&1) || { echo "$out"; exit 1; }
# verify exits 0 on some warnings; none is acceptable.
[[ -z $out ]] || { echo "$out"; exit 1; }

promtool check config "$src/deploy/prometheus/prometheus.yml"
promtool check rules "$src/deploy/prometheus/alerts.yml"

python3 - "$src/deploy/grafana/samsa-dashboard.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
assert d["uid"] and exprs, "a dashboard with queries"
assert all(t["datasource"]["uid"] == "samsa-prometheus"
           for p in d["panels"] for t in p.get("targets", [])), "one provisioned data source"
PY
grep -q "uid: samsa-prometheus" "$src/deploy/grafana/provisioning/datasources/prometheus.yml"
echo PASS
