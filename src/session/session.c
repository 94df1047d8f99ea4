/* src/session/session.c - a session's life: boot a guest, find its command
 * ring through the descriptor it registers, start the monitor on it, reset
 * it to its post-boot snapshot, finish it; and what callers may read of it.
 * One op's trip through the ring is step.c's, the loop over a script run.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "monitor.h"
#include "session_impl.h"
#include "util.h"

/* The ring lives where the descriptor says; validate it once. */
static int ring_attach(struct session *s)
{
	const struct gmem *mem = vm_mem(s->vm);
	uint64_t desc_gpa = vm_desc_gpa(s->vm);
	struct pts_descriptor desc;

	if (gmem_read_aligned(mem, desc_gpa, &desc, sizeof(desc), 8) != GMEM_OK) {
		snprintf(s->err, sizeof(s->err), "guest descriptor at %#llx is outside memory",
		         (unsigned long long)desc_gpa);
		return -1;
	}
	if (desc.magic != PTS_DESC_MAGIC || desc.abi_version != PTS_ABI_VERSION) {
		snprintf(s->err, sizeof(s->err),
		         "guest descriptor: bad magic %#x or ABI version %u (want %u)", desc.magic,
		         desc.abi_version, PTS_ABI_VERSION);
		return -1;
	}
	s->ring = gmem_ptr(mem, desc.ring_pa, sizeof(struct pts_ring), 64);
	if (s->ring == NULL) {
		snprintf(s->err, sizeof(s->err), "guest command ring at %#llx is outside memory",
		         (unsigned long long)desc.ring_pa);
		return -1;
	}
	return 0;
}

/* The guest registered its descriptor: start the monitor on it. */
static int monitor_attach(struct session *s)
{
	struct monitor_config mc = {.check_spec = s->cfg.check_spec};
	char err[512];

	s->gmem = *vm_mem(s->vm); /* RAM and its hole */
	if (s->mirror != NULL)
		s->gmem.base = s->mirror; /* the same layout, as of the last op */
	s->gmem.page_dirty = NULL;        /* full: every page counts as written */
	s->gmem.dirty_ctx = s->vm;
	s->gmem.dirty_pfns = NULL;
	s->mon = monitor_create(&s->gmem, vm_desc_gpa(s->vm), &mc, err, sizeof(err));
	if (s->mon == NULL) {
		snprintf(s->err, sizeof(s->err), "monitor: %s", err);
		/* a bad --check spec is the user's; a bad descriptor the guest's */
		s->mon_rc = strstr(err, "--check") != NULL ? EXIT_USAGE : EXIT_FINDING;
		return -1;
	}
	if (monitor_begin(s->mon, vm_cr3(s->vm)) < 0) {
		snprintf(s->err, sizeof(s->err), "monitor: out of memory");
		s->mon_rc = EXIT_INTERNAL;
		return -1;
	}
	if (!cr3_known(s)) {
		s->mon_rc = EXIT_FINDING;
		return -1;
	}
	return 0;
}

/* Check behind the guest where it runs beside us, on a CPU of its own, and
 * the checks are incremental (docs/performance.md, "Checking behind the
 * guest"): a copy of guest RAM for the monitor.  0, or -1 with s->err. */
static int overlap_start(struct session *s)
{
	struct vm_stats vs;

	vm_stats(s->vm, &vs);
	s->overlap = s->cfg.incremental && vm_can_release(s->vm) &&
	             vs.dirty_mode != VM_DIRTY_NONE && !vm_on_one_cpu();
	if (!s->overlap) {
		mirror_close(s);
		return 0;
	}
	return s->mirror != NULL ? mirror_copy_all(s) : mirror_open(s);
}

static int session_capture(struct session *s)
{
	if (vm_snapshot_take(s->vm, &s->snap) != 0) {
		session_fail(s, "snapshot");
		return -1;
	}
	return 0;
}

static void monitor_detach(struct session *s)
{
	if (s->mon != NULL)
		monitor_destroy(s->mon);
	s->mon = NULL;
}

int session_reset(struct session *s)
{
	uint64_t ring_gpa = (uint64_t)((uint8_t *)s->ring - vm_mem(s->vm)->base);

	session_drop_next(s); /* a next op the guest was let go on with is dropped */
	if (vm_snapshot_restore(s->vm, &s->snap, ring_gpa, sizeof(*s->ring), s->mirror) != 0) {
		session_fail(s, vm_event(s->vm) == VM_EV_KVM_ERROR ? vm_name(s->vm) : "reset");
		return -1;
	}
	/* the guest ran from the snapshot's call to its ring: those pages too */
	if (s->mirror != NULL && (vm_dirty_sync(s->vm) != 0 || mirror_copy_written(s) != 0)) {
		session_fail(s, "reset");
		return -1;
	}
	vm_event_set(s->vm, VM_EV_NONE);
	s->ops_done = 0;
	s->resets++;
	vm_progress(s->vm); /* a fresh start: a fresh --timeout */
	if (s->mon != NULL) {
		monitor_detach(s);
		if (monitor_attach(s) != 0)
			return -1;
	}
	return 0;
}

void session_vm_config(const struct session_config *cfg, struct vm_config *vc)
{
	*vc = (struct vm_config){
	    .backend = cfg->backend,
	    .qemu_path = cfg->qemu_path,
	    .qemu_kvm = cfg->qemu_kvm,
	    .libvirt_uri = cfg->libvirt_uri,
	    .libvirt_xml = cfg->libvirt_xml,
	    .mem_mib = cfg->mem_mib,
	    .cpus = cfg->cpus,
	    .parallel = cfg->parallel_vcpus || cfg->sched_free,
	    .timeout_s = cfg->timeout_s,
	    .console = cfg->console,
	    .console_prefix = cfg->console_prefix,
	    .dirty_mode = cfg->dirty_mode,
	    .dirty_ring_bytes = cfg->dirty_ring_bytes,
	};
}

/* The guest's command line: ptshadow's options, then the user's.  0, or
 * EXIT_USAGE: never boot a silently cut command line. */
static int guest_cmdline(struct session *s, char *cmdline, size_t len)
{
	const struct session_config *cfg = &s->cfg;
	const char *extra = cfg->extra_cmdline;
	char ppp[48] = "";
	int n;

	if (cfg->pv_per_page != 0)
		snprintf(ppp, sizeof(ppp), " pv_per_page=%u", cfg->pv_per_page);
	if (cfg->cpus > 1) /* the guest starts the other CPUs itself (docs/smp.md) */
		snprintf(ppp + strlen(ppp), sizeof(ppp) - strlen(ppp), " cpus=%u", cfg->cpus);
	n = snprintf(cmdline, len, "arena=%llu%s%s%s%s", (unsigned long long)cfg->arena_pages, ppp,
	             cfg->ring ? " ring" : "", extra ? " " : "", extra ? extra : "");
	if (n >= 0 && (size_t)n < len)
		return 0;
	size_t extra_len = extra ? strlen(extra) : 0;
	snprintf(s->err, sizeof(s->err),
	         "--cmdline: %zu bytes; at most %zu fit beside ptshadow's own options", extra_len,
	         len - 1 - ((size_t)n - extra_len));
	return EXIT_USAGE;
}

static void announce(const struct session *s)
{
	const struct session_config *cfg = &s->cfg;
	char what[96];

	if (cfg->announce == NULL)
		return;
	fprintf(cfg->announce, "backend: %s%s%s\n", vm_describe(s->vm, what, sizeof(what)),
	        cfg->backend_why != NULL ? "; " : "",
	        cfg->backend_why != NULL ? cfg->backend_why : "");
	fflush(cfg->announce);
}

/* The guest registered: its ring, the dirty log, the snapshot, the monitor.
 * 0, or an exit status. */
static int session_attach(struct session *s)
{
	const struct session_config *cfg = &s->cfg;
	struct vm_stats vs;

	if (ring_attach(s) < 0)
		return EXIT_FINDING;
	if (vm_dirty_start(s->vm) != 0) {
		session_fail(s, "dirty log");
		return EXIT_INTERNAL;
	}
	vm_stats(s->vm, &vs);
	s->ring->stop_each = cfg->stop_each;
	s->ring->tsc_khz = vs.tsc_khz;
	if (cfg->snapshot && session_capture(s) != 0)
		return EXIT_INTERNAL;
	if (cfg->monitor && overlap_start(s) != 0)
		return EXIT_INTERNAL;
	if (cfg->monitor && monitor_attach(s) != 0)
		return s->mon_rc;
	/* the guest waits for ops with an OP_DONE on an empty ring */
	return 0;
}

int session_boot(struct session *s, const struct session_config *cfg)
{
	struct vm_config vc;
	char cmdline[VM_CMDLINE_MAX];
	int rc;

	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	rc = guest_cmdline(s, cmdline, sizeof(cmdline));
	if (rc != 0)
		return rc;
	session_vm_config(cfg, &vc);
	vc.cmdline = cmdline;
	rc = vm_create(&s->vm, cfg->guest, &vc, s->err, sizeof(s->err));
	if (rc != 0)
		return rc;
	announce(s);
	for (;;) {
		enum vm_event ev = vm_run(s->vm);
		if (ev == VM_EV_OP_DONE)
			continue; /* an op-done before the ring is ours: nothing to collect */
		if (ev == VM_EV_REGISTER) {
			vm_progress(s->vm);
			if (cfg->ring)
				return session_attach(s);
			continue;
		}
		if (ev == VM_EV_EXIT)
			return 0;
		session_fail(s, ev == VM_EV_KVM_ERROR ? vm_name(s->vm) : "guest boot");
		return status_of_event(ev) == SESSION_GUEST_DIED ? EXIT_FINDING : EXIT_INTERNAL;
	}
}

struct session *session_open(const struct session_config *cfg, int *rc)
{
	struct session *s = malloc(sizeof(*s));

	if (s == NULL) {
		*rc = EXIT_INTERNAL;
		return NULL;
	}
	*rc = session_boot(s, cfg);
	return s;
}

void session_close(struct session *s)
{
	if (s == NULL)
		return;
	session_destroy(s);
	free(s);
}

enum session_status session_finish(struct session *s)
{
	enum vm_event ev;

	session_drop_next(s);
	if (s->ring != NULL)
		s->ring->quit = 1;
	do
		ev = vm_run(s->vm);
	while (ev == VM_EV_OP_DONE);
	if (ev != VM_EV_EXIT)
		session_fail_event(s, ev);
	return status_of_event(ev);
}

bool session_backend_failed(const struct session *s)
{
	return s->vm != NULL && vm_event(s->vm) == VM_EV_KVM_ERROR;
}

const char *session_error(const struct session *s)
{
	if (s == NULL)
		return "out of memory";
	return s->err[0] != '\0' || s->vm == NULL ? s->err : vm_error(s->vm);
}

void session_destroy(struct session *s)
{
	monitor_detach(s);
	if (s->snap.valid)
		vm_snapshot_free(s->vm, &s->snap);
	mirror_close(s);
	vm_destroy(s->vm);
	s->vm = NULL;
}

size_t session_nviolations(const struct session *s)
{
	return s->mon != NULL ? monitor_nviolations(s->mon) : 0;
}

const struct violation *session_violation(const struct session *s, size_t i)
{
	return s->mon != NULL ? monitor_violation(s->mon, i) : NULL;
}

void session_stats(const struct session *s, struct session_stats *st)
{
	st->ops = s->ops_done;
	st->overlapped = s->overlapped;
	st->check_ns = s->check_ns_total;
	vm_stats(s->vm, &st->vm);
}

const char *session_describe(const struct session *s, char *buf, size_t len)
{
	return vm_describe(s->vm, buf, len);
}

int session_dump_pmap(const struct session *s, int32_t slot, FILE *out)
{
	return s->mon != NULL ? monitor_dump_pmap(s->mon, slot, out) : -1;
}

const struct gmem *session_guest_ram(const struct session *s, uint64_t *desc_gpa)
{
	*desc_gpa = vm_desc_gpa(s->vm);
	return vm_mem(s->vm);
}

json_t *session_pmap_json(const struct session *s, int32_t slot, size_t max_tables, size_t max_rows)
{
	return s->mon != NULL ? monitor_pmap_json(s->mon, slot, max_tables, max_rows) : NULL;
}

int session_cpus(const struct session *s, struct monitor_cpus *out)
{
	if (s->mon == NULL)
		return -1;
	monitor_cpus(s->mon, out);
	return 0;
}

int session_ledger_tail(const struct session *s, size_t n, struct pts_tlb_record *out, size_t *got,
                        uint64_t *head)
{
	*got = 0;
	return s->mon != NULL ? monitor_ledger_tail(s->mon, n, out, got, head) : -1;
}

/* ---- for benchmarks: monitor on/off, snapshot now -------------------------- */

int session_monitor_start(struct session *s, bool incremental)
{
	session_drop_next(s);
	s->cfg.incremental = incremental;
	monitor_detach(s);
	if (incremental && vm_dirty_sync(s->vm) != 0)
		return -1;
	if (overlap_start(s) != 0)
		return -1;
	return monitor_attach(s);
}

void session_monitor_stop(struct session *s)
{
	session_drop_next(s);
	monitor_detach(s);
	s->overlap = false;
	mirror_close(s);
}

int session_capture_now(struct session *s)
{
	session_drop_next(s);
	if (s->snap.valid)
		vm_snapshot_free(s->vm, &s->snap);
	return session_capture(s);
}
