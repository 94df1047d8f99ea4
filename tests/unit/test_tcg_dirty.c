/* tests/unit/test_tcg_dirty.c - the TCG dirty log: the host side against a fake plugin
 * (bits, list, overflow, hostile counts and pfns), then ptsdirty.so inside real QEMU.
 */
#include <sys/mman.h>

#include "testutil.h"
#include "tcg_dirty.h"
#include "plugin/ptsdirty_shm.h"

Suite *suite_tcg_dirty(void);

#define GPA_PAGES    4096u
#define LIST_CAP     64u
#define QEMU_MIB     128u
#define QEMU_TIMEOUT 20

/* ---- a fake plugin: maps the fd and appends as ptsdirty.c does ------------ */

struct fake {
	struct ptsdirty_shm *h;
	uint64_t *bitmap;
	struct ptsdirty_vcpu *vh[PTSDIRTY_MAX_VCPUS]; /* each vCPU's counts */
	uint64_t *lists[PTSDIRTY_MAX_VCPUS], *vtables[PTSDIRTY_MAX_VCPUS],
	    *vlists[PTSDIRTY_MAX_VCPUS];
	/* vCPU 0's */
	uint64_t *list, *vtable, *vlist;
	size_t bytes;
};

static void fake_map(struct fake *f, const struct tcg_dirty *d)
{
	struct stat st;
	char *base;

	ck_assert_int_eq(fstat(tcg_dirty_fd(d), &st), 0);
	f->bytes = (size_t)st.st_size;
	base = mmap(NULL, f->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, tcg_dirty_fd(d), 0);
	ck_assert_ptr_ne(base, MAP_FAILED);
	f->h = (struct ptsdirty_shm *)base;
	f->bitmap = (uint64_t *)(base + f->h->bitmap_off);
	ck_assert_uint_le(f->h->nvcpus, PTSDIRTY_MAX_VCPUS);
	for (unsigned v = 0; v < f->h->nvcpus; v++) {
		char *block = base + f->h->vcpu_off + v * f->h->vcpu_stride;
		ck_assert_uint_le(f->h->vcpu_off + (v + 1) * f->h->vcpu_stride, f->bytes);
		f->vh[v] = (struct ptsdirty_vcpu *)block;
		f->lists[v] = (uint64_t *)(block + f->h->list_off);
		f->vtables[v] = (uint64_t *)(block + f->h->vpage_table_off);
		f->vlists[v] = (uint64_t *)(block + f->h->vpage_list_off);
	}
	f->list = f->lists[0];
	f->vtable = f->vtables[0];
	f->vlist = f->vlists[0];
}

static void fake_store_on(struct fake *f, unsigned v, uint64_t pfn)
{
	uint64_t bit = 1ull << (pfn % 64);

	if (f->bitmap[pfn / 64] & bit)
		return;
	if (f->vh[v]->n >= f->h->list_cap) {
		f->vh[v]->overflow = 1;
		return;
	}
	f->bitmap[pfn / 64] |= bit;
	f->lists[v][f->vh[v]->n++] = pfn;
}

static void fake_store(struct fake *f, uint64_t pfn)
{
	fake_store_on(f, 0, pfn);
}

static void fake_vpage_on(struct fake *f, unsigned v, uint64_t va, bool store)
{
	uint64_t slots = f->h->vpage_slots, slot = ptsdirty_vpage_hash(va, slots);
	uint64_t page = va & PTSDIRTY_VP_MASK, flag = store ? PTSDIRTY_VP_STORE : 0;
	uint64_t *vtable = f->vtables[v];

	while (vtable[slot] != 0 && (vtable[slot] & PTSDIRTY_VP_MASK) != page)
		slot = (slot + 1) & (slots - 1);
	if (vtable[slot] != 0) {
		vtable[slot] |= flag;
		return;
	}
	vtable[slot] = page | PTSDIRTY_VP_VALID | flag;
	f->vlists[v][f->vh[v]->vpage_n++] = slot;
}

static void fake_vpage(struct fake *f, uint64_t va, bool store)
{
	fake_vpage_on(f, 0, va, store);
}

static bool bitmap_clear(const struct fake *f)
{
	for (uint64_t i = 0; i < (f->h->gpa_pages + 63) / 64; i++)
		if (f->bitmap[i] != 0)
			return false;
	return true;
}

/* ---- what a harvest handed over ------------------------------------------- */

#define GOT_MAX 8192u

struct got {
	uint64_t v[GOT_MAX];
	bool store[GOT_MAX];
	unsigned vcpu[GOT_MAX];
	unsigned n;
};

static void add_pfn(void *ctx, uint64_t pfn)
{
	struct got *g = ctx;

	ck_assert_uint_lt(g->n, GOT_MAX);
	g->v[g->n++] = pfn;
}

static void add_vpage(void *ctx, unsigned vcpu, uint64_t va, bool is_store)
{
	struct got *g = ctx;

	ck_assert_uint_lt(g->n, GOT_MAX);
	g->store[g->n] = is_store;
	g->vcpu[g->n] = vcpu;
	g->v[g->n++] = va;
}

static int got_find(const struct got *g, uint64_t v)
{
	for (unsigned i = 0; i < g->n; i++)
		if (g->v[i] == v)
			return (int)i;
	return -1;
}

/* The plugin accepted the region and was loaded with vpages=on (loads and
 * fetches instrumented): what the region's header says. */
static bool plugin_vpages(const struct tcg_dirty *d)
{
	struct fake f;
	bool on;

	fake_map(&f, d);
	on = f.h->alive == PTSDIRTY_ALIVE && (f.h->plugin_flags & PTSDIRTY_PLUGIN_VPAGES) != 0;
	ck_assert_int_eq(munmap(f.h, f.bytes), 0);
	return on;
}

static struct tcg_dirty *open_region(uint64_t gpa_pages, uint64_t list_cap, unsigned vcpus)
{
	struct tcg_dirty_size size = {gpa_pages, list_cap, vcpus};
	struct tcg_dirty *d;
	char err[256];

	ck_assert_msg(tcg_dirty_open(&d, &size, err, sizeof(err)) == 0, "%s", err);
	return d;
}

static struct tcg_dirty *open_small(struct fake *f)
{
	struct tcg_dirty *d = open_region(GPA_PAGES, LIST_CAP, 1);

	fake_map(f, d);
	return d;
}

/* ---- the host side alone --------------------------------------------------- */

START_TEST(region_header_and_fd)
{
	struct fake f;
	struct tcg_dirty *d = open_small(&f);
	int fd = tcg_dirty_fd(d);

	ck_assert_uint_eq(f.h->magic, PTSDIRTY_MAGIC);
	ck_assert_uint_eq(f.h->version, PTSDIRTY_VERSION);
	ck_assert_uint_eq(f.h->header_bytes, sizeof(struct ptsdirty_shm));
	ck_assert_uint_eq(f.h->gpa_pages, GPA_PAGES);
	ck_assert_uint_eq(f.h->list_cap, LIST_CAP);
	ck_assert_uint_eq(f.h->region_bytes, f.bytes);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0); /* QEMU inherits it */
	ck_assert_int_ne(ftruncate(fd, 4096), 0);             /* sealed against shrinking */
	ck_assert(!tcg_dirty_plugin_alive(d));
	f.h->alive = PTSDIRTY_ALIVE;
	ck_assert(tcg_dirty_plugin_alive(d));
	ck_assert(!plugin_vpages(d));
	ck_assert_uint_eq(f.h->log, 0);
	tcg_dirty_enable(d, true);
	tcg_dirty_enable_vpages(d, true);
	ck_assert_uint_eq(f.h->log, PTSDIRTY_LOG_STORES | PTSDIRTY_LOG_VPAGES);
	tcg_dirty_enable(d, false);
	ck_assert_uint_eq(f.h->log, PTSDIRTY_LOG_VPAGES);
	munmap(f.h, f.bytes);
	tcg_dirty_close(d);
}
END_TEST

START_TEST(open_rejects_bad_sizes)
{
	static const struct tcg_dirty_size bad[] = {
	    {0, LIST_CAP, 1},
	    {GPA_PAGES, 0, 1},
	    {PTSDIRTY_MAX_GPA_PAGES + 1, 8, 1},
	    {GPA_PAGES, PTSDIRTY_MAX_LIST_CAP + 1, 1},
	    {GPA_PAGES, LIST_CAP, 0},
	    {GPA_PAGES, LIST_CAP, PTSDIRTY_MAX_VCPUS + 1},
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tcg_dirty *d = (struct tcg_dirty *)1;
		char err[256] = "";
		ck_assert_int_eq(tcg_dirty_open(&d, &bad[i], err, sizeof(err)), -1);
		ck_assert_ptr_null(d);
		ck_assert_ptr_nonnull(strstr(err, "out of range"));
	}
}
END_TEST

START_TEST(harvest_hands_over_exactly_the_logged_pfns)
{
	static const uint64_t pfns[] = {3, 64, 65, GPA_PAGES - 1, 3, 64};
	struct got g = {.n = 0};
	struct fake f;
	struct tcg_dirty *d = open_small(&f);
	bool lost = true;

	for (unsigned i = 0; i < sizeof(pfns) / sizeof(pfns[0]); i++)
		fake_store(&f, pfns[i]);
	ck_assert_int_eq(tcg_dirty_harvest(d, add_pfn, &g, &lost), 4);
	ck_assert(!lost);
	ck_assert_uint_eq(g.n, 4);
	for (unsigned i = 0; i < 4; i++)
		ck_assert_int_ge(got_find(&g, pfns[i]), 0);
	ck_assert_uint_eq(f.vh[0]->n, 0);
	ck_assert(bitmap_clear(&f));

	g.n = 0; /* nothing new: nothing out */
	ck_assert_int_eq(tcg_dirty_harvest(d, add_pfn, &g, &lost), 0);
	ck_assert(!lost);
	fake_store(&f, 3); /* a page harvested before is logged again */
	ck_assert_int_eq(tcg_dirty_harvest(d, add_pfn, &g, &lost), 1);
	ck_assert_uint_eq(g.v[0], 3);
	munmap(f.h, f.bytes);
	tcg_dirty_close(d);
}
END_TEST

START_TEST(overflow_reports_lost_and_resets)
{
	struct got g = {.n = 0};
	struct fake f;
	struct tcg_dirty *d = open_small(&f);
	bool lost = false;

	for (uint64_t pfn = 0; pfn < LIST_CAP + 10; pfn++)
		fake_store(&f, pfn * 7);
	ck_assert_uint_eq(f.vh[0]->n, LIST_CAP);
	ck_assert_uint_ne(f.vh[0]->overflow, 0);
	ck_assert_int_eq(tcg_dirty_harvest(d, add_pfn, &g, &lost), (int)LIST_CAP);
	ck_assert(lost);
	ck_assert_uint_eq(f.vh[0]->overflow, 0);
	ck_assert_uint_eq(f.vh[0]->n, 0);
	ck_assert(bitmap_clear(&f));
	g.n = 0;
	fake_store(&f, 9);
	ck_assert_int_eq(tcg_dirty_harvest(d, add_pfn, &g, &lost), 1);
	ck_assert(!lost);
	munmap(f.h, f.bytes);
	tcg_dirty_close(d);
}
END_TEST

START_TEST(hostile_region_is_bounded)
{
	struct got g = {.n = 0};
	struct fake f;
	struct tcg_dirty *d = open_small(&f);
	bool lost = false;

	/* pfns beyond RAM are dropped; the rest still comes out */
	fake_store(&f, 5);
	f.list[f.vh[0]->n++] = GPA_PAGES;
	f.list[f.vh[0]->n++] = UINT64_MAX;
	fake_store(&f, 6);
	ck_assert_int_eq(tcg_dirty_harvest(d, add_pfn, &g, &lost), 2);
	ck_assert(!lost);
	ck_assert_int_ge(got_find(&g, 5), 0);
	ck_assert_int_ge(got_find(&g, 6), 0);

	/* a count beyond the list: lost, and every bit cleared, listed or not */
	g.n = 0;
	fake_store(&f, 7);
	f.bitmap[100 / 64] |= 1ull << (100 % 64); /* set, never listed */
	f.vh[0]->n = LIST_CAP + 1000;
	ck_assert_int_eq(tcg_dirty_harvest(d, add_pfn, &g, &lost), 0);
	ck_assert(lost);
	ck_assert_uint_eq(f.vh[0]->n, 0);
	ck_assert(bitmap_clear(&f));

	/* a list entry without its bit (a repeat) is not handed over twice */
	g.n = 0;
	fake_store(&f, 8);
	f.list[f.vh[0]->n++] = 8;
	f.list[f.vh[0]->n++] = 8;
	ck_assert_int_eq(tcg_dirty_harvest(d, add_pfn, &g, &lost), 1);
	ck_assert(!lost);
	munmap(f.h, f.bytes);
	tcg_dirty_close(d);
}
END_TEST

START_TEST(vpages_harvest_and_bounds)
{
	struct got g = {.n = 0};
	struct fake f;
	struct tcg_dirty *d = open_small(&f);
	bool lost = true;
	int i;

	fake_vpage(&f, 0x1234, false);
	fake_vpage(&f, 0x1ff8, true); /* same page, now stored to */
	fake_vpage(&f, 0xffffffff80101000ull, false);
	f.vlist[f.vh[0]->vpage_n++] = f.h->vpage_slots; /* hostile slot index: dropped */
	ck_assert_int_eq(tcg_dirty_harvest_vpages(d, add_vpage, &g, &lost), 2);
	ck_assert(!lost);
	i = got_find(&g, 0x1000);
	ck_assert_int_ge(i, 0);
	ck_assert(g.store[i]);
	i = got_find(&g, 0xffffffff80101000ull);
	ck_assert_int_ge(i, 0);
	ck_assert(!g.store[i]);
	ck_assert_uint_eq(f.vh[0]->vpage_n, 0);
	for (uint64_t s = 0; s < f.h->vpage_slots; s++)
		ck_assert_uint_eq(f.vtable[s], 0);

	g.n = 0; /* a count beyond the list: lost, table emptied */
	fake_vpage(&f, 0x5000, true);
	f.vh[0]->vpage_n = f.h->vpage_slots;
	ck_assert_int_eq(tcg_dirty_harvest_vpages(d, add_vpage, &g, &lost), 0);
	ck_assert(lost);
	for (uint64_t s = 0; s < f.h->vpage_slots; s++)
		ck_assert_uint_eq(f.vtable[s], 0);
	munmap(f.h, f.bytes);
	tcg_dirty_close(d);
}
END_TEST

/* Two vCPUs: each appends to its own block; a page both store to is listed
 * once (the shared bit); virtual pages come out tagged with their vCPU; one
 * vCPU's overflow, or a vCPU with no block, makes the harvest say lost. */
START_TEST(two_vcpus_keep_their_own_logs)
{
	struct got g = {.n = 0};
	struct tcg_dirty *d = open_region(GPA_PAGES, LIST_CAP, 2);
	struct fake f;
	bool lost = true;
	int i;

	fake_map(&f, d);
	ck_assert_uint_eq(f.h->nvcpus, 2);
	fake_store_on(&f, 0, 10);
	fake_store_on(&f, 1, 11);
	fake_store_on(&f, 1, 10); /* listed by vCPU 0 already */
	ck_assert_uint_eq(f.vh[1]->n, 1);
	ck_assert_int_eq(tcg_dirty_harvest(d, add_pfn, &g, &lost), 2);
	ck_assert(!lost);
	ck_assert_int_ge(got_find(&g, 10), 0);
	ck_assert_int_ge(got_find(&g, 11), 0);
	ck_assert(f.vh[0]->n == 0 && f.vh[1]->n == 0 && bitmap_clear(&f));

	g.n = 0;
	fake_vpage_on(&f, 0, 0x400000, false);
	fake_vpage_on(&f, 1, 0x400000, true); /* the same page, walked through vCPU 1's CR3 */
	fake_vpage_on(&f, 1, 0x7000, false);
	ck_assert_int_eq(tcg_dirty_harvest_vpages(d, add_vpage, &g, &lost), 3);
	ck_assert(!lost);
	i = got_find(&g, 0x7000);
	ck_assert(i >= 0 && g.vcpu[i] == 1 && !g.store[i]);
	for (unsigned k = 0; k < g.n; k++)
		if (g.v[k] == 0x400000)
			ck_assert(g.store[k] == (g.vcpu[k] == 1));

	g.n = 0; /* vCPU 1's list overflows: lost, and both lists start again */
	for (uint64_t pfn = 0; pfn <= LIST_CAP; pfn++)
		fake_store_on(&f, 1, 100 + pfn);
	fake_store_on(&f, 0, 3);
	ck_assert_int_eq(tcg_dirty_harvest(d, add_pfn, &g, &lost), (int)LIST_CAP + 1);
	ck_assert(lost);
	ck_assert(f.vh[0]->n == 0 && f.vh[1]->n == 0 && bitmap_clear(&f));

	f.h->stray = 1; /* a vCPU with no block ran */
	ck_assert_int_eq(tcg_dirty_harvest(d, add_pfn, &g, &lost), 0);
	ck_assert(lost);
	ck_assert_uint_eq(f.h->stray, 0);
	ck_assert_int_eq(tcg_dirty_harvest(d, add_pfn, &g, &lost), 0);
	ck_assert(!lost);
	munmap(f.h, f.bytes);
	tcg_dirty_close(d);
}
END_TEST

START_TEST(plugin_path_env_and_default)
{
	char buf[512], exe[512], small[8];
	const char *old = getenv("PTSHADOW_PLUGIN");
	char *saved = old != NULL ? strdup(old) : NULL;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	setenv("PTSHADOW_PLUGIN", "/opt/x/ptsdirty.so", 1);
	ck_assert_int_eq(tcg_dirty_plugin_path(buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/opt/x/ptsdirty.so");
	ck_assert_int_eq(tcg_dirty_plugin_path(small, sizeof(small)), -1);
	unsetenv("PTSHADOW_PLUGIN");
	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	ck_assert_int_eq(tcg_dirty_plugin_path(buf, sizeof(buf)), 0);
	ck_assert_int_eq(strncmp(buf, exe, strlen(exe)), 0);
	ck_assert_str_eq(buf + strlen(exe), "/ptsdirty.so");
	if (saved != NULL)
		setenv("PTSHADOW_PLUGIN", saved, 1);
	free(saved);
}
END_TEST

/* ---- ptsdirty.so inside QEMU ------------------------------------------------ */

static bool find_qemu(char *path, size_t len)
{
	const char *env = getenv("PATH");
	char *dirs = strdup(env != NULL ? env : "/usr/bin:/bin"), *save = NULL;
	bool found = false;

	for (char *d = strtok_r(dirs, ":", &save); d != NULL && !found;
	     d = strtok_r(NULL, ":", &save)) {
		snprintf(path, len, "%s/qemu-system-x86_64", d);
		found = access(path, X_OK) == 0;
	}
	free(dirs);
	return found;
}

static const char *plugin_so(void)
{
	const char *p = getenv("PTSHADOW_PLUGIN");

	p = p != NULL && *p != '\0' ? p : "build/ptsdirty.so";
	ck_assert_msg(access(p, R_OK) == 0, "%s is missing: run make first", p);
	return p;
}

/* Run the guest's smoke test under plain QEMU with the plugin on region d, on
 * `cpus` vCPUs (the guest told so: it starts them itself). */
static void run_qemu_on(struct tu_proc *p, const char *qemu, struct tcg_dirty *d, const char *extra,
                        unsigned cpus)
{
	char plugin[600], smp[16], cmdline[32];

	snprintf(plugin, sizeof(plugin), "%s,fd=%d%s", plugin_so(), tcg_dirty_fd(d), extra);
	snprintf(smp, sizeof(smp), "%u", cpus);
	snprintf(cmdline, sizeof(cmdline), "cpus=%u", cpus);
	char *const argv[] = {(char *)qemu,
	                      "-accel",
	                      cpus > 1 ? "tcg,thread=single" : "tcg",
	                      "-smp",
	                      smp,
	                      "-append",
	                      cpus > 1 ? cmdline : "",
	                      "-m",
	                      "128",
	                      "-display",
	                      "none",
	                      "-nodefaults",
	                      "-serial",
	                      "stdio",
	                      "-no-reboot",
	                      "-device",
	                      "isa-debug-exit,iobase=0xf4,iosize=0x04",
	                      "-plugin",
	                      plugin,
	                      "-kernel",
	                      (char *)tu_guest(),
	                      NULL};
	tu_run(p, QEMU_TIMEOUT, argv);
	ck_assert_msg(!p->timed_out, "qemu still running after %d s", QEMU_TIMEOUT);
}

static void run_qemu(struct tu_proc *p, const char *qemu, struct tcg_dirty *d, const char *extra)
{
	run_qemu_on(p, qemu, d, extra, 1);
}

/* The guest's PT_LOAD segments, as page ranges [first, last]. */
struct seg {
	uint64_t first, last;
	bool writable;
};

static unsigned guest_segments(struct seg *segs, unsigned max)
{
	size_t len;
	char *img = tu_read_file(tu_guest(), &len);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	unsigned n = 0;

	ck_assert_uint_ge(len, sizeof(*eh));
	ck_assert_int_eq(memcmp(eh->e_ident, ELFMAG, SELFMAG), 0);
	ck_assert_uint_eq(eh->e_ident[EI_CLASS], ELFCLASS64);
	ck_assert_uint_eq(eh->e_phentsize, sizeof(Elf64_Phdr));
	ck_assert_uint_le(eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), len);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, img + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0 || n == max)
			continue;
		segs[n++] = (struct seg){ph.p_paddr / 4096, (ph.p_paddr + ph.p_memsz - 1) / 4096,
		                         (ph.p_flags & PF_W) != 0};
	}
	free(img);
	return n;
}

static unsigned pages_in(const struct got *g, const struct seg *s)
{
	unsigned n = 0;

	for (unsigned i = 0; i < g->n; i++)
		n += g->v[i] >= s->first && g->v[i] <= s->last;
	return n;
}

START_TEST(qemu_logs_the_guests_stores)
{
	static struct got g;
	struct seg segs[8];
	struct tu_proc p;
	struct tcg_dirty *d;
	char qemu[512];
	unsigned nsegs, data_pages = 0;
	bool lost = true;

	if (!find_qemu(qemu, sizeof(qemu))) {
		tu_skip("qemu_logs_the_guests_stores", "qemu-system-x86_64 is not installed");
		return;
	}
	d = open_region(QEMU_MIB * 256, 65536, 1);
	tcg_dirty_enable(d, true);
	run_qemu(&p, qemu, d, "");
	ck_assert_msg(p.status == 33, "qemu exit status %d, want 33\nstdout:\n%s\nstderr:\n%s",
	              p.status, p.out, p.err);
	ck_assert(tcg_dirty_plugin_alive(d));
	g.n = 0;
	ck_assert_int_gt(tcg_dirty_harvest(d, add_pfn, &g, &lost), 0);
	ck_assert(!lost);
	for (unsigned i = 0; i < g.n; i++)
		ck_assert_msg(g.v[i] < QEMU_MIB * 256, "pfn %#lx beyond %u MiB of RAM",
		              (unsigned long)g.v[i], QEMU_MIB);

	nsegs = guest_segments(segs, 8);
	for (unsigned i = 0; i < nsegs; i++) {
		if (segs[i].writable && segs[i].first != segs[i].last) {
			/* .data/.bss: its top page is the boot stack, the first thing written */
			ck_assert_msg(got_find(&g, segs[i].last) >= 0,
			              "bss top page %#lx not logged", (unsigned long)segs[i].last);
			data_pages += pages_in(&g, &segs[i]);
		} else if (!segs[i].writable) {
			/* .text/.rodata are only read: QEMU 7.2 calls MEM_W callbacks on loads
			 * too, and the plugin must not log those */
			ck_assert_msg(pages_in(&g, &segs[i]) == 0,
			              "a page of read-only segment %#lx-%#lx logged as written",
			              (unsigned long)segs[i].first, (unsigned long)segs[i].last);
		}
	}
	ck_assert_msg(data_pages >= 8, "only %u .data/.bss pages logged", data_pages);
	tu_proc_free(&p);
	tcg_dirty_close(d);
}
END_TEST

START_TEST(qemu_logs_virtual_pages)
{
	static struct got g;
	struct tu_proc p;
	struct tcg_dirty *d;
	char qemu[512];
	unsigned stores = 0, kernel_loads = 0;
	bool lost = true;

	if (!find_qemu(qemu, sizeof(qemu))) {
		tu_skip("qemu_logs_virtual_pages", "qemu-system-x86_64 is not installed");
		return;
	}
	d = open_region(QEMU_MIB * 256, 65536, 1);
	tcg_dirty_enable_vpages(d, true);
	run_qemu(&p, qemu, d, ",vpages=on");
	ck_assert_msg(p.status == 33, "qemu exit status %d\nstderr:\n%s", p.status, p.err);
	ck_assert(plugin_vpages(d));
	g.n = 0;
	ck_assert_int_gt(tcg_dirty_harvest_vpages(d, add_vpage, &g, &lost), 0);
	ck_assert(!lost);
	for (unsigned i = 0; i < g.n; i++) {
		ck_assert_uint_eq(g.v[i] & 0xfff, 0);
		stores += g.store[i];
		kernel_loads += !g.store[i] && g.v[i] >= 0xffffffff80000000ull;
	}
	ck_assert_uint_gt(stores, 0);
	ck_assert_uint_gt(kernel_loads, 0); /* text and rodata: fetched and read, never stored */
	g.n = 0;                            /* store logging was off */
	ck_assert_int_eq(tcg_dirty_harvest(d, add_pfn, &g, &lost), 0);
	tu_proc_free(&p);
	tcg_dirty_close(d);
}
END_TEST

/* The plugin's own bounds: a list too small overflows, a region smaller than RAM
 * gets no pfn beyond it. */
START_TEST(qemu_plugin_keeps_to_the_region)
{
	static struct got g;
	struct tu_proc p;
	struct tcg_dirty *d;
	char qemu[512];
	bool lost = false;

	if (!find_qemu(qemu, sizeof(qemu))) {
		tu_skip("qemu_plugin_keeps_to_the_region", "qemu-system-x86_64 is not installed");
		return;
	}
	d = open_region(QEMU_MIB * 256, 16, 1);
	tcg_dirty_enable(d, true);
	run_qemu(&p, qemu, d, "");
	ck_assert_int_eq(p.status, 33);
	g.n = 0;
	ck_assert_int_eq(tcg_dirty_harvest(d, add_pfn, &g, &lost), 16);
	ck_assert(lost);
	tu_proc_free(&p);
	tcg_dirty_close(d);

	d = open_region(4096, 65536, 1);
	tcg_dirty_enable(d, true);
	run_qemu(&p, qemu, d, "");
	ck_assert_int_eq(p.status, 33);
	g.n = 0;
	ck_assert_int_gt(tcg_dirty_harvest(d, add_pfn, &g, &lost), 0);
	ck_assert(!lost);
	for (unsigned i = 0; i < g.n; i++)
		ck_assert_uint_lt(g.v[i], 4096);
	tu_proc_free(&p);
	tcg_dirty_close(d);
}
END_TEST

/* Two vCPUs under round-robin TCG: the second one's stores and touched
 * pages are logged in its own block (its AP boot writes its stack and
 * fetches the trampoline); a region with one block is refused by a QEMU
 * that may run two. */
START_TEST(qemu_logs_each_vcpu)
{
	static struct got g;
	struct tu_proc p;
	struct tcg_dirty *d;
	char qemu[512];
	unsigned by_vcpu[2] = {0, 0};
	bool lost = true;

	if (!find_qemu(qemu, sizeof(qemu))) {
		tu_skip("qemu_logs_each_vcpu", "qemu-system-x86_64 is not installed");
		return;
	}
	d = open_region(QEMU_MIB * 256, 65536, 2);
	tcg_dirty_enable(d, true);
	tcg_dirty_enable_vpages(d, true);
	run_qemu_on(&p, qemu, d, ",vpages=on", 2);
	ck_assert_msg(p.status == 33, "qemu exit status %d\nstdout:\n%s\nstderr:\n%s", p.status,
	              p.out, p.err);
	ck_assert_msg(strstr(p.out, "2 CPUs up") != NULL, "stdout:\n%s", p.out);
	g.n = 0;
	ck_assert_int_gt(tcg_dirty_harvest_vpages(d, add_vpage, &g, &lost), 0);
	ck_assert(!lost);
	for (unsigned i = 0; i < g.n; i++) {
		ck_assert_uint_lt(g.vcpu[i], 2);
		by_vcpu[g.vcpu[i]]++;
	}
	ck_assert_uint_gt(by_vcpu[0], 0);
	ck_assert_uint_gt(by_vcpu[1], 0);
	g.n = 0;
	ck_assert_int_gt(tcg_dirty_harvest(d, add_pfn, &g, &lost), 0);
	ck_assert(!lost);
	tu_proc_free(&p);
	tcg_dirty_close(d);

	d = open_region(QEMU_MIB * 256, 1024, 1);
	run_qemu_on(&p, qemu, d, "", 2);
	ck_assert_int_eq(p.status, 1);
	ck_assert_msg(strstr(p.err, "ptsdirty: region: logs for 1 vCPUs, QEMU may run 2") != NULL,
	              "stderr:\n%s", p.err);
	ck_assert(!tcg_dirty_plugin_alive(d));
	tu_proc_free(&p);
	tcg_dirty_close(d);
}
END_TEST

START_TEST(qemu_refuses_a_bad_region)
{
	struct tu_proc p;
	struct tcg_dirty *d;
	struct fake f;
	char qemu[512];

	if (!find_qemu(qemu, sizeof(qemu))) {
		tu_skip("qemu_refuses_a_bad_region", "qemu-system-x86_64 is not installed");
		return;
	}
	d = open_region(QEMU_MIB * 256, 1024, 1);
	fake_map(&f, d);
	f.h->magic ^= 1;
	run_qemu(&p, qemu, d, "");
	ck_assert_int_eq(p.status, 1);
	ck_assert_msg(strstr(p.err, "ptsdirty: region: bad magic") != NULL, "stderr:\n%s", p.err);
	ck_assert_msg(strstr(p.err, "Could not load plugin") != NULL, "stderr:\n%s", p.err);
	ck_assert(!tcg_dirty_plugin_alive(d));
	tu_proc_free(&p);
	munmap(f.h, f.bytes);
	tcg_dirty_close(d);
}
END_TEST

Suite *suite_tcg_dirty(void)
{
	Suite *s = suite_create("tcg_dirty");
	TCase *host = tcase_create("host");
	TCase *qemu = tcase_create("qemu");

	tcase_add_test(host, region_header_and_fd);
	tcase_add_test(host, open_rejects_bad_sizes);
	tcase_add_test(host, harvest_hands_over_exactly_the_logged_pfns);
	tcase_add_test(host, overflow_reports_lost_and_resets);
	tcase_add_test(host, hostile_region_is_bounded);
	tcase_add_test(host, vpages_harvest_and_bounds);
	tcase_add_test(host, two_vcpus_keep_their_own_logs);
	tcase_add_test(host, plugin_path_env_and_default);
	suite_add_tcase(s, host);

	tu_tmpdir_fixture(qemu);
	tcase_set_timeout(qemu, QEMU_TIMEOUT + 10);
	tcase_add_test(qemu, qemu_logs_the_guests_stores);
	tcase_add_test(qemu, qemu_logs_virtual_pages);
	tcase_add_test(qemu, qemu_plugin_keeps_to_the_region);
	tcase_add_test(qemu, qemu_logs_each_vcpu);
	tcase_add_test(qemu, qemu_refuses_a_bad_region);
	suite_add_tcase(s, qemu);
	return s;
}
