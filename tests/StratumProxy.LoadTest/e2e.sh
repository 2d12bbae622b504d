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
#   storm        10,000 miners connecting at 2,000 a second onto two pools of one priority and weight (a failover's
#                reconnect storm onto a weighted tier: the proxy's CPU seconds over the run, miners per pool)
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
    storm) load=(--sessions 10000 --window 8 --rate 100 --connect-rate 2000 --settle 2 --duration 5); job_interval=3 ;;
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
    rm -f "$out/$figure.pool.log" "$out/$figure.pool2.log" "$out/$figure.proxy.log"
    start_pool() { # name → the pool's address
        dotnet "$out/loadtest/stratum-loadtest.dll" pool --port 0 --difficulty "$difficulty" \
            --job-interval "$job_interval" --clean-every "$clean_every" "${stamp[@]}" >"$out/$figure.$1.json" 2>"$out/$figure.$1.log" &
        pids+=($!)
    }
    start_pool pool
    pool=$(wait_for "$out/$figure.pool.log" '127\.0\.0\.1:[0-9]*')

    work=$(mktemp -d)
    pools=(--pool "stratum+tcp://$pool" --user loadtest)
    if [[ $figure == storm ]]; then
        # Two pools of one priority, weight 1 each: every miner placed is weighed against the tier's load.
        start_pool pool2
        pool2=$(wait_for "$out/$figure.pool2.log" '127\.0\.0\.1:[0-9]*')
        cat >"$work/storm.json" <<JSON
{ "Proxy": { "Pools": [
  { "Name": "a", "Url": "stratum+tcp://$pool", "User": "loadtest", "Priority": 0, "Weight": 1 },
  { "Name": "b", "Url": "stratum+tcp://$pool2", "User": "loadtest", "Priority": 0, "Weight": 1 } ] } }
JSON
        pools=(--config storm.json)
    fi

    (cd "$work" && exec env ${PROXY_ENV:-} "$out/proxy/stratum-proxy" run --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
        "${pools[@]}" \
        --start-difficulty "$difficulty" --min-difficulty "$difficulty" --max-difficulty "$difficulty") >"$out/$figure.proxy.log" 2>&1 &
    proxy_pid=$!
    pids+=($proxy_pid)
    target=$(wait_for "$out/$figure.proxy.log" 'Listening for miners on 127\.0\.0\.1:[0-9]*' | grep -o '127.*')
    admin=$(wait_for "$out/$figure.proxy.log" 'Admin endpoint on http://[0-9.:]*' | grep -o 'http.*')
    probe=(--proxy-pid "$proxy_pid" --proxy-metrics "$admin/metrics")
    wait_for "$out/$figure.proxy.log" 'ready at stratum' >/dev/null
fi

echo "figure=$figure pool=$pool target=$target load: $(uptime)" >&2
if [[ $figure == storm ]]; then
    # Where the miners went: one reading of the proxy's miners per pool a second after the load tool has them all
    # ready (no scrape while they connect, so the proxy's CPU over the run is the storm's own).
    rm -f "$out/storm.run.log" "$out/storm.miners"
    (wait_for "$out/storm.run.log" 'sessions ready' >/dev/null && sleep 1 && curl -s "$admin/metrics" | grep '^stratumproxy_pool_miners' >"$out/storm.miners") &
    pids+=($!)
    dotnet "$out/loadtest/stratum-loadtest.dll" run --target "$target" "${probe[@]}" "${load[@]}" "$@" --out "$out/$figure.json" >/dev/null 2> >(tee "$out/storm.run.log" >&2)
    echo "miners per pool a second after all were ready: $(tr '\n' ' ' <"$out/storm.miners" 2>/dev/null)" >&2
    echo "the proxy's CPU seconds over the run: the report's proxy.end.cpuSeconds - proxy.before.cpuSeconds" >&2
else
    dotnet "$out/loadtest/stratum-loadtest.dll" run --target "$target" "${probe[@]}" "${load[@]}" "$@" --out "$out/$figure.json" >/dev/null
fi
echo "report: $out/$figure.json   load after: $(uptime)" >&2
