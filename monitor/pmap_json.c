/* monitor/pmap_json.c - a pmap's page tables as the monitor's last walk holds
 * them, as JSON, for `ptshadow dump --svg` (the same walk `dump` prints).
 */
#include <inttypes.h>
#include <stdio.h>

#include "monitor_impl.h"
#include "pte.h"

struct tables {
	const struct ptp_set *s;
	const struct pts_descriptor *d;
	uint32_t owner;
	size_t max_tables, max_entries;
	json_t *out;
	size_t more; /* tables that had no room */
};

static json_t *hex(uint64_t x)
{
	char buf[24];
	snprintf(buf, sizeof buf, "0x%" PRIx64, x);
	return json_string(buf);
}

static json_t *entry_json(const struct tables *t, const struct ptp *p, unsigned i, uint64_t e)
{
	char flags[160];
	json_t *j = json_object();
	json_object_set_new(j, "index", json_integer(i));
	json_object_set_new(j, "va", hex(canonical(p->va + i * level_span(p->level))));
	json_object_set_new(j, "pte", hex(e));
	json_object_set_new(j, "pa", hex(pte_frame(e, p->level)));
	pte_flags(e, p->level, t->d->pte_wired_bit, t->d->pte_managed_bit, flags, sizeof flags);
	json_object_set_new(j, "flags", json_string(flags));
	if (pte_valid(e) && !pte_is_leaf(e, p->level)) {
		const struct ptp *c = ptp_by_pa(t->s, pte_frame(e, p->level));
		/* "below": drawn after this table; another pmap's (the kernel's
		 * slots in a user pmap) or one the walk did not reach: not drawn */
		json_object_set_new(j, "table",
		                    json_string(c == NULL              ? "unwalked"
		                                : c->owner != t->owner ? "another pmap's"
		                                                       : "below"));
	}
	return j;
}

static void add_child(struct tables *t, const struct ptp *p, uint64_t e);

/* table p, then the tables below it in entry order */
static void add_table(struct tables *t, const struct ptp *p)
{
	const uint64_t *e = ptp_entries(t->s, p);
	json_t *j, *entries;
	size_t shown = 0, nonzero = 0;

	if (json_array_size(t->out) == t->max_tables) {
		t->more++; /* counted, with the tables below it */
		for (unsigned i = 0; i < NPTEPG; i++)
			add_child(t, p, e[i]);
		return;
	}
	j = json_object();
	entries = json_array();
	json_object_set_new(j, "level", json_integer(p->level));
	json_object_set_new(j, "pa", hex(p->pa));
	json_object_set_new(j, "va", hex(p->va));
	json_array_append_new(t->out, j);
	for (unsigned i = 0; i < NPTEPG; i++) {
		if (e[i] == 0)
			continue;
		nonzero++;
		if (shown++ < t->max_entries)
			json_array_append_new(entries, entry_json(t, p, i, e[i]));
	}
	json_object_set_new(j, "entries", entries);
	json_object_set_new(j, "nonzero", json_integer((json_int_t)nonzero));
	for (unsigned i = 0; i < NPTEPG; i++)
		add_child(t, p, e[i]);
}

/* the table entry e of p leads to, if it is this pmap's */
static void add_child(struct tables *t, const struct ptp *p, uint64_t e)
{
	if (!pte_valid(e) || pte_is_leaf(e, p->level))
		return;
	const struct ptp *c = ptp_by_pa(t->s, pte_frame(e, p->level));
	if (c != NULL && c->owner == t->owner && c->level == p->level - 1)
		add_table(t, c);
}

json_t *monitor_pmap_json(const struct monitor *m, int32_t slot, size_t max_tables,
                          size_t max_entries)
{
	const struct snapshot *s = &m->snap[m->cur];
	int32_t owner = slot < 0 ? 0 : snap_pmap_by_slot(s, (uint32_t)slot);
	if (owner < 0 || (size_t)owner >= s->npmap)
		return NULL;
	const struct pmap_snap *p = &s->pmap[owner];
	struct tables t = {&s->walk,     &m->desc, (uint32_t)owner, max_tables, max_entries,
	                   json_array(), 0};
	size_t r = (size_t)owner < s->walk.nroot ? s->walk.root[owner] : SIZE_MAX;
	json_t *j = json_object();
	if (slot < 0)
		json_object_set_new(j, "pmap", json_string("kernel"));
	else
		json_object_set_new(j, "pmap", json_integer(slot));
	json_object_set_new(j, "root", hex(p->root));
	json_object_set_new(j, "resident", json_integer((json_int_t)p->resident));
	json_object_set_new(j, "wired", json_integer((json_int_t)p->wired));
	json_object_set_new(j, "ptp_count", json_integer(p->ptp_count));
	if (r < s->walk.nptp)
		add_table(&t, &s->walk.ptp[r]);
	json_object_set_new(j, "tables", t.out);
	json_object_set_new(j, "tables_more", json_integer((json_int_t)t.more));
	return j;
}
