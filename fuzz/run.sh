#!/usr/bin/env bash
# Runs each fuzz target for SECONDS on its corpus (fuzz/corpus/<t>, grown and kept between
# runs, not committed), the seeds (fuzz/seeds/<t>, written by the `seeds` binary) and the
# committed regressions (fuzz/regressions/<t>: minimized crashers, replayed first), then prints
# executions per target. Any crash fails the run; libFuzzer leaves the input in
# fuzz/artifacts/<t>/ (minimize it with `cargo fuzz tmin`, commit it under regressions/).
# usage: fuzz/run.sh SECONDS TOOLCHAIN TARGET...
set -euo pipefail
seconds=$1 toolchain=$2
shift 2
cd "$(dirname "$0")"
bin=target/x86_64-unknown-linux-gnu/release
cargo "+$toolchain" fuzz build -O
"$bin/seeds" >/dev/null
summary=()
for t in "$@"; do
  mkdir -p "corpus/$t" "regressions/$t"
  log=$(mktemp)
  if ! cargo "+$toolchain" fuzz run -O "$t" "corpus/$t" "seeds/$t" "regressions/$t" -- \
      -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz target $t FAILED (input in fuzz/artifacts/$t/)" >&2
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  summary+=("$(printf '%-8s %12s executions %8s/s  corpus %s' "$t" "$execs" "$rate" "$(ls "corpus/$t" | wc -l)")")
  rm -f "$log"
done
printf '%s\n' "${summary[@]}"
