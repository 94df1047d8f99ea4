#!/bin/bash
# tests/perf/check_time.sh - the monitor's check time per op kind, full mode
# against incremental, at 64 MiB and at 1 GiB with 20,000 live mappings; then
# `ptshadow bench` at 64M and 1G.  The figures of docs/performance.md.  Not a
# test: tables on stdout, a few minutes.  Times here are noisy (nested KVM,
# shared CPUs): compare ratios from one run.
#
#   tests/perf/check_time.sh        (from the repo root, after make)
set -euo pipefail
BIN=${PTSHADOW_BIN:-build/ptshadow}
GUEST=${PTSHADOW_GUEST:-build/guest.elf}
TMP=$(mktemp -d /tmp/ptshadow-perf-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

python3 tests/perf/gen_ops.py --pmaps 4 --prefill 400 --ops 1500 --arena 1024 --seed 1 >"$TMP/64m.ops"
python3 tests/perf/gen_ops.py --pmaps 4 --prefill 20000 --ops 1500 --arena 65536 --seed 3 >"$TMP/1g.ops"

for mode in full incremental; do
	echo "== 64 MiB, --check $mode: $BIN run --stats --check $mode --mem 64 --arena 1024 --ops 64m.ops"
	"$BIN" run --stats --check "$mode" --mem 64 --arena 1024 --out "$TMP/out" --ops "$TMP/64m.ops" "$GUEST" |
		sed -n '/^op /,$p'
done
echo "== 1 GiB, 20,000 mappings first, --check incremental:"
echo "   $BIN run --stats --check incremental --mem 1024 --arena 65536 --ops 1g.ops"
"$BIN" run --stats --check incremental --mem 1024 --arena 65536 --out "$TMP/out" --ops "$TMP/1g.ops" "$GUEST" |
	sed -n '/^op /,$p'
echo "== $BIN bench --sizes 64M,1G (state built first; 1G: 50,000 mappings)"
"$BIN" bench --sizes 64M,1G --json "$TMP/bench.json" "$GUEST" | grep -E 'full|incremental'
