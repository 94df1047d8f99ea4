/* src/qemu/plugin/ptsdirty.c - a QEMU 7.2 TCG plugin that logs the guest-physical page
 * of every guest store into memory shared with ptshadow: KVM's dirty ring, for TCG.
 *
 * Usage: -plugin ptsdirty.so,fd=N[,vpages=on]   (or path=FILE instead of fd=N)
 *   fd      an inherited file descriptor of the region (ptsdirty_shm.h): ptshadow
 *           creates a memfd, clears FD_CLOEXEC and lets QEMU inherit it.
 *   vpages  also instrument loads and instruction fetches, so the host can ask
 *           for the virtual pages the guest touched (PTSDIRTY_LOG_VPAGES).  TCG's
 *           page-table walker sets A/D bits with a cmpxchg on host memory that no
 *           plugin callback sees; these pages tell the host which walks to redo.
 *
 * A block of logs a vCPU (as many as the region has; QEMU's max_vcpus is checked
 * at install): each list has a single writer, its vCPU, so the hot path takes no
 * lock and uses no read-modify-write except on a page's first store since the
 * last harvest.  The vCPU index QEMU passes picks the block; one with no block
 * (never, once install has checked) is bounded all the same: `stray`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qemu_plugin_api.h"
#include "ptsdirty_shm.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define PAGE_SIZE 4096u
#define RELAXED   __ATOMIC_RELAXED
#define RELEASE   __ATOMIC_RELEASE
#define UNUSED    __attribute__((unused))

/* A vCPU's block, as pointers into the region. */
struct vcpu_log {
	struct ptsdirty_vcpu *head;
	uint64_t *pfn_list, *vpage_table, *vpage_list;
};

/* Local copies of the region's geometry: the hot path never re-reads the header. */
static struct ptsdirty_shm *shm;
static uint64_t *bitmap;
static struct vcpu_log vcpus[PTSDIRTY_MAX_VCPUS];
static uint64_t gpa_pages, list_cap, vpage_slots, vpage_cap;
static unsigned nvcpus;
static bool vpages_on;

static inline void count(uint64_t *counter)
{
	__atomic_store_n(counter, __atomic_load_n(counter, RELAXED) + 1, RELAXED);
}

static inline uint32_t log_mask(void)
{
	return __atomic_load_n(&shm->log, RELAXED);
}

/* ---- the pfn log: bitmap + list */

/* The bit is shared by every vCPU: only the one whose OR turned it on lists the page. */
static void log_pfn(const struct vcpu_log *v, uint64_t pfn)
{
	uint64_t *word, bit = 1ull << (pfn % 64), n;

	if (pfn >= gpa_pages)
		return;
	word = &bitmap[pfn / 64];
	if (__atomic_load_n(word, RELAXED) & bit)
		return;
	n = __atomic_load_n(&v->head->n, RELAXED);
	if (n >= list_cap) {
		__atomic_store_n(&v->head->overflow, 1, RELEASE);
		return;
	}
	if (__atomic_fetch_or(word, bit, RELAXED) & bit)
		return;
	__atomic_store_n(&v->pfn_list[n], pfn, RELAXED);
	__atomic_store_n(&v->head->n, n + 1, RELEASE);
	count(&shm->pfns_added);
}

static void log_store_at(const struct vcpu_log *v, qemu_plugin_meminfo_t info, uint64_t vaddr)
{
	struct qemu_plugin_hwaddr *hw = qemu_plugin_get_hwaddr(info, vaddr);

	if (hw == NULL || qemu_plugin_hwaddr_is_io(hw)) {
		count(&shm->io_stores);
		return;
	}
	log_pfn(v, qemu_plugin_hwaddr_phys_addr(hw) / PAGE_SIZE);
}

/* The last byte's address when the access spills into the next page, else 0. */
static inline uint64_t spill(qemu_plugin_meminfo_t info, uint64_t vaddr)
{
	uint64_t last = vaddr + (1u << qemu_plugin_mem_size_shift(info)) - 1;

	return last / PAGE_SIZE != vaddr / PAGE_SIZE ? last : 0;
}

/* ---- the vpage log: open-addressed table + list of the slots in use */

static void vpage_overflow(const struct vcpu_log *v)
{
	__atomic_store_n(&v->head->vpage_overflow, 1, RELEASE);
}

static void vpage_insert(const struct vcpu_log *v, uint64_t slot, uint64_t entry)
{
	uint64_t n = __atomic_load_n(&v->head->vpage_n, RELAXED);

	if (n >= vpage_cap) {
		vpage_overflow(v);
		return;
	}
	__atomic_store_n(&v->vpage_table[slot], entry, RELAXED);
	__atomic_store_n(&v->vpage_list[n], slot, RELAXED);
	__atomic_store_n(&v->head->vpage_n, n + 1, RELEASE);
}

static void note_vpage(const struct vcpu_log *v, uint64_t va, uint64_t store)
{
	uint64_t page = va & PTSDIRTY_VP_MASK, slot = ptsdirty_vpage_hash(va, vpage_slots);

	for (unsigned probe = 0; probe < PTSDIRTY_VPAGE_MAX_PROBE; probe++) {
		uint64_t e = __atomic_load_n(&v->vpage_table[slot], RELAXED);
		if (e == 0) {
			vpage_insert(v, slot, page | PTSDIRTY_VP_VALID | store);
			return;
		}
		if ((e & PTSDIRTY_VP_MASK) == page) {
			/* a cmpxchg, not a store: a harvest may have emptied the slot;
			 * if it did, look at the same slot again (on the probe budget) */
			if ((e & store) == store ||
			    __atomic_compare_exchange_n(&v->vpage_table[slot], &e, e | store, false,
			                                RELAXED, RELAXED))
				return;
			continue;
		}
		slot = (slot + 1) & (vpage_slots - 1);
	}
	vpage_overflow(v);
}

/* The block of vCPU `index`, or NULL (and the host told) when it has none. */
static inline const struct vcpu_log *vcpu_log(unsigned int index)
{
	if (index < nvcpus)
		return &vcpus[index];
	__atomic_store_n(&shm->stray, 1, RELEASE);
	return NULL;
}

/* ---- callbacks */

static void log_store(const struct vcpu_log *v, qemu_plugin_meminfo_t info, uint64_t vaddr,
                      uint32_t log)
{
	uint64_t last = spill(info, vaddr);

	if (log & PTSDIRTY_LOG_STORES) {
		log_store_at(v, info, vaddr);
		if (last != 0)
			log_store_at(v, info, last);
	}
	if (log & PTSDIRTY_LOG_VPAGES) {
		note_vpage(v, vaddr, PTSDIRTY_VP_STORE);
		if (last != 0)
			note_vpage(v, last, PTSDIRTY_VP_STORE);
	}
}

static void log_load(const struct vcpu_log *v, qemu_plugin_meminfo_t info, uint64_t vaddr,
                     uint32_t log)
{
	uint64_t last;

	if ((log & PTSDIRTY_LOG_VPAGES) == 0)
		return;
	note_vpage(v, vaddr, 0);
	last = spill(info, vaddr);
	if (last != 0)
		note_vpage(v, last, 0);
}

/*
 * Registered for stores (or, with vpages=on, for both), but it must look at
 * the direction itself: QEMU 7.2's plugin-gen.c (op_rw) tests the callback's
 * mask against (rw + 1) instead of rw, so a QEMU_PLUGIN_MEM_W callback also
 * fires on every inline load and a QEMU_PLUGIN_MEM_R one fires on stores only.
 */
static void on_access(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr,
                      UNUSED void *udata)
{
	uint32_t log = log_mask();
	const struct vcpu_log *v;

	if (qemu_plugin_mem_is_store(info)) {
		count(&shm->store_cbs);
		if (log != 0 && (v = vcpu_log(vcpu)) != NULL)
			log_store(v, info, vaddr, log);
	} else {
		count(&shm->load_cbs);
		if (log != 0 && (v = vcpu_log(vcpu)) != NULL)
			log_load(v, info, vaddr, log);
	}
}

/* udata is the virtual page the block's code lies on. */
static void on_fetch(unsigned int vcpu, void *udata)
{
	const struct vcpu_log *v;

	count(&shm->fetch_cbs);
	if ((log_mask() & PTSDIRTY_LOG_VPAGES) && (v = vcpu_log(vcpu)) != NULL)
		note_vpage(v, (uint64_t)(uintptr_t)udata, 0);
}

static void instrument_fetches(struct qemu_plugin_tb *tb, size_t n)
{
	struct qemu_plugin_insn *last = qemu_plugin_tb_get_insn(tb, n - 1);
	uint64_t first_page = qemu_plugin_tb_vaddr(tb) & PTSDIRTY_VP_MASK;
	uint64_t end = qemu_plugin_insn_vaddr(last) + qemu_plugin_insn_size(last) - 1;

	qemu_plugin_register_vcpu_tb_exec_cb(tb, on_fetch, QEMU_PLUGIN_CB_NO_REGS,
	                                     (void *)(uintptr_t)first_page);
	if ((end & PTSDIRTY_VP_MASK) != first_page)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, on_fetch, QEMU_PLUGIN_CB_NO_REGS,
		                                     (void *)(uintptr_t)(end & PTSDIRTY_VP_MASK));
}

static void on_translate(UNUSED qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	enum qemu_plugin_mem_rw rw = vpages_on ? QEMU_PLUGIN_MEM_RW : QEMU_PLUGIN_MEM_W;
	size_t n = qemu_plugin_tb_n_insns(tb);

	for (size_t i = 0; i < n; i++)
		qemu_plugin_register_vcpu_mem_cb(qemu_plugin_tb_get_insn(tb, i), on_access,
		                                 QEMU_PLUGIN_CB_NO_REGS, rw, NULL);
	if (vpages_on && n > 0)
		instrument_fetches(tb, n);
}

/* ---- install: arguments, the region, its header */

static int refuse(const char *fmt, const char *what)
{
	fprintf(stderr, "ptsdirty: ");
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	return 1;
}

/* fd=N: the region's descriptor, inherited; path=FILE: the region's file, for
 * a QEMU that cannot inherit ours (libvirt starts it) */
static int parse_args(int argc, char **argv, int *fd)
{
	*fd = -1;
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '='), *end;
		if (*fd >= 0 && eq != NULL &&
		    (strncmp(argv[i], "fd=", 3) == 0 || strncmp(argv[i], "path=", 5) == 0)) {
			return refuse("%s: one region only (fd= or path=, once)", argv[i]);
		} else if (eq != NULL && strncmp(argv[i], "fd=", 3) == 0) {
			long v;
			errno = 0;
			v = strtol(eq + 1, &end, 10);
			if (errno != 0 || end == eq + 1 || *end != '\0' || v < 0 || v > 65535)
				return refuse("%s: not a file descriptor number", argv[i]);
			*fd = (int)v;
		} else if (eq != NULL && strncmp(argv[i], "path=", 5) == 0) {
			*fd = open(eq + 1, O_RDWR | O_CLOEXEC);
			if (*fd < 0) {
				char why[160];
				snprintf(why, sizeof(why), "%.100s: %s", argv[i], strerror(errno));
				return refuse("%s", why);
			}
		} else if (eq != NULL && strncmp(argv[i], "vpages=", 7) == 0) {
			if (!qemu_plugin_bool_parse("vpages", eq + 1, &vpages_on))
				return refuse("%s: want vpages=on or vpages=off", argv[i]);
		} else {
			return refuse("%s: unknown argument (want fd=N or path=FILE[,vpages=on])",
			              argv[i]);
		}
	}
	if (*fd < 0)
		return refuse("%s", "missing fd=N or path=FILE (the shared region)");
	return 0;
}

static int check_header(const struct ptsdirty_shm *h, uint64_t file_bytes)
{
	struct ptsdirty_layout l;

	if (h->magic != PTSDIRTY_MAGIC)
		return refuse("%s", "region: bad magic (not a ptsdirty region)");
	if (h->version != PTSDIRTY_VERSION || h->header_bytes != sizeof(*h))
		return refuse("%s", "region: version or header size differs from this plugin's");
	if (ptsdirty_layout(h->gpa_pages, h->list_cap, h->vpage_slots, h->nvcpus, &l) != 0)
		return refuse("%s", "region: sizes out of range");
	if (h->bitmap_off != l.bitmap_off || h->list_off != l.list_off ||
	    h->vpage_table_off != l.vpage_table_off || h->vpage_list_off != l.vpage_list_off ||
	    h->vcpu_off != l.vcpu_off || h->vcpu_stride != l.vcpu_stride ||
	    h->region_bytes != l.region_bytes)
		return refuse("%s", "region: layout differs from this plugin's");
	if (l.region_bytes > file_bytes)
		return refuse("%s", "region: file shorter than its header says");
	return 0;
}

static int map_region(int fd, int max_vcpus)
{
	struct stat st;
	char why[128];
	void *p;

	if (fstat(fd, &st) != 0) {
		snprintf(why, sizeof(why), "fd=%d: %s", fd, strerror(errno));
		return refuse("%s", why);
	}
	if ((uint64_t)st.st_size < sizeof(struct ptsdirty_shm)) {
		snprintf(why, sizeof(why), "fd=%d: too small to hold a ptsdirty region", fd);
		return refuse("%s", why);
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		snprintf(why, sizeof(why), "fd=%d: mmap: %s", fd, strerror(errno));
		return refuse("%s", why);
	}
	if (check_header(p, (uint64_t)st.st_size) != 0) {
		munmap(p, (size_t)st.st_size);
		return 1;
	}
	if (max_vcpus < 1 || (unsigned)max_vcpus > ((struct ptsdirty_shm *)p)->nvcpus) {
		snprintf(why, sizeof(why), "region: logs for %u vCPUs, QEMU may run %d",
		         ((struct ptsdirty_shm *)p)->nvcpus, max_vcpus);
		munmap(p, (size_t)st.st_size);
		return refuse("%s", why);
	}
	shm = p;
	return 0;
}

static void adopt_region(void)
{
	char *base = (char *)shm;

	gpa_pages = shm->gpa_pages;
	list_cap = shm->list_cap;
	vpage_slots = shm->vpage_slots;
	vpage_cap = vpage_slots / 2;
	nvcpus = shm->nvcpus;
	bitmap = (uint64_t *)(base + shm->bitmap_off);
	for (unsigned i = 0; i < nvcpus; i++) {
		char *block = base + shm->vcpu_off + i * shm->vcpu_stride;
		vcpus[i].head = (struct ptsdirty_vcpu *)block;
		vcpus[i].pfn_list = (uint64_t *)(block + shm->list_off);
		vcpus[i].vpage_table = (uint64_t *)(block + shm->vpage_table_off);
		vcpus[i].vpage_list = (uint64_t *)(block + shm->vpage_list_off);
	}
	__atomic_store_n(&shm->plugin_pid, (uint32_t)getpid(), RELAXED);
	__atomic_store_n(&shm->plugin_flags, vpages_on ? PTSDIRTY_PLUGIN_VPAGES : 0u, RELAXED);
	__atomic_store_n(&shm->alive, PTSDIRTY_ALIVE, RELEASE);
}

/* QEMU calls it when it loads the plugin */
/* cppcheck-suppress unusedFunction */
QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                           char **argv)
{
	int fd;

	if (!info->system_emulation)
		return refuse("%s", "needs system emulation (qemu-system-*), not linux-user");
	if (parse_args(argc, argv, &fd) != 0 || map_region(fd, info->system.max_vcpus) != 0)
		return 1;
	close(fd); /* the mapping stays; QEMU's children need not inherit it */
	adopt_region();
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	return 0;
}
