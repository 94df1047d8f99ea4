/* src/vm/vm.c - the backend-neutral VM: picks the backend, forwards to its
 * table, checks guest-physical ranges, and keeps the dirty-log sets that
 * every backend harvests into and every consumer reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "clock.h"
#include "vm_impl.h"

volatile sig_atomic_t vm_interrupted; /* set by SIGINT/SIGTERM handlers */

/* ---- backends ------------------------------------------------------------ */

static const char *const backend_names[] = {
    [VM_BACKEND_AUTO] = "auto",
    [VM_BACKEND_KVM] = "kvm",
    [VM_BACKEND_QEMU] = "qemu",
    [VM_BACKEND_LIBVIRT] = "libvirt",
};

/* the backends, in the order a question about "the backend that ..." is asked */
static const struct vm_backend *const backends[] = {
    [VM_BACKEND_KVM] = &vm_backend_kvm,
    [VM_BACKEND_QEMU] = &vm_backend_qemu,
    [VM_BACKEND_LIBVIRT] = &vm_backend_libvirt,
};
#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

static const struct vm_backend *backend_of(enum vm_backend_kind k)
{
	return k > VM_BACKEND_AUTO && (size_t)k < NBACKENDS ? backends[k] : &vm_backend_qemu;
}

/* the first backend whose table says `has`, AUTO when none does */
static enum vm_backend_kind first_backend(bool (*has)(const struct vm_backend *b, unsigned arg),
                                          unsigned arg)
{
	for (size_t k = VM_BACKEND_AUTO + 1; k < NBACKENDS; k++)
		if (has(backends[k], arg))
			return (enum vm_backend_kind)k;
	return VM_BACKEND_AUTO;
}

static bool keeps_log(const struct vm_backend *b, unsigned d)
{
	return (b->dirty_logs & 1u << d) != 0;
}

bool vm_backend_keeps(enum vm_backend_kind k, enum vm_dirty_mode d)
{
	return k == VM_BACKEND_AUTO || d == VM_DIRTY_AUTO || keeps_log(backend_of(k), d);
}

enum vm_backend_kind vm_backend_keeping(enum vm_dirty_mode d)
{
	return first_backend(keeps_log, d);
}

const char *vm_backend_dirty_refusal(enum vm_backend_kind k, enum vm_dirty_mode d, char *buf,
                                     size_t len)
{
	if (vm_backend_keeps(k, d))
		return NULL;
	if (backend_of(k)->dirty_refusal != NULL)
		snprintf(buf, len, "--dirty-log %s: %s", vm_dirty_mode_name(d),
		         backend_of(k)->dirty_refusal);
	else
		snprintf(buf, len, "--dirty-log %s needs --backend %s", vm_dirty_mode_name(d),
		         vm_backend_name(vm_backend_keeping(d)));
	return buf;
}

const char *vm_backend_dirty_cpus_refusal(enum vm_backend_kind k, enum vm_dirty_mode d,
                                          unsigned cpus, char *buf, size_t len)
{
	const struct vm_backend *b = k == VM_BACKEND_AUTO ? NULL : backend_of(k);

	if (cpus < 2 || b == NULL || (b->dirty_logs_one_cpu & 1u << d) == 0)
		return NULL;
	snprintf(buf, len, "--dirty-log %s with --cpus %u on %s: %s", vm_dirty_mode_name(d), cpus,
	         b->name, b->dirty_one_cpu_why);
	return buf;
}

unsigned vm_backend_cpus_max(enum vm_backend_kind k)
{
	return k == VM_BACKEND_AUTO ? VM_CPUS_MAX : backend_of(k)->cpus_max;
}

static bool runs_cpus(const struct vm_backend *b, unsigned n)
{
	return b->cpus_max >= n;
}

enum vm_backend_kind vm_backend_running(unsigned n)
{
	return first_backend(runs_cpus, n);
}

static bool has_accel(const struct vm_backend *b, unsigned unused)
{
	return b->accel_choice;
}

enum vm_backend_kind vm_backend_with_accel(void)
{
	return first_backend(has_accel, 0);
}

bool vm_backend_runs_qemu(enum vm_backend_kind k)
{
	return k == VM_BACKEND_AUTO || backend_of(k)->runs_qemu;
}

/* the backends whose table says `has`, in table order: at most max */
static size_t list_backends(bool (*has)(const struct vm_backend *b), enum vm_backend_kind *out,
                            size_t max)
{
	size_t n = 0;

	for (size_t k = VM_BACKEND_AUTO + 1; k < NBACKENDS && n < max; k++)
		if (has(backends[k]))
			out[n++] = (enum vm_backend_kind)k;
	return n;
}

static bool is_engine(const struct vm_backend *b)
{
	return b->engine;
}

static bool runs_qemu(const struct vm_backend *b)
{
	return b->runs_qemu;
}

size_t vm_backend_engines(enum vm_backend_kind *out, size_t max)
{
	return list_backends(is_engine, out, max);
}

size_t vm_backend_qemu_runners(enum vm_backend_kind *out, size_t max)
{
	return list_backends(runs_qemu, out, max);
}

const char *vm_backend_accel_refusal(enum vm_backend_kind k)
{
	return k == VM_BACKEND_AUTO ? NULL : backend_of(k)->accel_refusal;
}

const char *vm_backend_accel(enum vm_backend_kind k, bool qemu_kvm)
{
	if (k == VM_BACKEND_AUTO || !backend_of(k)->accel_choice)
		return "";
	return qemu_kvm ? "kvm" : "tcg";
}

/* how a banner names the accelerator of a QEMU */
static const char *accel_words(bool qemu_kvm)
{
	return qemu_kvm ? " (-accel kvm)" : " (tcg)";
}

const char *vm_backend_accel_note(enum vm_backend_kind k, bool qemu_kvm)
{
	return vm_backend_accel(k, qemu_kvm)[0] != '\0' ? accel_words(qemu_kvm) : "";
}

static bool has_template(const struct vm_backend *b, unsigned unused)
{
	return b->template_check != NULL;
}

enum vm_backend_kind vm_backend_with_template(void)
{
	return first_backend(has_template, 0);
}

bool vm_backend_takes_template(enum vm_backend_kind k)
{
	return k != VM_BACKEND_AUTO && has_template(backend_of(k), 0);
}

int vm_backend_template_check(enum vm_backend_kind k, const char *path, char *err, size_t errlen)
{
	return vm_backend_takes_template(k) ? backend_of(k)->template_check(path, err, errlen) : 0;
}

const char *vm_backend_missing(enum vm_backend_kind k)
{
	const char *why = k == VM_BACKEND_AUTO ? NULL : backend_of(k)->missing;

	return why != NULL && vm_backend_resolve(VM_BACKEND_AUTO) != k ? why : NULL;
}

const char *vm_backend_name(enum vm_backend_kind k)
{
	return (unsigned)k < sizeof(backend_names) / sizeof(backend_names[0]) ? backend_names[k]
	                                                                      : "?";
}

int vm_backend_parse(const char *s, enum vm_backend_kind *out)
{
	for (unsigned i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++)
		if (strcmp(s, backend_names[i]) == 0) {
			*out = (enum vm_backend_kind)i;
			return 0;
		}
	return -1;
}

enum vm_backend_kind vm_backend_resolve(enum vm_backend_kind k)
{
	int fd;

	if (k != VM_BACKEND_AUTO)
		return k;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return VM_BACKEND_QEMU;
	close(fd);
	return VM_BACKEND_KVM;
}

bool vm_backend_available(enum vm_backend_kind k, const struct vm_config *cfg, char *why,
                          size_t len)
{
	return backend_of(k)->available(cfg, why, len);
}

void vm_backend_identity(enum vm_backend_kind k, const struct vm_config *cfg, char *buf, size_t len)
{
	buf[0] = '\0';
	if (backend_of(k)->identity != NULL)
		backend_of(k)->identity(cfg, buf, len);
}

int vm_check_image(const char *guest_path, unsigned mem_mib, char *err, size_t errlen)
{
	/* the image must fit below the lowest memory hole any backend has */
	uint64_t mem = (uint64_t)mem_mib << 20;
	struct gmem probe = {.base = NULL, .size = mem < (3ull << 30) ? mem : 3ull << 30};
	struct elf_image img;

	return elf_load(guest_path, &probe, &img, err, errlen) != 0 ? EXIT_USAGE : 0;
}

int vm_create(struct vm **out, const char *guest_path, const struct vm_config *cfg, char *err,
              size_t errlen)
{
	enum vm_backend_kind kind = vm_backend_resolve(cfg->backend);
	struct vm *vm = *out = calloc(1, sizeof(*vm));

	if (vm == NULL) {
		snprintf(err, errlen, "out of memory");
		return EXIT_INTERNAL;
	}
	if (vm_check_image(guest_path, cfg->mem_mib, err, errlen) != 0)
		return EXIT_USAGE; /* before any VM or process exists */
	vm->kind = kind;
	vm->accel_kvm = backend_of(kind)->accel_choice && cfg->qemu_kvm;
	vm->mttcg = kind == VM_BACKEND_QEMU && !vm->accel_kvm && cfg->parallel && cfg->cpus > 1;
	vm->backend = backend_of(kind);
	vm->timeout_s = cfg->timeout_s;
	vm->cons.out = cfg->console;
	vm->cons.prefix = cfg->console_prefix;
	return vm->backend->create(vm, guest_path, cfg, err, errlen);
}

void vm_destroy(struct vm *vm)
{
	if (vm == NULL)
		return;
	console_end_op(&vm->cons);
	console_flush(&vm->cons);
	if (vm->backend != NULL)
		vm->backend->destroy(vm);
	vm_ram_unmap(vm); /* after the backend: KVM's memslot, QEMU, are gone */
	vm_dirty_free(vm);
	free(vm);
}

enum vm_event vm_event(const struct vm *vm)
{
	return vm->event;
}

void vm_event_set(struct vm *vm, enum vm_event ev)
{
	vm->event = ev;
}

const char *vm_error(const struct vm *vm)
{
	return vm->error;
}

const struct pts_hc_panic *vm_panic(const struct vm *vm)
{
	return &vm->panic;
}

uint32_t vm_exit_status(const struct vm *vm)
{
	return vm->exit_status;
}

uint64_t vm_desc_gpa(const struct vm *vm)
{
	return vm->desc_gpa;
}

const struct gmem *vm_mem(const struct vm *vm)
{
	return &vm->mem;
}

const char *vm_name(const struct vm *vm)
{
	return vm_backend_name(vm->kind);
}

size_t vm_console_tail(const struct vm *vm, char *buf, size_t len)
{
	size_t n = vm->cons.tail_len < len ? vm->cons.tail_len : len;

	memcpy(buf, vm->cons.tail, n);
	return n;
}

void vm_stats(const struct vm *vm, struct vm_stats *st)
{
	*st = (struct vm_stats){
	    .tsc_khz = vm->tsc_khz,
	    .dirty_mode = vm->dirty_mode,
	    .dirty_logging = vm->dirty_logging,
	    .dirty_syncs = vm->dirty_syncs,
	    .dirty_harvest_ns = vm->dirty_harvest_ns,
	    .ring_entries_read = vm->ring_entries_read,
	    .ring_overflows = vm->ring_overflows,
	    .guest_wakes = vm->guest_wakes,
	};
}

const struct pfn_set *vm_dirty_last(const struct vm *vm)
{
	return &vm->dirty_last;
}

enum vm_event vm_run(struct vm *vm)
{
	enum vm_event ev;

	if (vm->progress || vm->deadline_ns == 0)
		vm_deadline_arm(vm);
	ev = vm->backend->run(vm);
	vm->event = ev;
	return ev;
}

void vm_progress(struct vm *vm)
{
	vm->progress = true;
}

void vm_deadline_arm(struct vm *vm)
{
	vm->deadline_ns = vm->timeout_s ? now_ns() + (uint64_t)vm->timeout_s * 1000000000ull : 0;
	vm->progress = false;
}

bool vm_can_release(const struct vm *vm)
{
	return vm->backend->release != NULL;
}

void vm_release(struct vm *vm)
{
	if (vm->backend->release != NULL)
		vm->backend->release(vm);
}

uint64_t vm_cr3(struct vm *vm)
{
	return vm->backend->cr3(vm);
}

int vm_cr3_verify(struct vm *vm)
{
	const uint64_t frame = 0x000ffffffffff000ull;
	uint64_t actual, said = vm->backend->cr3(vm);

	if (vm->backend->cr3_actual == NULL)
		return 0;
	if (vm->backend->cr3_actual(vm, &actual) != 0)
		return -1;
	if ((actual & frame) == (said & frame)) {
		vm->cr3_confirmed = said;
		vm->cr3_confirmed_at = vm->hypercalls;
		return 0;
	}
	snprintf(vm->error, sizeof(vm->error),
	         "the guest reported CR3 %#llx at its last call, but the vCPU's CR3 is %#llx",
	         (unsigned long long)said, (unsigned long long)actual);
	return 1;
}

/* At a finding: as vm_cr3_verify, unless the vCPU confirmed this same CR3
 * within the last VM_CR3_TRUST_CALLS calls (a finding at every op of a
 * --keep-going run would otherwise ask QEMU ~15 ms an op). */
int vm_cr3_verify_finding(struct vm *vm)
{
	if (vm->backend->cr3_actual != NULL && vm->cr3_confirmed_at != 0 &&
	    vm->backend->cr3(vm) == vm->cr3_confirmed &&
	    vm->hypercalls - vm->cr3_confirmed_at < VM_CR3_TRUST_CALLS)
		return 0;
	return vm_cr3_verify(vm);
}

void vm_dump_regs(struct vm *vm, FILE *f)
{
	if (!(vm->caps & VM_CAP_REGS) || vm->backend->dump_regs == NULL) {
		fprintf(f, "  (the %s backend cannot read the vCPU's registers)\n",
		        vm->backend->name);
		return;
	}
	vm->backend->dump_regs(vm, f);
}

void vm_vcpu_rips(struct vm *vm, uint64_t *rip, bool *known, unsigned n)
{
	memset(known, 0, n * sizeof(*known));
	if ((vm->caps & VM_CAP_REGS) && vm->backend->vcpu_rips != NULL)
		vm->backend->vcpu_rips(vm, rip, known, n);
}

#define SPIN_OWN_CPU_US    1000 /* longer than an incremental check, shorter than a full one */
#define SPIN_SHARED_CPU_US 0    /* halt at once */

static long cpus_allowed(void)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
	                                                    : sysconf(_SC_NPROCESSORS_ONLN);
}

bool vm_on_one_cpu(void)
{
	return cpus_allowed() == 1;
}

unsigned vm_guest_spin_us(bool shares_cpu)
{
	return shares_cpu || cpus_allowed() < 2 ? SPIN_SHARED_CPU_US : SPIN_OWN_CPU_US;
}

const char *vm_describe(const struct vm *vm, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s, dirty log %s", vm_backend_name(vm->kind),
	         !vm->backend->runs_qemu ? ""
	         : vm->mttcg             ? " (tcg, a thread per vCPU)"
	                                 : accel_words(vm->accel_kvm),
	         vm_dirty_mode_name(vm->dirty_mode));
	return buf;
}

/* ---- dirty log ------------------------------------------------------------- */

static const char *const mode_names[] = {
    [VM_DIRTY_AUTO] = "auto", [VM_DIRTY_RING] = "ring",     [VM_DIRTY_CLEAR] = "clear",
    [VM_DIRTY_GET] = "get",   [VM_DIRTY_PLUGIN] = "plugin", [VM_DIRTY_NONE] = "none",
};

const char *vm_dirty_mode_name(enum vm_dirty_mode m)
{
	return (unsigned)m < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[m] : "?";
}

int vm_dirty_mode_parse(const char *s, enum vm_dirty_mode *out)
{
	for (unsigned i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(s, mode_names[i]) == 0) {
			*out = (enum vm_dirty_mode)i;
			return 0;
		}
	return -1;
}

int pfn_set_init(struct pfn_set *p, uint64_t words)
{
	p->bits = calloc(words, sizeof(uint64_t));
	p->n = p->cap = 0;
	p->pfns = NULL;
	p->all = false;
	return p->bits == NULL ? -1 : 0;
}

int pfn_set_add(struct pfn_set *p, uint64_t pfn)
{
	uint64_t bit = 1ull << (pfn % 64);

	if (p->bits[pfn / 64] & bit)
		return 0;
	if (ARRAY_GROW(p->pfns, p->cap, p->n, 256) != 0)
		return -1;
	p->bits[pfn / 64] |= bit;
	p->pfns[p->n++] = pfn;
	return 0;
}

void pfn_set_clear(struct pfn_set *p)
{
	for (uint64_t i = 0; i < p->n; i++)
		p->bits[p->pfns[i] / 64] = 0;
	p->n = 0;
	p->all = false;
}

void pfn_set_free(struct pfn_set *p)
{
	free(p->bits);
	free(p->pfns);
	memset(p, 0, sizeof(*p));
}

int vm_dirty_alloc(struct vm *vm, uint64_t mem_size, char *err, size_t errlen)
{
	uint64_t words = (mem_size / PTS_PAGE_SIZE + 63) / 64;

	vm->dirty_words = words;
	if (pfn_set_init(&vm->dirty_fresh, words) || pfn_set_init(&vm->dirty_last, words) ||
	    pfn_set_init(&vm->dirty_since, words)) {
		snprintf(err, errlen, "dirty log: out of memory");
		return -1;
	}
	return 0;
}

int vm_dirty_start(struct vm *vm)
{
	if (vm->dirty_logging)
		return 0;
	if (vm->dirty_mode == VM_DIRTY_NONE) {
		vm->dirty_logging = true;
		return 0;
	}
	return vm->backend->dirty_start(vm);
}

int vm_dirty_harvest(struct vm *vm, bool ring_full)
{
	uint64_t t0 = now_ns();
	int rc;

	if (vm->dirty_fresh.bits == NULL || !vm->dirty_logging) {
		snprintf(vm->error, sizeof(vm->error), "dirty log not started");
		return -1;
	}
	if (vm->dirty_mode == VM_DIRTY_NONE) {
		vm->dirty_fresh.all = true; /* no log: any page may have been written */
		return 0;
	}
	rc = vm->backend->dirty_harvest(vm, ring_full);
	vm->dirty_harvests++;
	vm->dirty_harvest_ns += now_ns() - t0;
	return rc;
}

int vm_dirty_poll(struct vm *vm)
{
	if (vm->dirty_mode != VM_DIRTY_RING || !vm->dirty_logging)
		return 0;
	return vm_dirty_harvest(vm, false);
}

int vm_dirty_sync(struct vm *vm)
{
	struct pfn_set t;

	if (vm_dirty_harvest(vm, false) != 0)
		return -1;
	pfn_set_clear(&vm->dirty_last);
	t = vm->dirty_last;
	vm->dirty_last = vm->dirty_fresh;
	vm->dirty_fresh = t;
	vm->dirty_since.all |= vm->dirty_last.all;
	for (uint64_t i = 0; i < vm->dirty_last.n; i++)
		if (pfn_set_add(&vm->dirty_since, vm->dirty_last.pfns[i]) != 0) {
			snprintf(vm->error, sizeof(vm->error), "dirty log: out of memory");
			return -1;
		}
	vm->dirty_syncs++;
	return 0;
}

void vm_dirty_since_clear(struct vm *vm)
{
	pfn_set_clear(&vm->dirty_since);
}

bool vm_page_dirty(void *ctx, uint64_t gpa)
{
	const struct vm *vm = ctx;
	uint64_t pfn = gpa / PTS_PAGE_SIZE;

	if (vm->dirty_last.bits == NULL || vm->dirty_last.all || pfn / 64 >= vm->dirty_words)
		return true; /* unknown: assume written */
	return (vm->dirty_last.bits[pfn / 64] >> (pfn % 64)) & 1;
}

void vm_dirty_free(struct vm *vm)
{
	pfn_set_free(&vm->dirty_fresh);
	pfn_set_free(&vm->dirty_last);
	pfn_set_free(&vm->dirty_since);
	vm->dirty_words = 0;
}
