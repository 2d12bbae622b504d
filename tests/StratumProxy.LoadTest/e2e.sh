#!/usr/bin/env bash
# End-to-end figures: the validating test pool, the published proxy and the load tool, each its own process.
#
#   tests/StratumProxy.LoadTest/e2e.sh FIGURE [load-tool options...]
#
# FIGURE is one of
#   throughput   1,000 sessions, 8 submits in flight each, as fast as answers come back (answered per proxy CPU-second)
#   latency      1,000 sessions at 2,000 submits/s (p50/p99/p999)
#   memory       10,000 sessions, jobs every 3 s, a submit per session every 20 s (RSS and managed heap per session)
#   fanout       10,000 sessions, a clean job every 3 s stamped by the pool (pool notify to each miner's copy)
#   external     the throughput load against another proxy that is already running in front of a pool
#                (`stratum-loadtest pool`): TARGET=host:port, and TARGET_PID for its CPU and RSS; no pool or proxy
#                is started
#
# Extra arguments go to `stratum-loadtest run` and override the figure's. Reports land in $E2E_OUT (artifacts/e2e).
# E2E_NO_BUILD=1 reuses the last published binaries. PROXY_ENV="NAME=value ..." sets environment variables for
# the proxy alone, e.g. PROXY_ENV=DOTNET_gcServer=1 to try Server GC (the proxy runs Workstation GC by default).
set -euo pipefail
cd "$(dirname "$0")/../.."

figure=${1:?usage: e2e.sh throughput|latency|memory|fanout|external [load-tool options]}
shift
out=${E2E_OUT:-artifacts/e2e}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [[ -z ${E2E_NO_BUILD:-} ]]; then
    dotnet publish src/StratumProxy -c Release -o "$out/proxy" -v q --nologo
    dotnet publish tests/StratumProxy.LoadTest -c Release -o "$out/loadtest" -v q --nologo
fi

# Each side holds one descriptor per session; the default soft limit (1,024) is far below 10,000.
ulimit -n "$(ulimit -Hn)"

difficulty=1            # random nonces at difficulty 1: every submit is parsed, validated and answered (23)
job_interval=5
clean_every=4
stamp=()
case $figure in
    # A job a second: the proxy's duplicate filter holds at most 262,144 shares per job, and beyond that answers
    # "too many shares for this job" (code 20) before validating.
    throughput) load=(--sessions 1000 --window 8 --warmup 5 --duration 20); job_interval=1 ;;
    latency) load=(--sessions 1000 --window 8 --rate 2000 --warmup 5 --duration 30) ;;
    memory) load=(--sessions 10000 --window 8 --rate 500 --connect-rate 2000 --settle 10 --duration 60); job_interval=3 ;;
    fanout) load=(--sessions 10000 --window 8 --rate 500 --connect-rate 2000 --settle 5 --duration 60); job_interval=3; clean_every=1; stamp=(--stamp) ;;
    external) load=(--sessions 1000 --window 8 --warmup 5 --duration 20); job_interval=1 ;;
    *) echo "unknown figure $figure" >&2; exit 2 ;;
esac

pids=()
work=
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [[ -n $work ]] && rm -rf "$work"
}
trap cleanup EXIT

wait_for() { # file pattern → first match
    for _ in $(seq 1 600); do
        if line=$(grep -m1 -o "$2" "$1" 2>/dev/null); then echo "$line"; return 0; fi
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}

if [[ $figure == external ]]; then
    target=${TARGET:?set TARGET=host:port of the proxy under test}
    pool=external
    probe=()
    [[ -n ${TARGET_PID:-} ]] && probe=(--proxy-pid "$TARGET_PID")
else
    # A log left by an earlier run would be read before the new process truncates it (wait_for polls at once).
    rm -f "$out/$figure.pool.log" "$out/$figure.proxy.log"
    dotnet "$out/loadtest/stratum-loadtest.dll" pool --port 0 --difficulty "$difficulty" \
        --job-interval "$job_interval" --clean-every "$clean_every" "${stamp[@]}" >"$out/$figure.pool.json" 2>"$out/$figure.pool.log" &
    pids+=($!)
    pool=$(wait_for "$out/$figure.pool.log" '127\.0\.0\.1:[0-9]*')

    work=$(mktemp -d)
    (cd "$work" && exec env ${PROXY_ENV:-} "$out/proxy/stratum-proxy" run --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
        --pool "stratum+tcp://$pool" --user loadtest \
        --start-difficulty "$difficulty" --min-difficulty "$difficulty" --max-difficulty "$difficulty") >"$out/$figure.proxy.log" 2>&1 &
    proxy_pid=$!
    pids+=($proxy_pid)
    target=$(wait_for "$out/$figure.proxy.log" 'Listening for miners on 127\.0\.0\.1:[0-9]*' | grep -o '127.*')
    admin=$(wait_for "$out/$figure.proxy.log" 'Admin endpoint on http://[0-9.:]*' | grep -o 'http.*')
    probe=(--proxy-pid "$proxy_pid" --proxy-metrics "$admin/metrics")
    wait_for "$out/$figure.proxy.log" 'ready at stratum' >/dev/null
fi

echo "figure=$figure pool=$pool target=$target load: $(uptime)" >&2
dotnet "$out/loadtest/stratum-loadtest.dll" run --target "$target" "${probe[@]}" "${load[@]}" "$@" --out "$out/$figure.json" >/dev/null
echo "report: $out/$figure.json   load after: $(uptime)" >&2
