#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser that reads bytes from outside (docs/fuzzing.md).
#
#   tests/StratumProxy.Fuzz/run.sh <target|all> <seconds-per-target>
#
# Publishes the harness program, instruments the product assemblies with sharpfuzz (the local dotnet tool in
# .config/dotnet-tools.json), and runs afl-fuzz (Debian's afl++ package) on each target for the given time, starting
# from the committed seed corpus tests/StratumProxy.Fuzz/corpus/<target>. Prints one line per target:
#   fuzz <target>: pass|FAIL (execs N, paths N, coverage X%, crashes N, hangs N, S s)
# and exits non-zero when any target found a crash. Findings stay in $FUZZ_OUT (default artifacts/fuzz).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${1:?usage: run.sh <target|all> <seconds>}
seconds=${2:?usage: run.sh <target|all> <seconds>}
out=${FUZZ_OUT:-$root/artifacts/fuzz}
bin="$out/bin"

command -v afl-fuzz >/dev/null 2>&1 || { echo "fuzz: afl-fuzz is not installed (apt-get install -y afl++)"; exit 2; }
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# Build once: publish, then instrument the product's own assemblies (never the harness, the BCL or packages).
dotnet tool restore >/dev/null
rm -rf "$bin"
mkdir -p "$out"
dotnet publish tests/StratumProxy.Fuzz -c Release -o "$bin" -v q -nologo >"$out/publish.log" 2>&1 || { cat "$out/publish.log"; echo "fuzz: publish failed"; exit 2; }
for dll in StratumProxy.Stratum.dll StratumProxy.Proxy.dll StratumProxy.Rigs.dll StratumProxy.Economics.dll stratum-proxy.dll; do
  dotnet sharpfuzz "$bin/$dll" >/dev/null || { echo "fuzz: sharpfuzz could not instrument $dll"; exit 2; }
done

if [ "$target" = all ]; then
  mapfile -t targets < <(dotnet "$bin/StratumProxy.Fuzz.dll" list | awk '{print $1}')
else
  targets=("$target")
fi

# afl-fuzz settings: the runtime is not an afl-compiled binary (SharpFuzz speaks the fork-server protocol itself);
# no UI, no CPU pinning (the machine is shared), no CPU-governor or core_pattern checks.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1


afl_stat() { awk -F' *: *' -v k="$2" '$1 == k { print $2 }' "$1" 2>/dev/null; }
failed=0
for t in "${targets[@]}"; do
  corpus="$here/corpus/$t"
  [ -d "$corpus" ] || { echo "fuzz $t: FAIL (no seed corpus at tests/StratumProxy.Fuzz/corpus/$t)"; failed=1; continue; }
  findings="$out/findings/$t"
  # afl-fuzz stops early when the harness process itself dies (SharpFuzz runs every input in that one process, so an
  # input that kills it, e.g. an access violation or a stack overflow, ends the fork server and is not saved). Such a
  # stop with no crash saved has not been reproduced from the inputs it left; the target runs once more, and a second
  # early stop fails it.
  early=""
  for attempt in 1 2; do
    rm -rf "$findings"
    mkdir -p "$findings"
    start=$(date +%s)
    # -V: stop after the time; -t: per-input timeout in ms (the rig target talks to a loopback server).
    afl-fuzz -V "$seconds" -i "$corpus" -o "$findings" -t 10000 -m none -- dotnet "$bin/StratumProxy.Fuzz.dll" "$t" \
      >"$findings/afl.log" 2>&1 || true
    elapsed=$(( $(date +%s) - start ))
    stats="$findings/default/fuzzer_stats"
    [ -f "$stats" ] || break
    crashes=$(afl_stat "$stats" saved_crashes)
    abort=$(grep -a -m1 'PROGRAM ABORT' "$findings/afl.log" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g; s/.*PROGRAM ABORT : *//' || true)
    if [ -z "$abort" ] || [ "${crashes:-0}" != 0 ] || [ "$attempt" = 2 ]; then
      break
    fi
    early="afl-fuzz stopped early after $(afl_stat "$stats" execs_done) inputs ($abort), no crash saved; ran it again"
    cp "$findings/afl.log" "$out/findings/$t.first-run.afl.log"
  done
  if [ ! -f "$stats" ]; then
    tail -n 20 "$findings/afl.log"
    echo "fuzz $t: FAIL (afl-fuzz did not start; see $findings/afl.log)"
    failed=1
    continue
  fi
  execs=$(afl_stat "$stats" execs_done); paths=$(afl_stat "$stats" corpus_count); cov=$(afl_stat "$stats" bitmap_cvg)
  crashes=$(afl_stat "$stats" saved_crashes); hangs=$(afl_stat "$stats" saved_hangs)
  crashes=${crashes:-0}; hangs=${hangs:-0}
  verdict=pass
  if [ "$crashes" != 0 ] || [ -n "$abort" ]; then
    verdict=FAIL
    failed=1
  fi
  [ -n "$early" ] && echo "  fuzz $t: $early (first run's log: $out/findings/$t.first-run.afl.log)"
  echo "fuzz $t: $verdict (execs $execs, paths $paths, coverage $cov, crashes $crashes, hangs $hangs, ${elapsed} s)"
  if [ -n "$abort" ]; then
    echo "  afl-fuzz stopped after $execs inputs: $abort (the harness process died on an input; the last inputs tried are in $findings/default/queue, replay them with --replay)"
  fi
  if [ "$verdict" = FAIL ]; then
    for f in "$findings"/default/crashes/id*; do
      [ -f "$f" ] && echo "  crash input: $f (replay: dotnet run --project tests/StratumProxy.Fuzz -- $t --replay $(dirname "$f"))"
    done
  fi
done
exit $failed
