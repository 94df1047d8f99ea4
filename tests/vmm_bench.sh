#!/bin/bash
# tests/vmm_bench.sh - measures the VMM foundation, medians of several runs:
# the hypercall round trip (the guest's hcbench, and a per-exit median from
# a tiny ptshadow-independent KVM program) and boot time under ptshadow,
# QEMU TCG and QEMU KVM.  Not a test: numbers on stdout.  Times here are
# noisy (nested KVM, shared CPUs); compare ratios from one run.
#
#   tests/vmm_bench.sh [RUNS]        (default 7; run from the repo root)
set -euo pipefail
RUNS=${1:-7}
BIN=${PTSHADOW_BIN:-build/ptshadow}
GUEST=${PTSHADOW_GUEST:-build/guest.elf}
TMP=$(mktemp -d /tmp/ptshadow-bench-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# median min max of the numbers on stdin
stats() { sort -g | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2;
	printf "median %.4g  min %.4g  max %.4g  (n=%d)\n", m, v[1], v[NR], NR}'; }

# wall seconds of one command (its exit status ignored)
wall() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N);
	echo "$t1 - $t0" | bc -l; }

echo "== hypercall round trip: guest hcbench (mean of N calls per run), $RUNS runs"
N=20000
for ((i = 0; i < RUNS; i++)); do
	"$BIN" run --mem 16 --arena 16 --cmdline hcbench=$N "$GUEST" |
		sed -n 's/.*hcbench: [0-9]* hypercalls, \([0-9]*\) cycles each (tsc \([0-9]*\) kHz).*/\1 \2/p'
done >"$TMP/hc"
printf "  cycles/call: "; awk '{print $1}' "$TMP/hc" | stats
printf "  us/call:     "; awk '$2 > 0 {print $1 / ($2 / 1000)}' "$TMP/hc" | stats

# Where the time goes: KVM's instruction emulator (kvm_pvm here runs guest
# supervisor code in it) against exits to the VMM.
if command -v perf >/dev/null && perf list 2>/dev/null | grep kvm:kvm_emulate_insn >/dev/null; then
	for n in 0 $N; do
		perf stat -x, -e kvm:kvm_emulate_insn,kvm:kvm_userspace_exit -o "$TMP/perf.$n" \
			"$BIN" run --mem 16 --arena 16 --cmdline "hcbench=$n selftest=exit3" "$GUEST" \
			>/dev/null 2>&1 || true
	done
	awk -F, -v n=$N 'FNR == 1 {f++} /kvm_emulate_insn/ {e[f] = $1} /kvm_userspace_exit/ {x[f] = $1}
		END {printf "  per call: %.1f instructions emulated by KVM, %.2f exits to the VMM\n",
		     (e[2] - e[1]) / n, (x[2] - x[1]) / n}' "$TMP/perf.0" "$TMP/perf.$N"
fi

echo "== port-I/O exit round trip, per exit (standalone KVM, real-mode 'out; jmp' loop)"
cat >"$TMP/exitbench.c" <<'EOF'
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
static int cmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000, kvm = open("/dev/kvm", O_RDWR);
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	unsigned char *mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	static const unsigned char code[] = { 0xe6, 0x10, 0xeb, 0xfc }; /* out 0x10,al; jmp $-2 */
	struct kvm_userspace_memory_region r = { 0, 0, 0, 0x10000, (unsigned long)mem };
	memcpy(mem, code, sizeof(code));
	ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
	int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	struct kvm_run *run = mmap(NULL, ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
				   MAP_SHARED, cpu, 0);
	struct kvm_sregs s;
	struct kvm_regs g = { .rip = 0, .rflags = 2 };
	ioctl(cpu, KVM_GET_SREGS, &s);
	s.cs.base = 0, s.cs.selector = 0;
	ioctl(cpu, KVM_SET_SREGS, &s);
	ioctl(cpu, KVM_SET_REGS, &g);
	long *ns = malloc(sizeof(long) * n);
	for (int i = -1000; i < n; i++) { /* 1000 warm-up exits */
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (ioctl(cpu, KVM_RUN, 0) < 0 || run->exit_reason != KVM_EXIT_IO)
			return fprintf(stderr, "exitbench: exit %u\n", run->exit_reason), 1;
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (i >= 0)
			ns[i] = (b.tv_sec - a.tv_sec) * 1000000000L + b.tv_nsec - a.tv_nsec;
	}
	qsort(ns, n, sizeof(long), cmp);
	printf("  per exit: median %.2f us  p10 %.2f  p90 %.2f  p99 %.2f  (n=%d)\n", ns[n / 2] / 1e3,
	       ns[n / 10] / 1e3, ns[n * 9 / 10] / 1e3, ns[n * 99 / 100] / 1e3, n);
	return 0;
}
EOF
if cc -O2 -o "$TMP/exitbench" "$TMP/exitbench.c" 2>"$TMP/cc.err"; then
	for ((i = 0; i < 3; i++)); do "$TMP/exitbench" 100000; done
else
	echo "  (could not compile: $(head -1 "$TMP/cc.err"))"
fi

echo "== boot time (wall seconds, whole process), $RUNS runs each"
QEMU=(qemu-system-x86_64 -m 128 -display none -nodefaults -serial stdio -no-reboot
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$GUEST")
run_set() {
	local name=$1; shift
	for ((i = 0; i < RUNS; i++)); do wall "$@"; done | { printf "  %-34s " "$name:"; stats; }
}
# selftest=exit3: the guest exits right after its banner (PVH entry, long
# mode, console, traps); without it the whole boot incl. pmap and smoke ops.
run_set "ptshadow, to banner (exit3)" "$BIN" run --cmdline selftest=exit3 "$GUEST"
run_set "ptshadow, full smoke run" "$BIN" run "$GUEST"
if command -v qemu-system-x86_64 >/dev/null; then
	run_set "qemu tcg, to banner (exit3)" "${QEMU[@]}" -accel tcg -append selftest=exit3
	run_set "qemu tcg, full smoke run" "${QEMU[@]}" -accel tcg
	run_set "qemu kvm, to banner (exit3)" "${QEMU[@]}" -accel kvm -append selftest=exit3
	run_set "qemu kvm, full smoke run" "${QEMU[@]}" -accel kvm
else
	echo "  (qemu-system-x86_64 not installed)"
fi
