/* src/session/stuck.c - which CPUs a guest on several CPUs left in the middle
 * of their ops when it hung (the watchdog) or died without naming a CPU (a
 * triple fault QEMU reports for the machine), from the ops the host posted,
 * the guest's own record of each CPU's progress and each vCPU's RIP.
 *
 * The guest's record is struct pts_cpu's op_begun and op_ended (1 + the seq
 * of the op a CPU began and ended last), read from the VM's own RAM through
 * the monitor's checked reader: guest memory, so the words say what the
 * guest wrote ("was running", "had not begun"), never that the CPU is the
 * one at fault.
 */
#include <stdio.h>
#include <string.h>

#include "monitor.h"
#include "session_impl.h"
#include "smp.h"

static const char *const state_words[] = {
    [INFLIGHT_NOT_BEGUN] = "had not begun",
    [INFLIGHT_RUNNING] = "was running",
    [INFLIGHT_ENDED] = "had ended",
};

static enum inflight_state state_of(const struct smp_cpu_view *c, uint64_t seq)
{
	if (c->op_ended == seq + 1)
		return INFLIGHT_ENDED;
	return c->op_begun == seq + 1 ? INFLIGHT_RUNNING : INFLIGHT_NOT_BEGUN;
}

/* each in-flight op's CPU: its state and RIP (vCPU v has LAPIC ID v) */
static void read_inflight(struct session *s, const struct smp_view *v, uint64_t head, uint64_t k)
{
	uint64_t rip[PTS_MAX_CPUS];
	bool known[PTS_MAX_CPUS];

	vm_vcpu_rips(s->vm, rip, known, PTS_MAX_CPUS);
	s->ninflight = 0;
	for (uint64_t i = 0; i < k && i < PTS_GROUP_MAX; i++) {
		struct inflight *f = &s->inflight[s->ninflight];
		uint32_t cpu = s->posted[(head + i) % PTS_RING_SLOTS].cpu;
		uint32_t lapic;
		if (cpu >= v->ncpus)
			continue; /* a record for a CPU that is not up: the guest refuses it */
		lapic = v->cpu[cpu].lapic_id;
		f->op_index = s->posted[(head + i) % PTS_RING_SLOTS].seq;
		f->cpu = cpu;
		f->state = state_of(&v->cpu[cpu], f->op_index);
		f->rip_known = lapic < PTS_MAX_CPUS && known[lapic];
		f->rip = f->rip_known ? rip[lapic] : 0;
		s->ninflight++;
	}
}

/* "; by the guest's own record, cpu1 was running op 3 (rip 0x...), ..." */
static void say_inflight(struct session *s)
{
	size_t n = strlen(s->err);

	for (unsigned i = 0; i < s->ninflight && n < sizeof(s->err); i++) {
		const struct inflight *f = &s->inflight[i];
		char rip[40] = "";
		if (f->rip_known)
			snprintf(rip, sizeof(rip), " (rip %#llx)", (unsigned long long)f->rip);
		n += (size_t)snprintf(s->err + n, sizeof(s->err) - n, "%scpu%u %s op %llu%s",
		                      i == 0 ? "; by the guest's own record, " : ", ", f->cpu,
		                      state_words[f->state], (unsigned long long)f->op_index, rip);
	}
}

void session_say_stuck(struct session *s, enum vm_event ev, uint64_t head, uint64_t k)
{
	struct smp_view v;

	s->ninflight = 0;
	if (ev != VM_EV_TIMEOUT && ev != VM_EV_SHUTDOWN && ev != VM_EV_HLT)
		return;
	if (s->mon == NULL || monitor_cpus_now(s->mon, vm_mem(s->vm), &v) != 0 || !v.ok ||
	    v.ncpus < 2)
		return; /* one CPU: the op's, CPU 0 */
	read_inflight(s, &v, head, k);
	say_inflight(s);
}
