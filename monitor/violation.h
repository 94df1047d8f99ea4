/* monitor/violation.h - one broken invariant: which, at which op, what was
 * expected and found, the objects involved, and a dedup signature.
 */
#ifndef MONITOR_VIOLATION_H
#define MONITOR_VIOLATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define VIO_MAX_OBJECTS 8
#define VIO_MAX_WALKS   3 /* page-table walks a violation carries (more are counted) */
#define VIO_MAX_PV      6 /* pv entries of a page's list a violation carries */
#define VIO_SLOT_NONE   (-2)
#define VIO_SLOT_KERNEL (-1)

enum vobj_kind {
	VOBJ_PMAP,      /* a pmap: slot, counters */
	VOBJ_PTE,       /* a page-table entry: pmap, va, level, old -> new */
	VOBJ_PAGE,      /* a physical page: pa, arena index, md counters, pv list */
	VOBJ_PV,        /* a pv entry: kva, pmap, va */
	VOBJ_PTP,       /* a page-table page: pa, level, first va */
	VOBJ_COUNTER,   /* a named counter: expected vs found */
	VOBJ_POOL_PAGE, /* a pv pool page: header kva */
	VOBJ_TLB,       /* the TLB ledger */
	VOBJ_OP,        /* the op's result */
	VOBJ_KIND_COUNT
};

/* one pv entry of a page's list, as a (pmap, va) pair */
struct vpv {
	int32_t slot; /* VIO_SLOT_NONE: it names no live pmap */
	uint64_t va;
};

struct vobj {
	enum vobj_kind kind;
	int32_t slot;   /* pmap slot, VIO_SLOT_KERNEL, VIO_SLOT_NONE */
	uint32_t level; /* PTE / PTP level, 0 if none */
	uint64_t va;
	uint64_t pa;
	int64_t page; /* arena page index, -1 if none */
	uint64_t old_pte, new_pte;
	uint64_t kva;
	int64_t expected, found;
	char name[32];    /* counter or field name */
	char detail[240]; /* decoded extras: pv list, flags */
	/* VOBJ_PAGE: the vm_page's md fields and its pv list (has_md: it has a vm_page) */
	bool has_md;
	uint32_t usage, attrs, flags, pmap_count, writeable_count;
	struct vpv pv[VIO_MAX_PV];
	uint32_t npv, pv_more;
	/* VOBJ_PMAP: its counters */
	uint64_t root, resident, wired;
	uint32_t ptp_count;
};

/*
 * The walk from a pmap's root to a VA the violation concerns (the VA of a PTE,
 * PTP or pv object, else of a user mapping of its page), one step a level
 * from the PML4 (level 4) down, in the state before the op and after it: the
 * table that holds the entry (0: no table at this level in that state) and
 * the entry.  The walk goes down while either state has a table below.
 * wrong: the entry the violation's objects name (a PTE object's, the entry
 * linking a PTP object's table, the deepest one for a pv entry).
 */
struct vwalk_step {
	uint64_t table_before, table_after;
	uint64_t before, after;
	uint16_t index;
	uint8_t level;
	bool wrong;
};

/* why a walk was taken: an object names its VA; else (nothing named a VA)
 * it leads to a mapping of a page object, or to a leaf the op changed in a
 * pmap object (no entry is marked wrong then: a counter is) */
enum vwalk_why { VWALK_OBJECT, VWALK_MAPPING, VWALK_CHANGED };

struct vwalk {
	enum vwalk_why why;
	int32_t slot; /* the pmap whose root the walk starts from */
	uint64_t va;
	uint32_t nstep;
	bool have_before; /* false at registration: there was no state before */
	struct vwalk_step step[4];
};

struct invariant;

struct violation {
	const struct invariant *inv;
	uint64_t op_index;
	uint32_t op_kind; /* enum pts_op_kind, PTS_OP_NONE at registration */
	char op_text[128];
	char message[256];
	char title[128];
	uint64_t signature;
	struct vobj obj[VIO_MAX_OBJECTS];
	unsigned nobj;
	struct vwalk walk[VIO_MAX_WALKS];
	unsigned nwalk, walks_more;      /* walks_more: VAs that had no room */
	uint64_t wired_bit, managed_bit; /* for decoding PTEs */
};

/* the op kind's name (pts_op_name), "register" for PTS_OP_NONE */
const char *monitor_op_kind_name(uint32_t kind);
const char *vobj_kind_name(enum vobj_kind kind);
/* fill title and signature from inv, op_kind and the first object's kind */
void violation_finish(struct violation *v);
/* a new object slot (the last one is reused when full) */
struct vobj *violation_add(struct violation *v, enum vobj_kind kind);
/* human-readable multi-line text */
void violation_print(const struct violation *v, FILE *out);
/* JSON: invariant, name, title, signature, op_index, op, op_kind, message, objects[],
 * walks[] (docs/user-guide.md, report.json) */
json_t *violation_json(const struct violation *v);

#endif /* MONITOR_VIOLATION_H */
