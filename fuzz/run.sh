#!/usr/bin/env bash
# Runs every fuzz target for RUNS executions (default 10 million) from the seeds, with a
# scratch corpus outside the repository. Needs the nightly toolchain and cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")"
RUNS=${RUNS:-10000000}
for target in hook oms_order skyhub_answers; do
  work=$(mktemp -d)
  cp seeds/"$target"/* "$work"/
  echo "== $target: $RUNS runs"
  cargo +nightly fuzz run "$target" "$work" -- -runs="$RUNS" -max_len=65536 -print_final_stats=1 2>&1 \
    | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|==[0-9]+== ERROR|SUMMARY)" || true
  rm -rf "$work"
done
