/* monitor/scope.h - what one op touched, for the incremental check: the
 * objects whose invariants are evaluated again (pages, tables, pmaps, pv
 * entries, pool pages, model keys), and the old values of what changed.
 * Internal to monitor/.
 */
#ifndef MONITOR_SCOPE_H
#define MONITOR_SCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "idset.h"
#include "model.h"
#include "snap.h"

struct vmp_change {
	uint64_t index;
	struct vmp old;
};

/*
 * An invariant's scoped function checks every object named here that its
 * full function would check, with the same per-object code; objects named
 * needlessly cost time, never findings.  Keys: (owner, va) and (slot, va)
 * are va | owner (va page aligned, owner below 4096).  The idsets from pages
 * to model_pages are cleared together: keep them adjacent.
 */
struct scope {
	struct idset pages;  /* vm_page indexes */
	struct idset tables; /* page-table page PAs */
	struct idset
	    new_tables;       /* ... of tables a changed entry now leads to (their leaves moved) */
	struct idset owners;  /* pmap indexes */
	struct idset pv_new;  /* indexes in cur->pv of entries read this op */
	struct idset pv_keys; /* (owner, va) of pv entries that went or came */
	struct idset lists;   /* vm_page indexes whose pv list was read again */
	struct idset
	    pool_pages; /* header KVAs of pool pages read again, new, or moved between lists */
	struct idset model_keys;  /* (slot, va) whose model mapping may have changed */
	struct idset kenter;      /* kenter window page indexes the model or the walk changed */
	struct idset model_pages; /* arena pages whose mod/ref prediction may have changed */
	struct vmp_change *vmp;   /* vm_pages whose fields changed, with the old fields */
	size_t nvmp, vmp_cap;
	bool pool_changed; /* the pool structure or its page set changed */
	bool dmap_changed; /* a kernel entry over the direct map changed */
	bool kernel_root_changed;
	bool curpmap_changed;
	bool pmaps_changed; /* a pmap came or went */
};

void scope_init(struct scope *sc);
void scope_free(struct scope *sc);
void scope_clear(struct scope *sc);
int scope_vmp_change(struct scope *sc, uint64_t index, const struct vmp *old);
/* model_env.changed: note what the model changes (scope is a struct scope) */
int scope_model_changed(void *scope, enum model_change what, uint32_t slot, uint64_t x);

static inline uint64_t scope_key(uint32_t owner, uint64_t va)
{
	return (va & ~(uint64_t)0xfff) | (owner & 0xfff);
}

#endif /* MONITOR_SCOPE_H */
