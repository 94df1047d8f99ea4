/* monitor/inv_lock.c - LOCK family: at a stop every lock a pmap op takes is
 * free (docs/smp.md, "Locks at a stop").  A lock held between ops is a lost
 * unlock on one CPU as on several: the next op to take it spins forever.
 */
#include "check_ctx.h"

static void check_pmap_lock(struct check *c, uint32_t owner)
{
	const struct pmap_snap *p = &c->cur->pmap[owner];
	char who[40], pmap[32];

	if (!p->live || p->lock == c->d->lock_free)
		return;
	lock_owner(c->d, p->lock, who, sizeof who);
	if (owner == 0)
		snprintf(pmap, sizeof pmap, "the kernel pmap");
	else
		snprintf(pmap, sizeof pmap, "pmap slot %u", p->slot);
	struct violation *v =
	    vio(c, "%s's pm_lock held by %s at a stop (word 0x%x at kva 0x%llx)", pmap, who,
	        p->lock, (unsigned long long)(p->kva + c->d->off_pm_lock));
	vio_pmap(v, c, c->cur, owner);
}

void inv_locks_free(struct check *c)
{
	const struct lock_view *l = c->locks;
	char who[40];

	for (uint32_t i = 0; i < c->cur->npmap; i++)
		check_pmap_lock(c, i);
	if (!l->ok)
		vio(c, "%s", l->issue);
	for (size_t i = 0; i < l->nheld && i < LOCKS_HELD_MAX; i++) {
		lock_owner(c->d, l->held[i].word, who, sizeof who);
		vio(c, "%s held by %s at a stop (word 0x%x at kva 0x%llx)", l->held[i].name, who,
		    l->held[i].word, (unsigned long long)l->held[i].kva);
	}
	if (l->nheld > LOCKS_HELD_MAX)
		vio(c, "%zu more locks held at a stop", l->nheld - LOCKS_HELD_MAX);
}
