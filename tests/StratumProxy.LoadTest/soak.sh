#!/usr/bin/env bash
# The soak: the published proxy as a child process of `stratum-loadtest soak`, under miner churn, pool drops, a
# configuration edit every minute and the curtailment loop acting on simulated rigs, sampled every 10 s and judged
# at the end (docs/benchmarks.md, "Soak"). Prints one line, `soak PASS | …` or `soak FAIL: … | …`; exit code 0 on a pass.
#
#   tests/StratumProxy.LoadTest/soak.sh [soak options...]        e.g. --duration 3600 --sessions 2000 --rate 200
#
# Samples land in $SOAK_OUT/run/soak.csv and the report in $SOAK_OUT/run/soak.json (SOAK_OUT defaults to
# artifacts/soak), beside the proxy's configuration, log and data. SOAK_NO_BUILD=1 reuses the last published binaries.
set -euo pipefail
cd "$(dirname "$0")/../.."

out=${SOAK_OUT:-artifacts/soak}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [[ -z ${SOAK_NO_BUILD:-} ]]; then
    dotnet publish src/StratumProxy -c Release -o "$out/proxy" -v q --nologo
    dotnet publish tests/StratumProxy.LoadTest -c Release -o "$out/loadtest" -v q --nologo
fi

# Each side holds one descriptor per session; the default soft limit (1,024) is below a few thousand sessions.
ulimit -n "$(ulimit -Hn)"
rm -rf "$out/run"
exec dotnet "$out/loadtest/stratum-loadtest.dll" soak --proxy "$out/proxy/stratum-proxy" --dir "$out/run" "$@"
