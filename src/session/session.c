/* src/session/session.c - boots a guest, finds its command ring through the
 * descriptor it registers, and drives ops one at a time: write the record,
 * advance head, run until the guest signals, read the result, check.
 */
#include <stdarg.h>
#include <string.h>

#include "clock.h"
#include "monitor.h"
#include "session.h"
#include "util.h"

static void drain(struct session *s);

/* vm.error may quote the guest (or QEMU): escaped before anyone prints it */
static void session_fail(struct session *s, const char *what)
{
	char safe[sizeof(s->vm.error) * 4];

	snprintf(s->err, sizeof(s->err), "%s: %s", what,
	         text_safe(safe, sizeof(safe), s->vm.error));
}

/* An event ended the run: the message names the side at fault, the guest,
 * or the backend ("qemu: QMP: ...") */
static void session_fail_event(struct session *s, enum vm_event ev)
{
	session_fail(s, ev == VM_EV_KVM_ERROR ? vm_backend_name(s->vm.kind) : "guest");
}

/* The guest broke the ring's protocol, or lied, in a way only the session
 * sees: a guest error as the VM's own are */
static enum session_status session_guest_error(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static enum session_status session_guest_error(struct session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	s->vm.event = VM_EV_GUEST_ERROR;
	return SESSION_GUEST_DIED;
}

/* The CR3 the monitor is given must be a root the guest has: with any
 * other the monitor would take no pmap as active and check nothing that
 * depends on it (a guest could hide from its TLB checks so) */
static bool cr3_known(struct session *s)
{
	uint64_t cr3 = vm_cr3(&s->vm);

	if (s->mon == NULL || monitor_root_known(s->mon, cr3))
		return true;
	session_guest_error(s,
	                    "the guest's CR3 %#llx is not the root of any pmap it has (its kernel "
	                    "pmap or one on its pmap list)",
	                    (unsigned long long)cr3);
	return false;
}

/* The ring lives where the descriptor says; validate it once. */
static int ring_attach(struct session *s)
{
	struct pts_descriptor desc;

	if (gmem_read_aligned(&s->vm.mem, s->vm.desc_gpa, &desc, sizeof(desc), 8) != GMEM_OK) {
		snprintf(s->err, sizeof(s->err), "guest descriptor at %#llx is outside memory",
		         (unsigned long long)s->vm.desc_gpa);
		return -1;
	}
	if (desc.magic != PTS_DESC_MAGIC || desc.abi_version != PTS_ABI_VERSION) {
		snprintf(s->err, sizeof(s->err),
		         "guest descriptor: bad magic %#x or ABI version %u (want %u)", desc.magic,
		         desc.abi_version, PTS_ABI_VERSION);
		return -1;
	}
	s->ring = gmem_ptr(&s->vm.mem, desc.ring_pa, sizeof(struct pts_ring), 64);
	if (s->ring == NULL) {
		snprintf(s->err, sizeof(s->err), "guest command ring at %#llx is outside memory",
		         (unsigned long long)desc.ring_pa);
		return -1;
	}
	return 0;
}

static int status_of_event(struct session *s, enum vm_event ev)
{
	switch (ev) {
	case VM_EV_PANIC:
	case VM_EV_SHUTDOWN:
	case VM_EV_HLT:
	case VM_EV_TIMEOUT:
	case VM_EV_GUEST_ERROR:
		return SESSION_GUEST_DIED;
	case VM_EV_EXIT:
		return SESSION_EXITED;
	case VM_EV_INTERRUPTED:
		return SESSION_INTERRUPTED;
	default:
		return SESSION_ERROR;
	}
}

/* The guest registered its descriptor: start the monitor on it. */
static int monitor_attach(struct session *s)
{
	struct monitor_config mc = {.check_spec = s->cfg.check_spec};
	char err[512];

	s->gmem = s->vm.mem; /* RAM and its hole */
	if (s->mirror != NULL)
		s->gmem.base = s->mirror; /* the same layout, as of the last op */
	s->gmem.page_dirty = NULL;        /* full: every page counts as written */
	s->gmem.dirty_ctx = &s->vm;
	s->gmem.dirty_pfns = NULL;
	s->mon = monitor_create(&s->gmem, s->vm.desc_gpa, &mc, err, sizeof(err));
	if (s->mon == NULL) {
		snprintf(s->err, sizeof(s->err), "monitor: %s", err);
		/* a bad --check spec is the user's; a bad descriptor the guest's */
		s->mon_rc = strstr(err, "--check") != NULL ? EXIT_USAGE : EXIT_FINDING;
		return -1;
	}
	if (monitor_begin(s->mon, vm_cr3(&s->vm)) < 0) {
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
	s->overlap = s->cfg.incremental && vm_can_release(&s->vm) &&
	             s->vm.dirty_mode != VM_DIRTY_NONE && !vm_on_one_cpu();
	if (!s->overlap) {
		mirror_close(s);
		return 0;
	}
	return s->mirror != NULL ? mirror_copy_all(s) : mirror_open(s);
}

static int session_capture(struct session *s)
{
	if (vm_snapshot_take(&s->vm, &s->snap) != 0) {
		session_fail(s, "snapshot");
		return -1;
	}
	s->boot_console_len = s->vm.cons.tail_len;
	memcpy(s->boot_console, s->vm.cons.tail, s->boot_console_len);
	return 0;
}

int session_reset(struct session *s)
{
	uint64_t ring_gpa = (uint64_t)((uint8_t *)s->ring - s->vm.mem.base);

	drain(s); /* a next op the guest was let go on with is dropped */
	s->next_state = NEXT_NONE;
	s->next = NULL;
	s->vm.event = VM_EV_NONE;
	if (vm_snapshot_restore(&s->vm, &s->snap, ring_gpa, sizeof(*s->ring), s->mirror) != 0) {
		session_fail(s, s->vm.event == VM_EV_KVM_ERROR ? vm_backend_name(s->vm.kind)
		                                               : "reset");
		return -1;
	}
	/* the guest ran from the snapshot's call to its ring: those pages too */
	if (s->mirror != NULL && (vm_dirty_sync(&s->vm) != 0 || mirror_copy_written(s) != 0)) {
		session_fail(s, "reset");
		return -1;
	}
	memcpy(s->vm.cons.tail, s->boot_console, s->boot_console_len);
	s->vm.cons.tail_len = s->boot_console_len;
	s->vm.cons.len = 0;
	s->vm.event = VM_EV_NONE;
	s->ops_done = 0;
	s->resets++;
	vm_progress(&s->vm); /* a fresh start: a fresh --timeout */
	if (s->mon != NULL) {
		monitor_destroy(s->mon);
		s->mon = NULL;
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
	    .timeout_s = cfg->timeout_s,
	    .console = cfg->console,
	    .console_prefix = cfg->console_prefix,
	    .dirty_mode = cfg->dirty_mode,
	    .dirty_ring_bytes = cfg->dirty_ring_bytes,
	};
}

int session_boot(struct session *s, const struct session_config *cfg)
{
	struct vm_config vc;
	char cmdline[VM_CMDLINE_MAX];
	int rc, n;

	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	char ppp[48] = "";
	if (cfg->pv_per_page != 0)
		snprintf(ppp, sizeof(ppp), " pv_per_page=%u", cfg->pv_per_page);
	if (cfg->cpus > 1) /* the guest starts the other CPUs itself (docs/smp.md) */
		snprintf(ppp + strlen(ppp), sizeof(ppp) - strlen(ppp), " cpus=%u", cfg->cpus);
	n = snprintf(cmdline, sizeof(cmdline), "arena=%llu%s%s%s%s",
	             (unsigned long long)cfg->arena_pages, ppp, cfg->ring ? " ring" : "",
	             cfg->extra_cmdline ? " " : "", cfg->extra_cmdline ? cfg->extra_cmdline : "");
	if (n < 0 || (size_t)n >= sizeof(cmdline)) { /* never boot a silently cut command line */
		size_t extra = cfg->extra_cmdline ? strlen(cfg->extra_cmdline) : 0;
		snprintf(s->err, sizeof(s->err),
		         "--cmdline: %zu bytes; at most %zu fit beside ptshadow's own options",
		         extra, sizeof(cmdline) - 1 - ((size_t)n - extra));
		return EXIT_USAGE;
	}
	session_vm_config(cfg, &vc);
	vc.cmdline = cmdline;
	rc = vm_create(&s->vm, cfg->guest, &vc, s->err, sizeof(s->err));
	if (rc != 0)
		return rc;
	if (cfg->announce != NULL) {
		char what[96];
		fprintf(cfg->announce, "backend: %s%s%s\n", vm_describe(&s->vm, what, sizeof(what)),
		        cfg->backend_why != NULL ? "; " : "",
		        cfg->backend_why != NULL ? cfg->backend_why : "");
		fflush(cfg->announce);
	}
	for (;;) {
		enum vm_event ev = vm_run(&s->vm);
		if (ev == VM_EV_OP_DONE)
			continue; /* an op-done before the ring is ours: nothing to collect */
		if (ev == VM_EV_REGISTER) {
			vm_progress(&s->vm);
			if (!cfg->ring)
				continue;
			if (ring_attach(s) < 0)
				return EXIT_FINDING;
			if (vm_dirty_start(&s->vm) != 0) {
				session_fail(s, "dirty log");
				return EXIT_INTERNAL;
			}
			s->ring->stop_each = cfg->stop_each;
			s->ring->tsc_khz = s->vm.tsc_khz;
			if (cfg->snapshot && session_capture(s) != 0)
				return EXIT_INTERNAL;
			if (cfg->monitor && overlap_start(s) != 0)
				return EXIT_INTERNAL;
			if (cfg->monitor && monitor_attach(s) != 0)
				return s->mon_rc;
			/* the guest waits for ops with an OP_DONE on an empty ring */
			return 0;
		}
		if (ev == VM_EV_EXIT)
			return 0;
		session_fail(s, ev == VM_EV_KVM_ERROR ? vm_backend_name(s->vm.kind) : "guest boot");
		return status_of_event(s, ev) == SESSION_GUEST_DIED ? EXIT_FINDING : EXIT_INTERNAL;
	}
}

/* Run the guest until it has completed the op at head: only that is
 * progress for the watchdog, not its signals (a guest can signal op-done
 * without end, or move its tail back and redo the op). */
static enum session_status await_op(struct session *s, uint64_t head)
{
	struct pts_ring *r = s->ring;
	uint64_t signals = 0, tail;

	for (;;) {
		enum vm_event ev = vm_run(&s->vm);
		if (ev != VM_EV_OP_DONE) {
			session_fail_event(s, ev);
			if (ev == VM_EV_TIMEOUT && signals > 0) {
				size_t n = strlen(s->err);
				snprintf(
				    s->err + n, sizeof(s->err) - n,
				    "; it signalled op-done %llu times and never completed op %llu "
				    "(ring tail %llu, head %llu)",
				    (unsigned long long)signals, (unsigned long long)s->ops_done,
				    (unsigned long long)r->tail, (unsigned long long)head + 1);
			}
			return status_of_event(s, ev);
		}
		signals++;
		tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		if (tail == head + 1)
			break;
		if (tail != head)
			return session_guest_error(
			    s, "guest advanced its ring tail to %llu (want %llu)",
			    (unsigned long long)tail, (unsigned long long)head + 1);
	}
	vm_progress(&s->vm);
	return SESSION_OK;
}

/* A finding rests on the CR3 the backend gave the monitor: where that is
 * the guest's word, ask the vCPU.  A lie is the guest's; no answer, the
 * backend's (the finding is then not reported: it may rest on a lie). */
static enum session_status finding_cr3_verified(struct session *s)
{
	int rc = vm_cr3_verify(&s->vm);

	if (rc > 0) {
		session_fail(s, "guest");
		s->vm.event = VM_EV_GUEST_ERROR;
		return SESSION_GUEST_DIED;
	}
	if (rc < 0) {
		session_fail(s, vm_backend_name(s->vm.kind));
		return SESSION_ERROR;
	}
	return SESSION_VIOLATION;
}

/* Write op into the next ring slot and advance head; the ring head it was at. */
static uint64_t post_op(struct session *s, const struct pts_op *op)
{
	struct pts_ring *r = s->ring;
	uint64_t head = r->head;
	struct pts_op *slot = &r->slots[head % PTS_RING_SLOTS];

	*slot = *op;
	slot->seq = s->ops_done;
	slot->result = PTS_RES_PENDING;
	__atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
	return head;
}

/* The next op, if the guest was let go on with it: wait until it is done,
 * so that the guest waits at a call again. */
static void drain(struct session *s)
{
	enum session_status st;

	if (s->next_state != NEXT_RUNNING)
		return;
	st = await_op(s, s->next_head);
	s->next_state = st == SESSION_OK ? NEXT_DONE : NEXT_FAILED;
	s->next_status = st;
}

void session_set_next(struct session *s, const struct script_op *next)
{
	s->next = next;
}

static bool same_op(const struct pts_op *a, const struct pts_op *b)
{
	return a->kind == b->kind && a->pmap == b->pmap && a->va == b->va && a->end == b->end &&
	       a->page == b->page && a->page2 == b->page2 && a->prot == b->prot &&
	       a->flags == b->flags && a->cpu == b->cpu;
}

/* The op as the caller said it would be: already posted, maybe done. */
static enum session_status take_posted(struct session *s, const struct script_op *sop,
                                       uint64_t *head)
{
	enum session_status st = SESSION_OK;

	if (!same_op(&s->next_op, &sop->op)) {
		snprintf(s->err, sizeof(s->err), "session: op %llu is not the one set as next",
		         (unsigned long long)s->ops_done);
		st = SESSION_ERROR;
	} else if (s->next_state == NEXT_RUNNING) {
		st = await_op(s, s->next_head);
	} else if (s->next_state == NEXT_FAILED) {
		st = s->next_status;
	}
	*head = s->next_head;
	s->next_state = NEXT_NONE;
	return st;
}

/* With overlap: the copy of RAM the monitor reads brought up to the op's
 * end, and the guest let go on with the next op if the caller knows it. */
static int overlap_step(struct session *s, bool full)
{
	if (!s->overlap)
		return 0;
	if ((full ? mirror_copy_all(s) : mirror_copy_written(s)) != 0)
		return -1;
	if (full || s->next == NULL) /* a full check reads it all again: guest held */
		return 0;
	s->next_op = s->next->op;
	s->next_head = post_op(s, &s->next_op);
	s->next_state = NEXT_RUNNING;
	s->overlapped++;
	vm_release(&s->vm);
	return 0;
}

static enum session_status check_op(struct session *s, struct script_op *sop)
{
	char text[OPS_TEXT_MAX];
	uint64_t t0 = now_ns();
	bool full = false;
	int n;

	script_op_format(sop, text, sizeof(text));
	if (s->cfg.incremental) {
		full = s->cfg.full_every != 0 && s->ops_done % s->cfg.full_every == 0;
		if (vm_dirty_sync(&s->vm) != 0) {
			session_fail(s, "monitor");
			return SESSION_ERROR;
		}
		full = full || s->vm.dirty_last.all; /* the log lost track: read it all */
		s->gmem.page_dirty = full ? NULL : vm_page_dirty;
		s->gmem.dirty_pfns = full ? NULL : s->vm.dirty_last.pfns; /* the same log, listed */
		s->gmem.ndirty_pfns = s->vm.dirty_last.n;
	}
	if (overlap_step(s, full) != 0)
		return SESSION_ERROR;
	monitor_clear_violations(s->mon);
	n = monitor_after_op(s->mon, &sop->op, s->ops_done - 1, text, vm_cr3(&s->vm));
	s->last_check_ns = now_ns() - t0;
	s->check_ns_total += s->last_check_ns;
	if (n < 0) {
		snprintf(s->err, sizeof(s->err), "monitor: out of memory");
		return SESSION_ERROR;
	}
	if (!cr3_known(s))
		return SESSION_GUEST_DIED;
	if (n == 0)
		return SESSION_OK;
	/* a finding rests on the CR3 the backend gave the monitor; with overlap
	 * the guest is asked at its next call (docs/performance.md) */
	drain(s);
	return s->next_state != NEXT_FAILED ? finding_cr3_verified(s) : SESSION_VIOLATION;
}

enum session_status session_op(struct session *s, struct script_op *sop)
{
	struct pts_ring *r = s->ring;
	enum session_status st = SESSION_OK;
	uint64_t head = 0;
	struct pts_op *slot;

	if (s->next_state != NEXT_NONE) {
		st = take_posted(s, sop, &head);
	} else if (r->tail != r->head) {
		st = session_guest_error(s, "guest ring out of step (head %llu tail %llu)",
		                         (unsigned long long)r->head, (unsigned long long)r->tail);
	} else {
		head = post_op(s, &sop->op);
		st = await_op(s, head);
	}
	if (st != SESSION_OK) {
		s->next = NULL;
		return st;
	}
	slot = &r->slots[head % PTS_RING_SLOTS];
	sop->op.result = slot->result;
	sop->op.value = slot->value;
	sop->op.cycles = slot->cycles;
	s->ops_done++;
	if (s->mon != NULL)
		st = check_op(s, sop);
	s->next = NULL;
	return st;
}

enum session_status session_finish(struct session *s)
{
	enum vm_event ev;

	drain(s);
	if (s->ring != NULL)
		s->ring->quit = 1;
	do
		ev = vm_run(&s->vm);
	while (ev == VM_EV_OP_DONE);
	if (ev != VM_EV_EXIT)
		session_fail_event(s, ev);
	return status_of_event(s, ev);
}

bool session_backend_failed(const struct session *s)
{
	return s->vm.event == VM_EV_KVM_ERROR;
}

void session_describe_death(struct session *s, FILE *f)
{
	struct vm *vm = &s->vm;
	char file[sizeof(vm->panic.file) * 4], msg[sizeof(vm->error) * 4];

	switch (vm->event) {
	case VM_EV_PANIC: /* the guest's words: escaped */
		fprintf(f, "guest panic at %s:%u: %s\n",
		        text_safe(file, sizeof(file), vm->panic.file), vm->panic.line,
		        text_safe(msg, sizeof(msg), vm->panic.msg));
		if (vm->panic.vector != 0xffffffffu)
			fprintf(f, "  vector %u error %#llx rip %#llx cr2 %#llx\n",
			        vm->panic.vector, (unsigned long long)vm->panic.error_code,
			        (unsigned long long)vm->panic.rip,
			        (unsigned long long)vm->panic.cr2);
		break;
	case VM_EV_EXIT:
		fprintf(f, "guest exited with status %u\n", vm->exit_status);
		return;
	default:
		fprintf(f, "%s\n", s->err[0] ? s->err : text_safe(msg, sizeof(msg), vm->error));
		break;
	}
	fprintf(f, "guest registers:\n");
	vm_dump_regs(vm, f);
}

void session_destroy(struct session *s)
{
	if (s->mon != NULL)
		monitor_destroy(s->mon);
	s->mon = NULL;
	if (s->snap.valid)
		vm_snapshot_free(&s->vm, &s->snap);
	mirror_close(s);
	vm_destroy(&s->vm);
}

size_t session_nviolations(const struct session *s)
{
	return s->mon != NULL ? monitor_nviolations(s->mon) : 0;
}

const struct violation *session_violation(const struct session *s, size_t i)
{
	return s->mon != NULL ? monitor_violation(s->mon, i) : NULL;
}

/* ---- for benchmarks: monitor on/off, many ops per exit, snapshot now ---- */

int session_monitor_start(struct session *s, bool incremental)
{
	drain(s);
	s->next_state = NEXT_NONE;
	s->cfg.incremental = incremental;
	if (s->mon != NULL)
		monitor_destroy(s->mon);
	s->mon = NULL;
	if (incremental && vm_dirty_sync(&s->vm) != 0)
		return -1;
	if (overlap_start(s) != 0)
		return -1;
	return monitor_attach(s);
}

void session_monitor_stop(struct session *s)
{
	drain(s);
	s->next_state = NEXT_NONE;
	if (s->mon != NULL)
		monitor_destroy(s->mon);
	s->mon = NULL;
	s->overlap = false;
	mirror_close(s);
}

int session_capture_now(struct session *s)
{
	drain(s);
	s->next_state = NEXT_NONE;
	if (s->snap.valid)
		vm_snapshot_free(&s->vm, &s->snap);
	return session_capture(s);
}

void session_set_stop_each(struct session *s, bool on)
{
	s->cfg.stop_each = on;
	s->ring->stop_each = on;
}

/*
 * Post ops without a stop after each (stop_each off): up to a ring's worth at
 * a time, the guest signals only when the ring is empty.  No monitor checks.
 */
enum session_status session_run_batch(struct session *s, struct script_op *ops, size_t n)
{
	struct pts_ring *r = s->ring;
	size_t done = 0;

	drain(s);
	s->next_state = NEXT_NONE;
	while (done < n) {
		uint64_t head = r->head, want;
		size_t k = n - done < PTS_RING_SLOTS ? n - done : PTS_RING_SLOTS;
		if (r->tail != head)
			return session_guest_error(s, "guest ring out of step");
		for (size_t i = 0; i < k; i++) {
			struct pts_op *slot = &r->slots[(head + i) % PTS_RING_SLOTS];
			*slot = ops[done + i].op;
			slot->seq = s->ops_done + i;
			slot->result = PTS_RES_PENDING;
		}
		want = head + k;
		__atomic_store_n(&r->head, want, __ATOMIC_RELEASE);
		for (uint64_t seen = head; seen != want;) {
			enum vm_event ev = vm_run(&s->vm);
			uint64_t tail;
			if (ev != VM_EV_OP_DONE) {
				session_fail_event(s, ev);
				return status_of_event(s, ev);
			}
			if (vm_dirty_poll(&s->vm) != 0) {
				session_fail(s, "dirty log");
				return SESSION_ERROR;
			}
			tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
			if (tail - head > k || tail - head < seen - head)
				return session_guest_error(s,
				                           "guest moved its ring tail to %llu "
				                           "(between %llu and %llu, not back)",
				                           (unsigned long long)tail,
				                           (unsigned long long)seen,
				                           (unsigned long long)want);
			if (tail != seen)
				vm_progress(&s->vm); /* ops completed */
			seen = tail;
		}
		for (size_t i = 0; i < k; i++) {
			const struct pts_op *slot = &r->slots[(head + i) % PTS_RING_SLOTS];
			ops[done + i].op.result = slot->result;
			ops[done + i].op.value = slot->value;
			ops[done + i].op.cycles = slot->cycles;
		}
		done += k;
		s->ops_done += k;
	}
	return SESSION_OK;
}
