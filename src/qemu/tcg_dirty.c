/* src/qemu/tcg_dirty.c - the host side of ptsdirty.so: makes the shared region QEMU
 * inherits, switches logging on and off, and harvests the pages the guest wrote.
 *
 * The region's layout and its rules are in plugin/ptsdirty_shm.h.  The plugin
 * runs inside QEMU, which runs guest code, so this file treats the region as
 * hostile: its geometry is kept here and never re-read, each count is bounded
 * by its capacity, each pfn by gpa_pages, each slot index by the table size,
 * and the memfd is sealed so QEMU cannot shrink it under our mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tcg_dirty.h"
#include "plugin/ptsdirty_shm.h"

/* A harvest that keeps seeing new entries gives up and reports them lost. */
#define HARVEST_TRIES 8

/* A vCPU's block (ptsdirty_shm.h), as pointers into our mapping. */
struct vcpu_block {
	struct ptsdirty_vcpu *head;
	uint64_t *pfn_list, *vpage_table, *vpage_list;
};

struct tcg_dirty {
	int fd;
	struct ptsdirty_shm *shm;
	size_t bytes;
	uint64_t *bitmap;
	struct vcpu_block vcpu[PTSDIRTY_MAX_VCPUS];
	uint64_t gpa_pages, list_cap, vpage_slots, vpage_cap;
	unsigned nvcpus;
};

/* One log (pfns or vpages) of one vCPU: the count in its head and what it may hold. */
struct log_view {
	uint64_t *n, *overflow;
	uint64_t cap;
};

/* Where a harvest hands its entries (and which vCPU's block it drains). */
struct sink {
	void (*add_pfn)(void *ctx, uint64_t pfn);
	void (*add_vpage)(void *ctx, unsigned vcpu, uint64_t va, bool is_store);
	void *ctx;
	unsigned vcpu;
};

static int fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "tcg dirty log: %s: %s", what, strerror(errno));
	return -1;
}

/* The region: a sealed memfd QEMU inherits, or (path) a file a QEMU that
 * cannot inherit our fds opens by name; its creator removes it once the
 * plugin has mapped it. */
static int make_memfd(struct tcg_dirty *d, const char *path, char *err, size_t errlen)
{
	if (path != NULL) {
		d->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (d->fd < 0)
			return fail(err, errlen, path);
		/* QEMU may run as another user (libvirt-qemu) */
		if (fchmod(d->fd, 0666) != 0)
			return fail(err, errlen, "fchmod");
	} else {
		d->fd = memfd_create("ptshadow-tcg-dirty", MFD_ALLOW_SEALING);
		if (d->fd < 0)
			return fail(err, errlen, "memfd_create");
	}
	if (ftruncate(d->fd, (off_t)d->bytes) != 0)
		return fail(err, errlen, "ftruncate");
	/* QEMU gets the fd: it must not be able to shrink the file under us (SIGBUS).
	 * A file by name cannot be sealed: the plugin never resizes it. */
	if (path == NULL &&
	    fcntl(d->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
		return fail(err, errlen, "F_ADD_SEALS");
	d->shm = mmap(NULL, d->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd, 0);
	if (d->shm == MAP_FAILED) {
		d->shm = NULL;
		return fail(err, errlen, "mmap");
	}
	return 0;
}

static void write_header(struct tcg_dirty *d, const struct ptsdirty_layout *l)
{
	struct ptsdirty_shm *h = d->shm;
	char *base = (char *)h;

	h->magic = PTSDIRTY_MAGIC;
	h->version = PTSDIRTY_VERSION;
	h->header_bytes = sizeof(*h);
	h->region_bytes = l->region_bytes;
	h->gpa_pages = d->gpa_pages;
	h->list_cap = d->list_cap;
	h->vpage_slots = d->vpage_slots;
	h->bitmap_off = l->bitmap_off;
	h->list_off = l->list_off;
	h->vpage_table_off = l->vpage_table_off;
	h->vpage_list_off = l->vpage_list_off;
	h->vcpu_off = l->vcpu_off;
	h->vcpu_stride = l->vcpu_stride;
	h->nvcpus = d->nvcpus;
	d->bitmap = (uint64_t *)(base + l->bitmap_off);
	for (unsigned i = 0; i < d->nvcpus; i++) {
		char *block = base + l->vcpu_off + i * l->vcpu_stride;
		d->vcpu[i].head = (struct ptsdirty_vcpu *)block;
		d->vcpu[i].pfn_list = (uint64_t *)(block + l->list_off);
		d->vcpu[i].vpage_table = (uint64_t *)(block + l->vpage_table_off);
		d->vcpu[i].vpage_list = (uint64_t *)(block + l->vpage_list_off);
	}
}

int tcg_dirty_open(struct tcg_dirty **out, const struct tcg_dirty_size *size, char *err,
                   size_t errlen)
{
	return tcg_dirty_open_at(out, NULL, size, err, errlen);
}

int tcg_dirty_open_at(struct tcg_dirty **out, const char *path, const struct tcg_dirty_size *size,
                      char *err, size_t errlen)
{
	uint64_t gpa_pages = size->gpa_pages, list_cap = size->list_cap;
	struct ptsdirty_layout l;
	struct tcg_dirty *d;

	*out = NULL;
	if (ptsdirty_layout(gpa_pages, list_cap, PTSDIRTY_VPAGE_SLOTS, size->vcpus, &l) != 0) {
		snprintf(
		    err, errlen,
		    "tcg dirty log: %llu guest pages, %llu list entries, %u vCPUs: out of range "
		    "(at most %llu, %llu and %u)",
		    (unsigned long long)gpa_pages, (unsigned long long)list_cap, size->vcpus,
		    PTSDIRTY_MAX_GPA_PAGES, PTSDIRTY_MAX_LIST_CAP, PTSDIRTY_MAX_VCPUS);
		return -1;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return fail(err, errlen, "calloc");
	d->fd = -1;
	d->gpa_pages = gpa_pages;
	d->list_cap = list_cap;
	d->vpage_slots = PTSDIRTY_VPAGE_SLOTS;
	d->vpage_cap = PTSDIRTY_VPAGE_SLOTS / 2;
	d->nvcpus = size->vcpus;
	d->bytes = l.region_bytes;
	if (make_memfd(d, path, err, errlen) != 0) {
		tcg_dirty_close(d);
		return -1;
	}
	write_header(d, &l);
	*out = d;
	return 0;
}

int tcg_dirty_fd(const struct tcg_dirty *d)
{
	return d->fd;
}

bool tcg_dirty_plugin_alive(const struct tcg_dirty *d)
{
	return __atomic_load_n(&d->shm->alive, __ATOMIC_ACQUIRE) == PTSDIRTY_ALIVE;
}

static void set_log_bit(struct tcg_dirty *d, uint32_t bit, bool on)
{
	if (on)
		__atomic_fetch_or(&d->shm->log, bit, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_and(&d->shm->log, ~bit, __ATOMIC_SEQ_CST);
}

void tcg_dirty_enable(struct tcg_dirty *d, bool on)
{
	set_log_bit(d, PTSDIRTY_LOG_STORES, on);
}

void tcg_dirty_enable_vpages(struct tcg_dirty *d, bool on)
{
	set_log_bit(d, PTSDIRTY_LOG_VPAGES, on);
}

/* ---- harvest: shared by both logs */

/*
 * Hand entries [0, n) of a log to take(), then reset n with a compare-and-swap
 * so that entries appended meanwhile are taken too.  Returns false when the log
 * cannot be trusted (n beyond its capacity or going backwards, or it kept
 * growing): the caller then resets it whole and reports everything lost.
 */
static bool drain(struct tcg_dirty *d, const struct log_view *v,
                  uint64_t (*take)(struct tcg_dirty *d, uint64_t i, const struct sink *s),
                  const struct sink *s, uint64_t *handed)
{
	uint64_t done = 0;

	for (unsigned tries = 0; tries < HARVEST_TRIES; tries++) {
		uint64_t seen = __atomic_load_n(v->n, __ATOMIC_ACQUIRE);
		if (seen > v->cap || seen < done)
			return false;
		for (uint64_t i = done; i < seen; i++)
			*handed += take(d, i, s);
		done = seen;
		if (__atomic_compare_exchange_n(v->n, &seen, 0, false, __ATOMIC_ACQ_REL,
		                                __ATOMIC_ACQUIRE))
			return true;
	}
	return false;
}

static uint64_t take_pfn(struct tcg_dirty *d, uint64_t i, const struct sink *s)
{
	uint64_t pfn = __atomic_load_n(&d->vcpu[s->vcpu].pfn_list[i], __ATOMIC_RELAXED), bit, old;

	if (pfn >= d->gpa_pages)
		return 0;
	bit = 1ull << (pfn % 64);
	old = __atomic_fetch_and(&d->bitmap[pfn / 64], ~bit, __ATOMIC_RELAXED);
	if ((old & bit) == 0) /* already taken: a repeat in the list */
		return 0;
	s->add_pfn(s->ctx, pfn);
	return 1;
}

/* A vCPU with no block ran: nothing it did was logged (read once a harvest). */
static bool stray_vcpu(struct tcg_dirty *d)
{
	return __atomic_exchange_n(&d->shm->stray, 0, __ATOMIC_ACQ_REL) != 0;
}

int tcg_dirty_harvest(struct tcg_dirty *d, void (*add)(void *ctx, uint64_t pfn), void *ctx,
                      bool *lost)
{
	struct sink s = {.add_pfn = add, .ctx = ctx};
	uint64_t handed = 0;

	*lost = stray_vcpu(d);
	for (s.vcpu = 0; s.vcpu < d->nvcpus; s.vcpu++) {
		struct ptsdirty_vcpu *h = d->vcpu[s.vcpu].head;
		struct log_view v = {&h->n, &h->overflow, d->list_cap};
		bool ok = drain(d, &v, take_pfn, &s, &handed);
		if (__atomic_exchange_n(v.overflow, 0, __ATOMIC_ACQ_REL) != 0 || !ok)
			*lost = true;
	}
	if (*lost) {
		/* bits the lists do not account for would hide those pages for good */
		memset(d->bitmap, 0, (d->gpa_pages + 63) / 64 * 8);
		for (unsigned i = 0; i < d->nvcpus; i++)
			__atomic_store_n(&d->vcpu[i].head->n, 0, __ATOMIC_RELEASE);
	}
	return handed > INT_MAX ? INT_MAX : (int)handed;
}

static uint64_t take_vpage(struct tcg_dirty *d, uint64_t i, const struct sink *s)
{
	const struct vcpu_block *b = &d->vcpu[s->vcpu];
	uint64_t slot = __atomic_load_n(&b->vpage_list[i], __ATOMIC_RELAXED), e;

	if (slot >= d->vpage_slots)
		return 0;
	e = __atomic_exchange_n(&b->vpage_table[slot], 0, __ATOMIC_RELAXED);
	if ((e & PTSDIRTY_VP_VALID) == 0) /* empty, or a repeat in the list */
		return 0;
	s->add_vpage(s->ctx, s->vcpu, e & PTSDIRTY_VP_MASK, (e & PTSDIRTY_VP_STORE) != 0);
	return 1;
}

int tcg_dirty_harvest_vpages(struct tcg_dirty *d, tcg_dirty_vpage_fn *add_vpage, void *ctx,
                             bool *lost)
{
	struct sink s = {.add_vpage = add_vpage, .ctx = ctx};
	uint64_t handed = 0;

	*lost = false;
	for (s.vcpu = 0; s.vcpu < d->nvcpus; s.vcpu++) {
		struct vcpu_block *b = &d->vcpu[s.vcpu];
		struct log_view v = {&b->head->vpage_n, &b->head->vpage_overflow, d->vpage_cap};
		bool ok = drain(d, &v, take_vpage, &s, &handed);
		if (__atomic_exchange_n(v.overflow, 0, __ATOMIC_ACQ_REL) != 0 || !ok) {
			*lost = true;
			memset(b->vpage_table, 0, d->vpage_slots * 8);
			__atomic_store_n(v.n, 0, __ATOMIC_RELEASE);
		}
	}
	return handed > INT_MAX ? INT_MAX : (int)handed;
}

void tcg_dirty_close(struct tcg_dirty *d)
{
	if (d == NULL)
		return;
	if (d->shm != NULL)
		munmap(d->shm, d->bytes);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

int tcg_dirty_plugin_path(char *buf, size_t len)
{
	const char *env = getenv("PTSHADOW_PLUGIN");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env != NULL && *env != '\0')
		return (size_t)snprintf(buf, len, "%s", env) < len ? 0 : -1;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	return (size_t)snprintf(buf, len, "%s/ptsdirty.so", exe) < len ? 0 : -1;
}
