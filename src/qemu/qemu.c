/* src/qemu/qemu.c - the QEMU backend: guest RAM shared with a QEMU process
 * (TCG, or -accel kvm), the doorbell on COM2 for hypercalls, the console on
 * COM1, and QEMU's exit turned into the same events as the KVM backend's.
 *
 * The doorbell (include/ptshadow/abi.h): the guest writes one byte on COM2
 * and spins on a word in its RAM; we read the byte from our socket, handle
 * the call through the hypercall table as the KVM backend would, return the
 * event, and release the guest at the next vm_run by writing the word.  So
 * between two vm_runs the guest executes nothing but a load loop, as a KVM
 * vCPU outside KVM_RUN executes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "qemu_vm.h"
#include "tcg_dirty.h"

#define QEMU_CR3_CHECK_EVERY 4096u /* calls between two checks of the reported CR3 */
#define QEMU_CR3_FRAME       0x000ffffffffff000ull

/* A register read that takes longer than QEMU_STALL_NS means QEMU itself
 * stood still (stopped, swapped out, starved of CPU): that time is not the
 * guest's, and the watchdog gives it back (all but QEMU_STALL_NS of it, so
 * that probing a hung guest on a slow QEMU still runs out). */
static void forgive_stall(struct vm *vm, uint64_t t0)
{
	uint64_t dt = now_ns() - t0;

	if (vm->deadline_ns != 0 && dt > QEMU_STALL_NS)
		vm->deadline_ns += dt - QEMU_STALL_NS;
}

/* ---- guest RAM: a memfd mapped as guest-physical space, hole and all ---- */

int qemu_ram_map(struct vm *vm, int fd, uint64_t bytes, uint64_t lowmem, char *err, size_t errlen)
{
	struct qemu_vm *q = QEMU(vm);
	uint64_t low = bytes < lowmem ? bytes : lowmem;
	uint64_t high = bytes - low;

	if (vm_ram_map_fd(vm, fd, low, high, QEMU_HIGHMEM_BASE) != 0) {
		snprintf(err, errlen, "mapping guest RAM: %s", strerror(errno));
		return -1;
	}
	q->ram_fd = fd;
	q->ram_bytes = bytes;
	q->lowmem = low;
	return 0;
}

/* Our own memfd for QEMU to map as guest RAM, mapped here too. */
static int ram_create(struct vm *vm, uint64_t bytes, char *err, size_t errlen)
{
	int fd = memfd_create("ptshadow-guest-ram", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)bytes) < 0) {
		snprintf(err, errlen, "guest RAM (%llu MiB memfd): %s",
		         (unsigned long long)(bytes >> 20), strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (qemu_ram_map(vm, fd, bytes, QEMU_LOWMEM_MAX, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	return 0;
}

/* ---- create ---------------------------------------------------------------- */

/* The plugin is not there: an error where it was asked for, else say so
 * and check without a dirty log.  0, or EXIT_USAGE. */
static int no_plugin(enum vm_dirty_mode want, const char *path, char *err, size_t errlen)
{
	if (want == VM_DIRTY_PLUGIN) {
		snprintf(err, errlen, "--dirty-log plugin: %s: %s", path, strerror(errno));
		return EXIT_USAGE;
	}
	fprintf(stderr, "ptshadow: no dirty-log plugin (%s: %s); checking without a dirty log\n",
	        path, strerror(errno));
	return 0;
}

static int plugin_setup(struct vm *vm, const struct vm_config *cfg, char *path, size_t len,
                        char *err, size_t errlen)
{
	struct qemu_vm *q = QEMU(vm);
	enum vm_dirty_mode want = cfg->dirty_mode;

	if (want != VM_DIRTY_AUTO && want != VM_DIRTY_PLUGIN && want != VM_DIRTY_NONE) {
		snprintf(err, errlen, "--dirty-log %s: the qemu backend logs with plugin or none",
		         vm_dirty_mode_name(want));
		return EXIT_USAGE;
	}
	vm->dirty_mode = VM_DIRTY_NONE;
	if (want == VM_DIRTY_NONE || cfg->qemu_kvm) /* plugins need TCG */
		return 0;
	if (tcg_dirty_plugin_path(path, len) != 0 || access(path, R_OK) != 0)
		return no_plugin(want, path, err, errlen);
	/* a log a vCPU (docs/smp.md), each walked through its own CR3 */
	struct tcg_dirty_size size = {vm->mem.size / PTS_PAGE_SIZE, 1u << 20,
	                              cfg->cpus > 1 ? cfg->cpus : 1};
	q->vcpus = size.vcpus;
	if (tcg_dirty_open(&q->dirty, &size, err, errlen) != 0)
		return EXIT_INTERNAL;
	vm->dirty_mode = VM_DIRTY_PLUGIN;
	return 0;
}

/* Close our ends of QEMU's sockets and pipe (before a relaunch or at the end). */
static void qemu_close_fds(struct qemu_vm *q)
{
	int *fds[] = {&q->cons_fd, &q->db_fd, &q->err_fd, &q->qmp_fd};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	qmp_reset(q);
}

static void drain_stderr(struct qemu_vm *q);

/* The plugin installs itself before QEMU runs any guest code: wait (at most
 * 10 s) for its "alive" word, or for QEMU to exit (it does when it refuses a
 * plugin, with the reason on stderr). */
static bool plugin_accepted(struct vm *vm, int *status)
{
	struct qemu_vm *q = QEMU(vm);
	uint64_t deadline = now_ns() + 10000000000ull;
	struct timespec tick = {0, 200000};

	while (now_ns() < deadline) {
		if (tcg_dirty_plugin_alive(q->dirty))
			return true;
		if (waitpid(q->pid, status, WNOHANG) == q->pid) {
			q->pid = 0;
			q->running = false;
			drain_stderr(q);
			return false;
		}
		nanosleep(&tick, NULL);
	}
	return true; /* a slow start, not a refusal: the log says if it never came */
}

/*
 * TCG's rdtsc returns the host's TSC (cpu_get_host_ticks), and so does a KVM
 * guest without TSC scaling: the guest's cycle counts are the host's.  Its
 * rate, measured over 20 ms against CLOCK_MONOTONIC, turns them into time.
 */
uint64_t qemu_host_tsc_khz(void)
{
	static uint64_t khz; /* once a process */
	uint64_t t0, c0, t1, c1;
	struct timespec ms20 = {0, 20000000};

	if (khz != 0)
		return khz;
	t0 = now_ns();
	c0 = __builtin_ia32_rdtsc();
	nanosleep(&ms20, NULL);
	t1 = now_ns();
	c1 = __builtin_ia32_rdtsc();
	khz = t1 > t0 && c1 > c0 ? (c1 - c0) * 1000000ull / (t1 - t0) : 0;
	return khz;
}

int qemu_state_init(struct vm *vm, char *err, size_t errlen)
{
	struct qemu_vm *q = calloc(1, sizeof(*q));

	if (q == NULL ||
	    (q->walk_cache = calloc(QEMU_WALK_CACHE, sizeof(*q->walk_cache))) == NULL) {
		free(q);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	vm->be = q;
	q->ram_fd = q->cons_fd = q->db_fd = q->err_fd = q->qmp_fd = -1;
	q->spin_us = vm_guest_spin_us(false);
	vm->caps = VM_CAP_SNAPSHOT | VM_CAP_REGS;
	vm->tsc_khz = qemu_host_tsc_khz();
	return 0;
}

/*
 * QEMU starts paused (-S): negotiate QMP, then "cont".  So QMP is up before
 * the guest runs one instruction, and QEMU's SHUTDOWN event can say whether
 * the guest or the host ended it (qemu_gone).  A QEMU that cannot do this
 * much is the host's failure, named as such.
 */
static int qemu_handshake(struct vm *vm, const char *qemu, char *err, size_t errlen)
{
	struct qemu_vm *q = QEMU(vm);
	struct timespec ms = {0, 1000000};
	char why[256];
	int st;

	if (qmp_connect(q, why, sizeof(why)) == 0 && qmp_simple(q, "cont", why, sizeof(why)) == 0)
		return 0;
	for (int i = 0; i < 500; i++, nanosleep(&ms, NULL)) /* did it exit? (its fds close first) */
		if (waitpid(q->pid, &st, WNOHANG) == q->pid) {
			q->pid = 0;
			q->running = false;
			drain_stderr(q);
			snprintf(err, errlen,
			         "QEMU %s exited (%s %d) before it started the guest (%s)%s%s",
			         qemu, WIFSIGNALED(st) ? "signal" : "status",
			         WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), why,
			         q->qemu_err[0] ? ": " : "", q->qemu_err);
			return -1;
		}
	snprintf(err, errlen, "QEMU %s: %s", qemu, why);
	return -1;
}

/* This QEMU ended before the plugin came up.  Where it said why, naming the
 * plugin, it will not load it: an error where it was asked for, else say so
 * once and start QEMU again without it, to check in full.  A QEMU that ended
 * without a word of the plugin (`--qemu /bin/true`) is the error.
 * 0, or -1 with err. */
static int plugin_refused(struct vm *vm, const struct vm_config *cfg, const char *qemu,
                          const char *guest_path, const char *plugin, int st, char *err,
                          size_t errlen)
{
	struct qemu_vm *q = QEMU(vm);
	char *nl = strchr(q->qemu_err, '\n');

	if (nl != NULL)
		*nl = '\0';
	if (strcasestr(q->qemu_err, "plugin") == NULL) { /* it ended, refusing nothing */
		snprintf(err, errlen, "QEMU %s exited (%s %d) before it started the guest%s%s",
		         qemu, WIFSIGNALED(st) ? "signal" : "status",
		         WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
		         q->qemu_err[0] ? ": " : " and said nothing", q->qemu_err);
		return -1;
	}
	if (cfg->dirty_mode == VM_DIRTY_PLUGIN) {
		snprintf(err, errlen, "--dirty-log plugin: QEMU refused %s: %s", plugin,
		         q->qemu_err[0] ? q->qemu_err : "no reason given");
		return -1;
	}
	fprintf(stderr,
	        "ptshadow: QEMU refused the dirty-log plugin %s (%s); checking without a "
	        "dirty log\n",
	        plugin, q->qemu_err[0] ? q->qemu_err : "no reason given");
	qemu_close_fds(q);
	tcg_dirty_close(q->dirty);
	q->dirty = NULL;
	q->qemu_err_len = 0;
	q->qemu_err[0] = '\0';
	vm->dirty_mode = VM_DIRTY_NONE;
	vm->caps &= ~VM_CAP_DIRTY_LOG;
	return qemu_launch(vm, qemu, guest_path, cfg, NULL, err, errlen) != 0 ? -1 : 0;
}

static int qemu_create(struct vm *vm, const char *guest_path, const struct vm_config *cfg,
                       char *err, size_t errlen)
{
	struct qemu_vm *q;
	char qemu[512], plugin[512];
	int rc, st = 0;

	if (qemu_state_init(vm, err, errlen) != 0)
		return EXIT_INTERNAL;
	q = QEMU(vm);
	/* our QEMU inherits our CPUs: on one, it is the CPU we run on */
	q->spin_us = vm_guest_spin_us(vm_on_one_cpu());
	rc = qemu_find_binary(cfg->qemu_path, qemu, sizeof(qemu), err, errlen);
	if (rc != 0)
		return rc;
	if (ram_create(vm, (uint64_t)cfg->mem_mib << 20, err, errlen) != 0)
		return EXIT_INTERNAL;
	/* vm_create has checked the image; QEMU's own PVH loader loads it */
	if (vm_dirty_alloc(vm, vm->mem.size, err, errlen) != 0)
		return EXIT_INTERNAL;
	rc = plugin_setup(vm, cfg, plugin, sizeof(plugin), err, errlen);
	if (rc != 0)
		return rc;
	if (q->dirty != NULL)
		vm->caps |= VM_CAP_DIRTY_LOG;
	q->qmp_wait_ms = qmp_wait_for(cfg->timeout_s);
	if (qemu_launch(vm, qemu, guest_path, cfg, q->dirty != NULL ? plugin : NULL, err, errlen) !=
	    0)
		return EXIT_INTERNAL;
	if (q->dirty != NULL && !plugin_accepted(vm, &st) &&
	    plugin_refused(vm, cfg, qemu, guest_path, plugin, st, err, errlen) != 0)
		return EXIT_INTERNAL;
	return qemu_handshake(vm, qemu, err, errlen) == 0 ? 0 : EXIT_INTERNAL;
}

void qemu_state_free(struct vm *vm)
{
	struct qemu_vm *q = QEMU(vm);

	if (q == NULL)
		return;
	qemu_close_fds(q);
	if (q->ram_fd >= 0)
		close(q->ram_fd);
	free(q->qmp_buf);
	free(q->walk_cache);
	if (q->dirty != NULL)
		tcg_dirty_close(q->dirty);
	free(q);
	vm->be = NULL;
}

static void qemu_destroy(struct vm *vm)
{
	struct qemu_vm *q = QEMU(vm);

	if (q != NULL && q->pid > 0)
		qemu_reap(q, true);
	qemu_state_free(vm);
}

/* ---- the run loop ---------------------------------------------------------- */

struct pts_doorbell *qemu_doorbell(struct vm *vm)
{
	struct qemu_vm *q = QEMU(vm);

	return q->db_gpa != 0 ? gmem_ptr(&vm->mem, q->db_gpa, sizeof(struct pts_doorbell), 8)
	                      : NULL;
}

/*
 * The virtual-page log is paused while the guest waits for us: its wait loop
 * only reloads the doorbell word from a page it touched before it called
 * (so no walk of it can change a table), but every reload would put that
 * page back into the log while a harvest is taking it out.
 */
void qemu_vpages_log(struct vm *vm, bool on)
{
	struct qemu_vm *q = QEMU(vm);

	if (q->dirty != NULL && vm->dirty_logging)
		tcg_dirty_enable_vpages(q->dirty, on);
}

void qemu_release(struct vm *vm, uint32_t command)
{
	struct qemu_vm *q = QEMU(vm);
	struct pts_doorbell *db = qemu_doorbell(vm);

	if (!q->waiting || db == NULL)
		return;
	qemu_vpages_log(vm, true);
	db->command = command;
	__atomic_store_n(&db->ack, q->waiting_seq, __ATOMIC_RELEASE);
	q->waiting = false;
	/* store ack, fence, load sleeping: the guest does the mirror image, so
	 * one of us sees the other's store (abi.h) */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&db->sleeping, __ATOMIC_RELAXED) == q->waiting_seq) {
		static const uint8_t wake = PTS_DB_WAKE;
		/* a full socket means QEMU has a byte for the guest already */
		if (write(q->db_fd, &wake, 1) == 1)
			vm->guest_wakes++;
	}
}

void qemu_continue(struct vm *vm)
{
	qemu_release(vm, PTS_DB_CONTINUE);
}

static void drain_console(struct vm *vm)
{
	char buf[512];
	ssize_t n;

	while ((n = read(QEMU(vm)->cons_fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			console_putc(&vm->cons, buf[i]);
}

static void drain_stderr(struct qemu_vm *q)
{
	char buf[512];
	ssize_t n;

	while ((n = read(q->err_fd, buf, sizeof(buf))) > 0) {
		size_t room = sizeof(q->qemu_err) - 1 - q->qemu_err_len;
		size_t k = (size_t)n < room ? (size_t)n : room;
		memcpy(q->qemu_err + q->qemu_err_len, buf, k);
		q->qemu_err_len += k;
		q->qemu_err[q->qemu_err_len] = '\0';
	}
}

/* QEMU exited 0, or paused the machine at the guest's shutdown: the guest
 * did it (its SHUTDOWN event says so), or someone outside did. */
static enum vm_event qemu_shut_down(struct vm *vm)
{
	struct qemu_vm *q = QEMU(vm);

	/* reboot=shutdown: a triple fault resets, and the reset is a shutdown */
	if (q->qmp_shutdown_guest) {
		snprintf(vm->error, sizeof(vm->error), "guest shut down (%s)",
		         strcmp(q->qmp_shutdown, "guest-reset") == 0 ? "triple fault"
		                                                     : q->qmp_shutdown);
		return VM_EV_SHUTDOWN;
	}
	if (q->qmp_shutdown[0] != '\0')
		snprintf(vm->error, sizeof(vm->error),
		         "QEMU was shut down from outside (QMP SHUTDOWN event, reason %s)",
		         q->qmp_shutdown);
	else
		snprintf(vm->error, sizeof(vm->error),
		         "QEMU exited (status 0) without saying why (no SHUTDOWN event on "
		         "QMP)%s%s",
		         q->qemu_err[0] ? ": " : "", q->qemu_err);
	return VM_EV_KVM_ERROR;
}

/* The guest shut the machine down (a triple fault) and QEMU paused it
 * (-action shutdown=pause, qemu_launch.c): its SHUTDOWN event, noted on QMP
 * (during a command, or read here).  VM_EV_SHUTDOWN, or VM_EV_NONE. */
enum vm_event qemu_machine_stopped(struct vm *vm)
{
	struct qemu_vm *q = QEMU(vm);

	if (q->host == NULL && !q->qmp_shutdown_guest)
		qmp_drain(q); /* what has arrived only: never waits */
	return q->qmp_shutdown_guest ? qemu_shut_down(vm) : VM_EV_NONE;
}

/* QEMU has gone: what the guest (or QEMU) did, as an event. */
enum vm_event qemu_gone(struct vm *vm)
{
	struct qemu_vm *q = QEMU(vm);
	int st;
	char *nl;

	drain_console(vm);
	q->running = false;
	if (q->host != NULL)
		return q->host->gone(vm);
	drain_stderr(q);
	st = qemu_reap(q, false);
	qmp_drain(q); /* its last words: a SHUTDOWN event, with who caused it */
	nl = strchr(q->qemu_err, '\n');
	if (nl != NULL)
		*nl = '\0';
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return qemu_shut_down(vm);
	if (WIFEXITED(st) && (WEXITSTATUS(st) == 33 || WEXITSTATUS(st) == 35)) {
		/* isa-debug-exit: the guest exited before it had a doorbell */
		vm->exit_status = WEXITSTATUS(st) == 33 ? 0 : 1;
		return VM_EV_EXIT;
	}
	if (WIFSIGNALED(st))
		snprintf(vm->error, sizeof(vm->error), "QEMU died of signal %d%s%s", WTERMSIG(st),
		         q->qemu_err[0] ? ": " : "", q->qemu_err);
	else
		snprintf(vm->error, sizeof(vm->error), "QEMU exited with status %d%s%s",
		         WEXITSTATUS(st), q->qemu_err[0] ? ": " : "", q->qemu_err);
	return VM_EV_KVM_ERROR;
}

/* QEMU did not answer on QMP (vm->error says how).  Its failure, unless it
 * has gone meanwhile: then who ended it decides (a triple fault of the
 * guest while we asked is still the guest's). */
static enum vm_event qemu_silent(struct vm *vm)
{
	struct pollfd p = {QEMU(vm)->db_fd, POLLIN, 0};

	if (QEMU(vm)->running && poll(&p, 1, 200) > 0 && (p.revents & (POLLHUP | POLLERR)))
		return qemu_gone(vm);
	return VM_EV_KVM_ERROR;
}

static enum vm_event guest_error(struct vm *vm, const char *msg)
{
	snprintf(vm->error, sizeof(vm->error), "guest doorbell: %s", msg);
	return VM_EV_GUEST_ERROR;
}

/* A call: copy the doorbell out, dispatch it as the port-I/O hypercall. */
/* The CR3 the guest reports is its word: a root in its RAM, and QEMU's
 * own from time to time (step.c checks it at a finding too).  An
 * event when it is not, else VM_EV_NONE. */
static enum vm_event said_cr3_checked(struct vm *vm, uint64_t cr3)
{
	if (gmem_ptr(&vm->mem, cr3 & QEMU_CR3_FRAME, PTS_PAGE_SIZE, PTS_PAGE_SIZE) == NULL) {
		snprintf(vm->error, sizeof(vm->error),
		         "guest doorbell: the guest reported CR3 %#llx, outside its RAM",
		         (unsigned long long)cr3);
		return VM_EV_GUEST_ERROR;
	}
	if (vm->hypercalls % QEMU_CR3_CHECK_EVERY == 0) {
		uint64_t t0 = now_ns();
		int rc = vm_cr3_verify(vm);
		forgive_stall(vm, t0);
		if (rc != 0)
			return rc > 0 ? VM_EV_GUEST_ERROR : qemu_silent(vm);
	}
	return VM_EV_NONE;
}

static enum vm_event doorbell_call(struct vm *vm)
{
	struct qemu_vm *q = QEMU(vm);
	struct pts_doorbell *db = qemu_doorbell(vm), d;
	enum vm_event ev;

	if (db == NULL)
		return guest_error(vm, "a call before the hello");
	memcpy(&d, db, sizeof(d));
	d.seq = __atomic_load_n(&db->seq, __ATOMIC_ACQUIRE);
	if (d.magic != PTS_DB_MAGIC)
		return guest_error(vm, "bad magic");
	qemu_vpages_log(vm, false);
	q->waiting = true;
	q->waiting_seq = d.seq;
	q->waiting_nr = d.nr;
	q->cr3 = d.cr3;
	vm->hypercalls++;
	drain_console(vm); /* what the guest printed before the call */
	if (d.nr >= PTS_HC_PORT_COUNT || d.record_pa > UINT32_MAX)
		return guest_error(vm, "call number or record out of range");
	ev = said_cr3_checked(vm, d.cr3);
	return ev != VM_EV_NONE ? ev : hypercall_dispatch(vm, d.nr, d.record_pa);
}

/* spin_us in TSC cycles (the guest's rdtsc is the host's); UINT_MAX: never halt */
static uint64_t qemu_spin_tsc(const struct vm *vm)
{
	unsigned us = QEMU(vm)->spin_us;

	return us == UINT_MAX ? 0 : (uint64_t)us * vm->tsc_khz / 1000 + 1;
}

/*
 * A call from another CPU's doorbell (abi.h, SMP).  This host serves CPU 0:
 * it takes an AP's panic record (the guest is ending anyway) and calls
 * anything else a guest error.  The doorbell is read through the checked
 * accessor, at the hello's address plus the CPU's.
 */
static enum vm_event doorbell_call_ap(struct vm *vm, unsigned cpu)
{
	struct qemu_vm *q = QEMU(vm);
	const struct pts_doorbell *db;
	struct pts_doorbell d;

	if (q->db_gpa == 0)
		return guest_error(vm, "a call before the hello");
	db = gmem_ptr(&vm->mem, q->db_gpa + (uint64_t)cpu * sizeof(d), sizeof(d), 8);
	if (db == NULL)
		return guest_error(vm, "an AP's doorbell outside guest RAM");
	memcpy(&d, db, sizeof(d));
	drain_console(vm);
	if (d.magic == PTS_DB_MAGIC && d.nr == PTS_HC_PANIC && d.record_pa <= UINT32_MAX)
		return hypercall_dispatch(vm, d.nr, d.record_pa);
	snprintf(vm->error, sizeof(vm->error),
	         "guest doorbell: CPU %u called (number %u); ptshadow serves CPU 0's doorbell only",
	         cpu, d.nr);
	return VM_EV_GUEST_ERROR;
}

static enum vm_event doorbell_byte(struct vm *vm, uint8_t b)
{
	struct qemu_vm *q = QEMU(vm);

	if (q->hello_want > 0) {
		q->hello[8 - q->hello_want--] = b;
		if (q->hello_want == 0) {
			uint64_t pa = 0;
			for (int i = 7; i >= 0; i--)
				pa = (pa << 8) | q->hello[i];
			q->db_gpa = pa;
			if (pa == 0 || qemu_doorbell(vm) == NULL) {
				q->db_gpa = 0;
				return guest_error(vm, "doorbell outside guest RAM or misaligned");
			}
			qemu_doorbell(vm)->spin_tsc = qemu_spin_tsc(vm);
		}
		return VM_EV_NONE;
	}
	if (b == PTS_DB_HELLO) {
		if (q->db_gpa != 0)
			return guest_error(vm, "a second hello");
		q->hello_want = 8;
		return VM_EV_NONE;
	}
	if (b == PTS_DB_CALL)
		return doorbell_call(vm);
	if (b > PTS_DB_CALL_CPU(0) && b < PTS_DB_CALL_CPU(PTS_MAX_CPUS))
		return doorbell_call_ap(vm, b - PTS_DB_CALL_CPU(0));
	return guest_error(vm, "unknown byte on COM2");
}

#define QUIET_MS 1000 /* a guest silent this long is asked whether it halted */

static int ms_left(uint64_t deadline)
{
	uint64_t now = now_ns();
	int ms;

	if (deadline == 0)
		return QUIET_MS;
	ms = now >= deadline ? 0 : (int)((deadline - now) / 1000000 + 1);
	return ms < QUIET_MS ? ms : QUIET_MS;
}

/* "info registers" */
static char *registers(struct vm *vm, char *err, size_t errlen)
{
	return qemu_hmp(vm, "info registers", err, errlen);
}

/* "info registers" from QEMU, which must answer: NULL with vm->error if not */
static char *registers_now(struct vm *vm)
{
	char err[256], *regs;
	uint64_t t0 = now_ns();

	regs = registers(vm, err, sizeof(err));
	forgive_stall(vm, t0);
	if (regs == NULL)
		snprintf(vm->error, sizeof(vm->error), "%s", err);
	return regs;
}

int qemu_answers(struct vm *vm, uint64_t *took_ns)
{
	uint64_t t0 = now_ns();
	char *regs = registers_now(vm);

	*took_ns = now_ns() - t0;
	free(regs);
	return regs != NULL ? 0 : -1;
}

/* A quiet guest: hlt with interrupts off (nothing here will ever wake the
 * vCPU) is VM_EV_HLT; QEMU that does not say is its failure */
static enum vm_event halted_for_good(struct vm *vm)
{
	char *regs = registers_now(vm);
	uint64_t hlt, efl;
	bool dead;

	if (regs == NULL)
		return qemu_silent(vm);
	dead = qmp_reg(regs, "HLT", &hlt) == 0 && hlt == 1 && qmp_reg(regs, "RFL", &efl) == 0 &&
	       !(efl & 0x200);
	free(regs);
	if (!dead)
		return VM_EV_NONE;
	snprintf(vm->error, sizeof(vm->error), "guest halted (hlt) and nothing will wake it");
	return VM_EV_HLT;
}

/* The deadline passed: the guest hangs, unless QEMU is what stood still (it
 * does not answer, or only after a stall, which moves the deadline) */
static enum vm_event deadline_passed(struct vm *vm)
{
	uint64_t deadline = vm->deadline_ns;
	char *regs = registers_now(vm);

	if (regs == NULL)
		return qemu_silent(vm);
	free(regs);
	if (vm->deadline_ns != deadline)
		return VM_EV_NONE;
	snprintf(vm->error, sizeof(vm->error), "guest made no progress for %u s (--timeout)",
	         vm->timeout_s);
	return VM_EV_TIMEOUT;
}

/* The same lines as the KVM backend prints, from QEMU's "info registers". */
void qemu_dump_regs(struct vm *vm, FILE *f)
{
	static const char *const names[] = {"RIP", "RSP", "RFL", "RAX", "RBX", "RCX", "RDX", "RSI",
	                                    "RDI", "RBP", "R8",  "R9",  "R10", "R11", "R12", "R13",
	                                    "R14", "R15", "CR0", "CR2", "CR3", "CR4", "EFER"};
	uint64_t r[sizeof(names) / sizeof(names[0])];
	char err[256], *regs = registers(vm, err, sizeof(err));

	if (regs == NULL) {
		fprintf(f, "  (registers unavailable: %s)\n", err);
		return;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (qmp_reg(regs, names[i], &r[i]) != 0)
			r[i] = 0;
	free(regs);
	fprintf(f, "  rip %016llx rsp %016llx rflags %016llx\n", (unsigned long long)r[0],
	        (unsigned long long)r[1], (unsigned long long)r[2]);
	fprintf(f, "  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n", (unsigned long long)r[3],
	        (unsigned long long)r[4], (unsigned long long)r[5], (unsigned long long)r[6]);
	fprintf(f, "  rsi %016llx rdi %016llx rbp %016llx r8  %016llx\n", (unsigned long long)r[7],
	        (unsigned long long)r[8], (unsigned long long)r[9], (unsigned long long)r[10]);
	fprintf(f, "  r9  %016llx r10 %016llx r11 %016llx r12 %016llx\n", (unsigned long long)r[11],
	        (unsigned long long)r[12], (unsigned long long)r[13], (unsigned long long)r[14]);
	fprintf(f, "  r13 %016llx r14 %016llx r15 %016llx\n", (unsigned long long)r[15],
	        (unsigned long long)r[16], (unsigned long long)r[17]);
	fprintf(f, "  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx efer %016llx\n",
	        (unsigned long long)r[18], (unsigned long long)r[19], (unsigned long long)r[20],
	        (unsigned long long)r[21], (unsigned long long)r[22]);
}

/* The deadline (vm->deadline_ns) runs from the guest's last progress, not
 * from this call: a guest that keeps calling without progress runs out. */
/* The doorbell's bytes: the event they end in (VM_EV_NONE: none yet). */
static enum vm_event doorbell_read(struct vm *vm)
{
	struct qemu_vm *q = QEMU(vm);
	uint8_t b[64];
	ssize_t k = read(q->db_fd, b, sizeof(b));

	if (k == 0)
		return qemu_gone(vm);
	for (ssize_t i = 0; i < k; i++) {
		enum vm_event ev = doorbell_byte(vm, b[i]);
		vm->exits++;
		if (ev == VM_EV_NONE && q->waiting) {
			qemu_release(vm, PTS_DB_CONTINUE);
			continue;
		}
		if (ev != VM_EV_NONE) {
			if (i + 1 < k) /* the guest waits for us: nothing can follow */
				return guest_error(vm, "bytes after a call");
			return ev;
		}
	}
	return VM_EV_NONE;
}

/* What poll found on the doorbell [0], the console [1], QEMU's stderr [2]
 * and QMP [3]: the event the doorbell's bytes end in, QEMU gone or the
 * machine stopped, or VM_EV_NONE. */
static enum vm_event polled(struct vm *vm, const struct pollfd p[4])
{
	if (p[1].revents & POLLIN)
		drain_console(vm);
	if (p[2].revents & POLLIN)
		drain_stderr(QEMU(vm));
	if (p[0].revents & POLLIN)
		return doorbell_read(vm);
	if (p[0].revents & (POLLHUP | POLLERR))
		return qemu_gone(vm);
	if (p[3].revents & POLLIN)
		return qemu_machine_stopped(vm);
	return VM_EV_NONE;
}

/* One wait for QEMU's doorbell, console or stderr, or the deadline: the
 * event it ended in, or VM_EV_NONE to wait again. */
static enum vm_event poll_once(struct vm *vm)
{
	struct qemu_vm *q = QEMU(vm);
	struct pollfd p[4] = {{q->db_fd, POLLIN, 0},
	                      {q->cons_fd, POLLIN, 0},
	                      {q->err_fd, POLLIN, 0},
	                      {q->host == NULL ? q->qmp_fd : -1, POLLIN, 0}};
	enum vm_event ev = q->qmp_shutdown_guest ? qemu_shut_down(vm) : VM_EV_NONE;
	int n;

	if (ev == VM_EV_NONE && vm->deadline_ns != 0 && now_ns() >= vm->deadline_ns)
		ev = deadline_passed(vm);
	if (ev != VM_EV_NONE)
		return ev;
	n = poll(p, 4, ms_left(vm->deadline_ns));
	if (n < 0 && errno != EINTR) {
		snprintf(vm->error, sizeof(vm->error), "poll: %s", strerror(errno));
		return VM_EV_KVM_ERROR;
	}
	if (vm_interrupted) {
		snprintf(vm->error, sizeof(vm->error), "interrupted");
		return VM_EV_INTERRUPTED;
	}
	if (n == 0)
		return q->waiting ? VM_EV_NONE : halted_for_good(vm);
	return n > 0 ? polled(vm, p) : VM_EV_NONE;
}

enum vm_event qemu_run(struct vm *vm)
{
	struct qemu_vm *q = QEMU(vm);

	if (!q->running) {
		snprintf(vm->error, sizeof(vm->error), "QEMU is not running");
		return VM_EV_KVM_ERROR;
	}
	qemu_release(vm, PTS_DB_CONTINUE);
	for (;;) {
		enum vm_event ev = poll_once(vm);
		if (ev != VM_EV_NONE)
			return ev;
	}
}

uint64_t qemu_cr3(struct vm *vm)
{
	return QEMU(vm)->cr3;
}

/* QEMU's own CR3 (QMP), while the guest waits in a call */
int qemu_cr3_actual(struct vm *vm, uint64_t *cr3)
{
	char err[256], *regs;
	int rc;

	if (!QEMU(vm)->waiting) {
		snprintf(vm->error, sizeof(vm->error),
		         "CR3 check: the guest is not stopped in a call");
		return -1;
	}
	regs = registers(vm, err, sizeof(err));
	if (regs == NULL) {
		snprintf(vm->error, sizeof(vm->error), "CR3 check: %s", err);
		return -1;
	}
	rc = qmp_reg(regs, "CR3", cr3);
	free(regs);
	if (rc != 0)
		snprintf(vm->error, sizeof(vm->error), "CR3 check: no CR3 in QEMU's registers");
	return rc;
}

static bool qemu_available(const struct vm_config *cfg, char *why, size_t len)
{
	char path[512];

	return qemu_find_binary(cfg != NULL ? cfg->qemu_path : NULL, path, sizeof(path), why,
	                        len) == 0;
}

/* the QEMU binary: its path, size and time (a new QEMU is measured anew) */
static void qemu_identity(const struct vm_config *cfg, char *buf, size_t len)
{
	char path[512], err[256];
	struct stat st;

	if (qemu_find_binary(cfg != NULL ? cfg->qemu_path : NULL, path, sizeof(path), err,
	                     sizeof(err)) != 0 ||
	    stat(path, &st) != 0)
		snprintf(buf, len, "no qemu");
	else
		snprintf(buf, len, "%s %lld %lld", path, (long long)st.st_size,
		         (long long)st.st_mtime);
}

const struct vm_backend vm_backend_qemu = {
    .name = "qemu",
    .dirty_logs = 1u << VM_DIRTY_PLUGIN | 1u << VM_DIRTY_NONE,
    .accel_choice = true,
    .cpus_max = VM_CPUS_MAX,
    .runs_qemu = true,
    .engine = true,
    .available = qemu_available,
    .identity = qemu_identity,
    .create = qemu_create,
    .destroy = qemu_destroy,
    QEMU_GUEST_OPS,
};
