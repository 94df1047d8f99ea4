/* monitor/snap.h - one snapshot of the guest pmap state, read through the
 * descriptor only: pmaps, vm_pages, pv lists, the pv pool, page tables.
 */
#ifndef MONITOR_SNAP_H
#define MONITOR_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ptshadow/abi.h>

#include "desc.h"
#include "hmap.h"
#include "walk.h"

struct vmp {
	uint64_t phys_addr, pv_list, ptp_pmap, ptp_va, ptp_hnext;
	uint32_t usage, attrs, flags, pmap_count, writeable_count, wire_count, ptp_level;
};

/* a pmap at its id: ids stay with a pmap from snapshot to snapshot (see
 * snap_assign_ids), so pmap[] may have holes (live false) */
struct pmap_snap {
	uint64_t kva;
	gpa_t root;
	uint64_t resident, wired, next;
	uint32_t slot, ptp_count;
	uint32_t active; /* pm_active, the CPU set (0 when the guest states no SMP) */
	uint32_t lock;   /* pm_lock's word (ABI 5) */
	bool kernel, live;
	size_t hash_off; /* buckets at snap->hash[hash_off .. + ptp_hash_size] */
};

struct pv_snap {
	uint64_t kva, pmap, va, ptp, next;
	uint64_t page; /* vm_page index of the list it is on */
	int32_t owner; /* pmap index, -1 if it names no pmap */
};

enum pool_list { POOL_PART, POOL_FULL, POOL_EMPTY };

struct pool_page_snap {
	uint64_t hdr, page, freelist, next;
	uint32_t nmissing, nfree;
	enum pool_list list;
};

struct pool_snap {
	bool ok;
	uint64_t head[3];
	uint32_t itemsperpage, nitems, nout, npages, nidle, minitems, maxpages;
	struct pool_page_snap *page;
	size_t npage, page_cap;
	struct hmap free_item; /* item KVA -> pool page index */
};

struct snap_issue {
	const char *inv; /* invariant id */
	char msg[200];
	int32_t slot;
	uint64_t kva, va, pa;
	int64_t page; /* vm_page index, -1 */
};

#define SNAP_MAX_PMAPS (PTS_MAX_PMAPS + 1)

struct snapshot {
	struct pmap_snap pmap[SNAP_MAX_PMAPS]; /* by id; [0] is the kernel pmap */
	size_t npmap;                          /* highest live id + 1 */
	uint64_t *hash;
	uint64_t *hash_tmp; /* the list as read, before ids are assigned */
	uint64_t curpmap;
	struct vmp *vmp;
	uint64_t nvmp;
	uint8_t *vmp_raw; /* the array as read, to parse only what changed */
	struct pv_snap *pv;
	size_t npv, pv_cap;
	struct hmap pv_by_va; /* (owner, va) -> pv index + 1 of the first such entry */
	struct hmap pv_by_kva;
	struct pool_snap pool;
	struct ptp_set walk;
	uint64_t tlb_head;
	bool tlb_ok;
	struct snap_issue *issue;
	size_t nissue, issue_cap;
};

struct snap_params {
	struct kview *kv;
	size_t max_ptps;
	size_t max_pv;
	const struct snapshot *prev; /* its walk is the shadow, may be NULL */
};

void snap_init(struct snapshot *s);
void snap_free(struct snapshot *s);
/* read everything; 0, or -1 when out of host memory (guest errors are issues) */
int snap_read(struct snapshot *s, const struct snap_params *p);

/* pieces of snap_read, for the incremental update (incr_*.c) */
int snap_read_pmaps(struct snapshot *s, struct kview *kv, const struct snapshot *prev);
int snap_read_pmap_record(struct kview *kv, uint64_t kva, bool kernel, struct pmap_snap *p,
                          uint64_t *hash);
void snap_parse_vm_page(const struct pts_descriptor *d, const uint8_t *b, struct vmp *v);
/* the pv entry at kva, on vm_page index page's list, from a copy b of its
 * bytes; owner is -1 (who owns it depends on the pmaps the caller reads) */
void snap_parse_pv_entry(const struct pts_descriptor *d, const uint8_t *b, uint64_t kva,
                         uint64_t page, struct pv_snap *pv);
int snap_push_pv(struct snapshot *s, const struct pv_snap *pv);
uint64_t snap_pv_key(int32_t owner, uint64_t va);
int snap_read_pool_header(struct kview *kv, uint64_t hdr, enum pool_list list,
                          struct pool_page_snap *pg);
/* the parsed pool structure: heads and counters (0), or -1 unreadable, -2 bad itemsperpage */
int snap_read_pool_struct(struct kview *kv, struct pool_snap *p);
void snap_read_tlb_head(struct snapshot *s, struct kview *kv);

/*
 * Pmap ids for the pmaps of a list (list[0] the kernel pmap): the kernel pmap
 * is 0; a pmap keeps the id it had in prev (same KVA and slot); a new one
 * takes the lowest id no pmap of prev held.  A full read and the incremental
 * update both assign them here, so owners mean the same in both modes.
 */
void snap_assign_ids(const struct pmap_snap *list, size_t n, const struct snapshot *prev,
                     uint32_t *id);

/* helpers; the lookups see live pmaps only */
int32_t snap_pmap_by_kva(const struct snapshot *s, uint64_t kva);
int32_t snap_pmap_by_slot(const struct snapshot *s, uint32_t slot);
/* the pmap slot for reports: VIO_SLOT_KERNEL for index 0 */
int32_t snap_slot(const struct snapshot *s, uint32_t owner);
/* vm_page of a physical address, or NULL */
const struct vmp *snap_page(const struct snapshot *s, const struct pts_descriptor *d, gpa_t pa);
int64_t snap_page_index(const struct pts_descriptor *d, gpa_t pa);
/* arena index of pa, or -1 */
int64_t arena_index_of(const struct pts_descriptor *d, gpa_t pa);
/* pv entry of (owner, va): index of the first one found + 1, 0 if none */
size_t snap_pv_at(const struct snapshot *s, uint32_t owner, uint64_t va);
struct snap_issue *snap_issue(struct snapshot *s, const char *inv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* MONITOR_SNAP_H */
