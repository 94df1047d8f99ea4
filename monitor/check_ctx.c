/* monitor/check_ctx.c - how invariant functions report: a violation record with
 * the op, the message and decoded objects, capped per invariant per op.
 */
#include "array.h"
#include "check_ctx.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "monitor_impl.h"
#include "pte.h"

struct violation *vio(struct check *c, const char *fmt, ...)
{
	struct monitor *m = c->m;
	int idx = invariant_index(c->inv);
	m->stats.violations++;
	m->new_vio++;
	if (idx < 0 || m->per_inv[idx]++ >= m->cfg.max_per_invariant ||
	    m->nvio >= m->cfg.max_violations)
		return NULL;
	if (ARRAY_GROW(m->vio, m->vio_cap, m->nvio, 16) != 0)
		return NULL;
	struct violation *v = &m->vio[m->nvio++];
	memset(v, 0, sizeof *v);
	v->inv = c->inv;
	v->op_index = m->op_index;
	v->op_kind = m->op_kind;
	v->wired_bit = c->d->pte_wired_bit;
	v->managed_bit = c->d->pte_managed_bit;
	snprintf(v->op_text, sizeof v->op_text, "%s", m->op_text);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->message, sizeof v->message, fmt, ap);
	va_end(ap);
	violation_finish(v);
	return v;
}

/* objects are added after vio(): keep the title in step with the first one */
static struct vobj *add(struct violation *v, enum vobj_kind kind)
{
	struct vobj *o = violation_add(v, kind);
	if (v->nobj == 1)
		violation_finish(v);
	return o;
}

void vio_pte(struct violation *v, int32_t slot, uint64_t va, uint32_t level, uint64_t old,
             uint64_t new)
{
	if (v == NULL)
		return;
	struct vobj *o = add(v, VOBJ_PTE);
	o->slot = slot;
	o->va = va;
	o->level = level;
	o->old_pte = old;
	o->new_pte = new;
}

static void pv_list_text(const struct check *c, int64_t index, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "pv list:");
	unsigned shown = 0;
	for (size_t i = 0; i < c->cur->npv && n < len; i++) {
		const struct pv_snap *pv = &c->cur->pv[i];
		if ((int64_t)pv->page != index)
			continue;
		if (shown++ == 6) {
			n += (size_t)snprintf(buf + n, len - n, " ...");
			break;
		}
		n += (size_t)snprintf(buf + n, len - n, " (pmap %d, va 0x%llx)",
		                      pv->owner >= 0 ? snap_slot(c->cur, (uint32_t)pv->owner) : -9,
		                      (unsigned long long)pv->va);
	}
	if (shown == 0 && n < len)
		snprintf(buf + n, len - n, " empty");
}

/* the vm_page's md fields and its pv list, for pictures and report.json */
static void page_md(struct vobj *o, const struct check *c, int64_t index)
{
	const struct vmp *p = &c->cur->vmp[index];
	o->has_md = true;
	o->usage = p->usage;
	o->attrs = p->attrs;
	o->flags = p->flags;
	o->pmap_count = p->pmap_count;
	o->writeable_count = p->writeable_count;
	for (size_t i = 0; i < c->cur->npv; i++) {
		const struct pv_snap *pv = &c->cur->pv[i];
		if ((int64_t)pv->page != index)
			continue;
		if (o->npv == VIO_MAX_PV) {
			o->pv_more++;
			continue;
		}
		o->pv[o->npv++] = (struct vpv){
		    pv->owner >= 0 ? snap_slot(c->cur, (uint32_t)pv->owner) : VIO_SLOT_NONE,
		    pv->va};
	}
}

void vio_page(struct violation *v, const struct check *c, gpa_t pa)
{
	if (v == NULL)
		return;
	struct vobj *o = add(v, VOBJ_PAGE);
	int64_t i = snap_page_index(c->d, pa);
	o->pa = pa & ~(uint64_t)(PTS_PAGE_SIZE - 1);
	o->page = arena_index_of(c->d, pa);
	if (i < 0 || (uint64_t)i >= c->cur->nvmp) {
		snprintf(o->detail, sizeof o->detail, "no vm_page");
		return;
	}
	const struct vmp *p = &c->cur->vmp[i];
	char pv[160];
	pv_list_text(c, i, pv, sizeof pv);
	page_md(o, c, i);
	snprintf(o->detail, sizeof o->detail,
	         "usage %u attrs 0x%x flags 0x%x pmap_count %u writeable_count %u; %s", p->usage,
	         p->attrs, p->flags, p->pmap_count, p->writeable_count, pv);
}

void vio_pmap(struct violation *v, const struct check *c, const struct snapshot *s, uint32_t owner)
{
	if (v == NULL || owner >= s->npmap)
		return;
	const struct pmap_snap *p = &s->pmap[owner];
	struct vobj *o = add(v, VOBJ_PMAP);
	o->slot = snap_slot(s, owner);
	o->kva = p->kva;
	o->root = p->root;
	o->resident = p->resident;
	o->wired = p->wired;
	o->ptp_count = p->ptp_count;
	snprintf(o->detail, sizeof o->detail, "root 0x%llx resident %llu wired %llu ptps %u",
	         (unsigned long long)p->root, (unsigned long long)p->resident,
	         (unsigned long long)p->wired, p->ptp_count);
}

void vio_counter(struct violation *v, const char *name, int64_t expected, int64_t found)
{
	if (v == NULL)
		return;
	struct vobj *o = add(v, VOBJ_COUNTER);
	snprintf(o->name, sizeof o->name, "%s", name);
	o->expected = expected;
	o->found = found;
}

void vio_ptp(struct violation *v, const struct check *c, const struct ptp *t)
{
	if (v == NULL)
		return;
	struct vobj *o = add(v, VOBJ_PTP);
	o->slot = snap_slot(c->cur, t->owner);
	o->pa = t->pa;
	o->va = t->va;
	o->level = t->level;
	snprintf(o->detail, sizeof o->detail, "%u valid entries, parent 0x%llx[%u]", t->nvalid,
	         (unsigned long long)t->parent, t->parent_index);
}

void vio_pv(struct violation *v, const struct check *c, const struct pv_snap *pv)
{
	if (v == NULL)
		return;
	struct vobj *o = add(v, VOBJ_PV);
	o->slot = pv->owner >= 0 ? snap_slot(c->cur, (uint32_t)pv->owner) : VIO_SLOT_NONE;
	o->va = pv->va;
	o->kva = pv->kva;
	snprintf(o->detail, sizeof o->detail, "on the list of vm_page %llu; pmap 0x%llx ptp 0x%llx",
	         (unsigned long long)pv->page, (unsigned long long)pv->pmap,
	         (unsigned long long)pv->ptp);
}

void check_issues(struct check *c)
{
	const struct snapshot *s = c->cur;
	for (size_t i = 0; i < s->nissue; i++) {
		const struct snap_issue *is = &s->issue[i];
		if (strcmp(is->inv, c->inv->id) != 0)
			continue;
		struct violation *v = vio(c, "%s", is->msg);
		if (v && is->page >= 0 && (uint64_t)is->page < s->nvmp)
			vio_page(v, c,
			         (c->d->vm_page_first_pfn + (uint64_t)is->page) << PTS_PAGE_SHIFT);
		if (v && is->kva) {
			struct vobj *o = add(v, VOBJ_PV);
			o->kva = is->kva;
		}
	}
}

bool op_is(const struct check *c, uint32_t kind)
{
	return c->op != NULL && c->op->kind == kind;
}

bool group_has(const struct check *c, uint32_t kind)
{
	for (size_t i = 0; i < c->ngroup; i++)
		if (c->group[i].kind == kind)
			return true;
	return op_is(c, kind);
}
