/* src/qemu/plugin/ptsdirty_shm.h - the memory ptshadow shares with its TCG plugin
 * (ptsdirty.so inside QEMU): the layout both sides include, nothing else.
 *
 * REGION (one memfd, created and sized by the host, mapped by both):
 *   struct ptsdirty_shm       at 0
 *   bitmap                    gpa_pages bits, a bit a guest page: "already listed"
 *   then, for each vCPU v < nvcpus, a block at vcpu_off + v * vcpu_stride:
 *     struct ptsdirty_vcpu    its counts
 *     pfn list                list_cap uint64_t, the pages it wrote since the last harvest
 *     vpage table             vpage_slots uint64_t, open addressing, linear probing:
 *                             0 empty, else va page | PTSDIRTY_VP_VALID [| PTSDIRTY_VP_STORE]
 *     vpage list              vpage_slots / 2 uint64_t, the slot index of each entry in the
 *                             order they were made
 * Offsets are fixed by ptsdirty_layout() from the four sizes; the plugin
 * refuses a header whose offsets or size disagree with it, or fewer vCPU
 * blocks than QEMU may run vCPUs.
 *
 * RULES
 *   - The host writes the constant part before QEMU starts; the plugin never
 *     writes it.  `log` is the host's switch, read by the plugin on every access.
 *   - Each vCPU appends to its own block only (QEMU's vCPU index picks it), so
 *     every list has one writer, under MTTCG as under round-robin TCG.  A store
 *     sets the page's bit with an atomic OR shared by all vCPUs; the vCPU that
 *     turned it on writes the list entry, then publishes its count with a
 *     release store.  A full list sets its `overflow` and logs nothing more (no
 *     bit, no entry) until a harvest.  A callback from a vCPU index with no
 *     block sets the header's `stray`: the host then trusts no log.
 *   - The virtual pages a vCPU touched are in its own table: the host walks
 *     them through that vCPU's page tables (its CR3), not another's.
 *   - The host harvests with acquire loads of the counts, reads the entries,
 *     clears their bits, and resets the count with a compare-and-swap, so an
 *     append racing with a harvest is never lost (at worst reported twice).
 *   - Everything the host reads here is hostile: each count is bounded by its
 *     capacity, each pfn by gpa_pages, each slot index by vpage_slots.
 */
#ifndef PTSDIRTY_SHM_H
#define PTSDIRTY_SHM_H

#include <stdint.h>

#define PTSDIRTY_MAGIC   0x7974726964737470ull /* "ptsdirty", little-endian */
#define PTSDIRTY_VERSION 2u                    /* 2: a block a vCPU */
#define PTSDIRTY_ALIVE   0x6576696c61ull       /* "alive" */

/* log: what the plugin records while the host has it on */
#define PTSDIRTY_LOG_STORES 0x1u /* guest-physical pages stored to -> bitmap + pfn list */
#define PTSDIRTY_LOG_VPAGES 0x2u /* virtual pages accessed -> vpage table (needs vpages=on) */

/* plugin_flags: how the plugin was loaded */
#define PTSDIRTY_PLUGIN_VPAGES 0x1u /* loads and instruction fetches are instrumented too */

/* vpage table entries */
#define PTSDIRTY_VP_VALID 0x1ull
#define PTSDIRTY_VP_STORE 0x2ull
#define PTSDIRTY_VP_MASK  (~0xfffull)

#define PTSDIRTY_VPAGE_SLOTS     16384u /* power of two; the list holds half */
#define PTSDIRTY_VPAGE_MAX_PROBE 32u

#define PTSDIRTY_MAX_GPA_PAGES (1ull << 28) /* 1 TiB of guest RAM */
#define PTSDIRTY_MAX_LIST_CAP  (1ull << 24)
#define PTSDIRTY_MAX_VCPUS     8u

struct ptsdirty_shm {
	/* constant, written by the host before QEMU starts */
	uint64_t magic;
	uint32_t version;
	uint32_t header_bytes; /* sizeof(struct ptsdirty_shm) */
	uint64_t region_bytes;
	uint64_t gpa_pages;
	uint64_t list_cap;
	uint64_t vpage_slots;
	uint64_t bitmap_off;
	uint64_t list_off;        /* in a vCPU's block */
	uint64_t vpage_table_off; /* in a vCPU's block */
	uint64_t vpage_list_off;  /* in a vCPU's block */
	uint64_t vcpu_off;        /* vCPU 0's block */
	uint64_t vcpu_stride;     /* bytes from one vCPU's block to the next */
	uint32_t nvcpus;          /* blocks: vCPU indexes 0 .. nvcpus-1 */
	uint32_t reserved0;

	/* host -> plugin */
	uint32_t log; /* PTSDIRTY_LOG_* */
	uint32_t reserved1;

	/* plugin -> host */
	uint64_t alive; /* PTSDIRTY_ALIVE once qemu_plugin_install accepted the region */
	uint32_t plugin_pid;
	uint32_t plugin_flags; /* PTSDIRTY_PLUGIN_* */
	uint64_t stray;        /* non-zero: a vCPU with no block ran (nothing was logged) */
	/* debug counters, never reset by the plugin (approximate under MTTCG) */
	uint64_t store_cbs;  /* store callbacks (logging on or off) */
	uint64_t load_cbs;   /* load callbacks (QEMU 7.2 delivers them even to MEM_W) */
	uint64_t fetch_cbs;  /* TB-execution callbacks (vpages=on only) */
	uint64_t pfns_added; /* pfns appended to the list */
	uint64_t io_stores;  /* stores that went to MMIO/ROM (not logged) */
	uint64_t reserved[7];
};

/* The head of a vCPU's block: its logs' counts (its one writer: that vCPU). */
struct ptsdirty_vcpu {
	uint64_t n;        /* pfn list entries published */
	uint64_t overflow; /* non-zero: pfns were dropped since the last harvest */
	uint64_t vpage_n;
	uint64_t vpage_overflow;
	uint64_t reserved[4];
};

struct ptsdirty_layout {
	uint64_t bitmap_off, vcpu_off, vcpu_stride;         /* in the region */
	uint64_t list_off, vpage_table_off, vpage_list_off; /* in a vCPU's block */
	uint64_t region_bytes;
};

static inline uint64_t ptsdirty_align64(uint64_t x)
{
	return (x + 63) & ~63ull;
}

/* The offsets for these sizes; -1 when a size is out of range.  (At the
 * largest sizes a region is about 1.2 GiB: no sum here overflows.) */
static inline int ptsdirty_layout(uint64_t gpa_pages, uint64_t list_cap, uint64_t vpage_slots,
                                  uint64_t nvcpus, struct ptsdirty_layout *l)
{
	if (gpa_pages == 0 || gpa_pages > PTSDIRTY_MAX_GPA_PAGES || list_cap == 0 ||
	    list_cap > PTSDIRTY_MAX_LIST_CAP || vpage_slots < 2 || vpage_slots > (1u << 24) ||
	    (vpage_slots & (vpage_slots - 1)) != 0 || nvcpus == 0 || nvcpus > PTSDIRTY_MAX_VCPUS)
		return -1;
	l->bitmap_off = ptsdirty_align64(sizeof(struct ptsdirty_shm));
	l->vcpu_off = ptsdirty_align64(l->bitmap_off + (gpa_pages + 63) / 64 * 8);
	l->list_off = ptsdirty_align64(sizeof(struct ptsdirty_vcpu));
	l->vpage_table_off = ptsdirty_align64(l->list_off + list_cap * 8);
	l->vpage_list_off = ptsdirty_align64(l->vpage_table_off + vpage_slots * 8);
	l->vcpu_stride = ptsdirty_align64(l->vpage_list_off + vpage_slots / 2 * 8);
	l->region_bytes = (l->vcpu_off + nvcpus * l->vcpu_stride + 4095) & ~4095ull;
	return 0;
}

/* Home slot of a virtual page in a table of `slots` (a power of two). */
static inline uint64_t ptsdirty_vpage_hash(uint64_t va, uint64_t slots)
{
	return ((va >> 12) * 0x9e3779b97f4a7c15ull >> 32) & (slots - 1);
}

#endif /* PTSDIRTY_SHM_H */
