#!/bin/bash
# tests/perf/soak.sh - `make soak`: a long fuzz campaign of the real guest on
# QEMU (10,000,000 ops, 2 jobs by default) that must be clean, with the
# resident memory of ptshadow, of each job and of each job's QEMU sampled
# while it runs, so that a leak shows as RSS that grows.  Not a test: a CSV
# of samples and a table at the end (the figures of docs/performance.md).
#
#   tests/perf/soak.sh BIN GUEST OUTDIR
#   SOAK_OPS=1000000 SOAK_JOBS=2 SOAK_BACKEND=qemu SOAK_EVERY=10 tests/perf/soak.sh ...
#
# Writes OUTDIR/rss.csv (seconds, pid, role, rss_kib, load1) and prints the
# RSS of each process at its first sample, in the middle and at the end,
# ops/s from stats.json, and the machine's load (other users share it).
set -uo pipefail
BIN=${1:?usage: soak.sh BIN GUEST OUTDIR}
GUEST=${2:?usage: soak.sh BIN GUEST OUTDIR}
OUT=${3:?usage: soak.sh BIN GUEST OUTDIR}
OPS=${SOAK_OPS:-10000000}
JOBS=${SOAK_JOBS:-2}
BACKEND=${SOAK_BACKEND:-qemu}
EVERY=${SOAK_EVERY:-10}

mkdir -p "$OUT"
CSV="$OUT/rss.csv"
LOG="$OUT/soak.log"
echo "seconds,pid,role,rss_kib,load1" >"$CSV"

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
children() { ps -o pid= --ppid "$1" 2>/dev/null; }

echo "soak: $BIN fuzz $GUEST --backend $BACKEND --jobs $JOBS --seed 1 --ops $OPS --out $OUT/campaign"
echo "      RSS every $EVERY s into $CSV; log in $LOG"
t0=$(date +%s)
"$BIN" fuzz "$GUEST" --backend "$BACKEND" --jobs "$JOBS" --seed 1 --ops "$OPS" \
	--out "$OUT/campaign" >"$LOG" 2>&1 &
top=$!
trap 'kill $top 2>/dev/null' INT TERM

sample() {
	local now load1 job q
	now=$(($(date +%s) - t0))
	load1=$(cut -d' ' -f1 /proc/loadavg)
	echo "$now,$top,ptshadow,$(rss_kib "$top"),$load1" >>"$CSV"
	for job in $(children "$top"); do
		echo "$now,$job,job,$(rss_kib "$job"),$load1" >>"$CSV"
		for q in $(children "$job"); do
			echo "$now,$q,qemu,$(rss_kib "$q"),$load1" >>"$CSV"
		done
	done
}

while kill -0 "$top" 2>/dev/null; do
	sample
	sleep "$EVERY"
done
wait "$top"
rc=$?
secs=$(($(date +%s) - t0))
echo "soak: fuzz exited $rc after $secs s"
tail -n 12 "$LOG"

# first, middle and last sample of each process after the first interval
# (at 0 s the jobs have not booted yet), and its largest; a process that
# lived for part of the run only shows its own life; the load likewise
awk -F, -v warm="$EVERY" 'NR > 1 && $4 != "" && $1 >= warm {
	key = $3 " " $2
	if (!(key in first)) { first[key] = $4; t_first[key] = $1; order[n++] = key }
	last[key] = $4; t_last[key] = $1
	if ($4 > max[key]) max[key] = $4
	all[key, ++count[key]] = $4
	loads[++nl] = $5
}
END {
	printf "\n%-16s %11s %11s %11s %11s   %s\n", "process", "start KiB", "middle KiB", "end KiB",
	       "max KiB", "sampled"
	for (i = 0; i < n; i++) {
		k = order[i]
		printf "%-16s %11d %11d %11d %11d   %d-%d s, %d samples\n", k, first[k],
		       all[k, int((count[k] + 1) / 2)], last[k], max[k], t_first[k], t_last[k], count[k]
	}
	if (nl > 0)
		printf "load (1 min): start %s, middle %s, end %s\n", loads[1], loads[int((nl + 1) / 2)], loads[nl]
}' "$CSV"
if [ -f "$OUT/campaign/stats.json" ]; then
	python3 - "$OUT/campaign/stats.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"stats.json: {s['ops']} ops in {s['elapsed_s']:.0f} s = {s['ops_per_s']:.0f} ops/s, "
      f"{s['unique_findings']} unique findings, {s['sessions']} guest boots, "
      f"check {s['check_us_mean']:.1f} us/op (mean)")
for j in s.get('per_job', []):
    print(f"  job {j['job']}: {j['state']}, {j['ops']} ops, {j['ops_per_s']:.0f} ops/s, "
          f"{j['sessions']} boots, {j['resets']} resets")
EOF
fi
exit $rc
