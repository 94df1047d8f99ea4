/* monitor/violation.c - rendering violations as text and JSON, and their
 * dedup signature (a hash of the normalised title: invariant id, op kind and
 * first object kind, so one bug is one signature however often it recurs).
 */
#include "violation.h"

#include <inttypes.h>
#include <string.h>

#include <ptshadow/abi.h>

#include "invariant.h"
#include "pte.h"

const char *monitor_op_kind_name(uint32_t kind)
{
	const char *name = pts_op_name(kind);

	if (kind == PTS_OP_NONE)
		return "register";
	return name != NULL ? name : "bad-op";
}

const char *vobj_kind_name(enum vobj_kind kind)
{
	static const char *const names[VOBJ_KIND_COUNT] = {
	    "pmap", "pte", "page", "pv", "ptp", "counter", "pool-page", "tlb", "op"};
	return (unsigned)kind < VOBJ_KIND_COUNT ? names[kind] : "object";
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

void violation_finish(struct violation *v)
{
	const char *obj = v->nobj ? vobj_kind_name(v->obj[0].kind) : "state";
	snprintf(v->title, sizeof v->title, "%s %s after %s (%s)", v->inv ? v->inv->id : "?",
	         v->inv ? v->inv->name : "?", monitor_op_kind_name(v->op_kind), obj);
	v->signature = fnv1a(v->title);
}

struct vobj *violation_add(struct violation *v, enum vobj_kind kind)
{
	if (v->nobj < VIO_MAX_OBJECTS)
		v->nobj++;
	struct vobj *o = &v->obj[v->nobj - 1];
	memset(o, 0, sizeof *o);
	o->kind = kind;
	o->slot = VIO_SLOT_NONE;
	o->page = -1;
	return o;
}

static const char *slot_text(int32_t slot, char *buf, size_t len)
{
	if (slot == VIO_SLOT_KERNEL)
		return "kernel";
	if (slot == VIO_SLOT_NONE)
		return "-";
	snprintf(buf, len, "%d", slot);
	return buf;
}

static void print_obj(const struct violation *v, const struct vobj *o, FILE *out)
{
	char s[16], a[160], b[160];
	fprintf(out, "  %s:", vobj_kind_name(o->kind));
	if (o->slot != VIO_SLOT_NONE)
		fprintf(out, " pmap %s", slot_text(o->slot, s, sizeof s));
	if (o->kind == VOBJ_PTE || o->kind == VOBJ_PTP || o->kind == VOBJ_PV)
		fprintf(out, " va 0x%" PRIx64, o->va);
	if (o->level)
		fprintf(out, " level %u", o->level);
	if (o->kind == VOBJ_PAGE || o->kind == VOBJ_PTP)
		fprintf(out, " pa 0x%" PRIx64, o->pa);
	if (o->page >= 0)
		fprintf(out, " pg%" PRId64, o->page);
	if (o->kva)
		fprintf(out, " kva 0x%" PRIx64, o->kva);
	if (o->kind == VOBJ_COUNTER)
		fprintf(out, " %s expected %" PRId64 " found %" PRId64, o->name, o->expected,
		        o->found);
	fputc('\n', out);
	if (o->kind == VOBJ_PTE) {
		unsigned lv = o->level ? o->level : 1;
		fprintf(out, "    old %s\n    new %s\n",
		        pte_format(o->old_pte, lv, v->wired_bit, v->managed_bit, a, sizeof a),
		        pte_format(o->new_pte, lv, v->wired_bit, v->managed_bit, b, sizeof b));
	}
	if (o->detail[0])
		fprintf(out, "    %s\n", o->detail);
}

void violation_print(const struct violation *v, FILE *out)
{
	fprintf(out, "%s [%016" PRIx64 "]\n", v->title, v->signature);
	fprintf(out, "  op #%" PRIu64 ": %s\n", v->op_index,
	        v->op_text[0] ? v->op_text : monitor_op_kind_name(v->op_kind));
	fprintf(out, "  %s\n", v->message);
	for (unsigned i = 0; i < v->nobj; i++)
		print_obj(v, &v->obj[i], out);
}

static json_t *hex(uint64_t x)
{
	char buf[24];
	snprintf(buf, sizeof buf, "0x%" PRIx64, x);
	return json_string(buf);
}

/* "pmap": a slot, "kernel", or nothing */
static void set_slot(json_t *j, int32_t slot)
{
	if (slot == VIO_SLOT_KERNEL)
		json_object_set_new(j, "pmap", json_string("kernel"));
	else if (slot != VIO_SLOT_NONE)
		json_object_set_new(j, "pmap", json_integer(slot));
}

/* a page's md fields and pv list */
static void page_json(json_t *j, const struct vobj *o)
{
	json_t *pv = json_array();
	json_object_set_new(j, "md",
	                    json_pack("{s:i, s:i, s:i, s:i, s:i}", "usage", (int)o->usage, "attrs",
	                              (int)o->attrs, "flags", (int)o->flags, "pmap_count",
	                              (int)o->pmap_count, "writeable_count",
	                              (int)o->writeable_count));
	for (uint32_t i = 0; i < o->npv; i++) {
		json_t *e = json_object();
		set_slot(e, o->pv[i].slot);
		json_object_set_new(e, "va", hex(o->pv[i].va));
		json_array_append_new(pv, e);
	}
	json_object_set_new(j, "pv_list", pv);
	json_object_set_new(j, "pv_more", json_integer(o->pv_more));
}

static json_t *obj_json(const struct violation *v, const struct vobj *o)
{
	char a[160];
	json_t *j = json_object();
	json_object_set_new(j, "kind", json_string(vobj_kind_name(o->kind)));
	set_slot(j, o->slot);
	if (o->kind == VOBJ_PTE || o->kind == VOBJ_PTP || o->kind == VOBJ_PV)
		json_object_set_new(j, "va", hex(o->va));
	if (o->level)
		json_object_set_new(j, "level", json_integer(o->level));
	if (o->kind == VOBJ_PAGE || o->kind == VOBJ_PTP)
		json_object_set_new(j, "pa", hex(o->pa));
	if (o->page >= 0)
		json_object_set_new(j, "page", json_integer(o->page));
	if (o->kva)
		json_object_set_new(j, "kva", hex(o->kva));
	if (o->kind == VOBJ_PTE) {
		unsigned lv = o->level ? o->level : 1;
		json_object_set_new(j, "pte_old", hex(o->old_pte));
		json_object_set_new(j, "pte_new", hex(o->new_pte));
		pte_flags(o->old_pte, lv, v->wired_bit, v->managed_bit, a, sizeof a);
		json_object_set_new(j, "pte_old_flags", json_string(a));
		pte_flags(o->new_pte, lv, v->wired_bit, v->managed_bit, a, sizeof a);
		json_object_set_new(j, "pte_new_flags", json_string(a));
	}
	if (o->kind == VOBJ_COUNTER) {
		json_object_set_new(j, "name", json_string(o->name));
		json_object_set_new(j, "expected", json_integer(o->expected));
		json_object_set_new(j, "found", json_integer(o->found));
	}
	if (o->kind == VOBJ_PAGE && o->has_md)
		page_json(j, o);
	if (o->kind == VOBJ_PMAP) {
		json_object_set_new(j, "root", hex(o->root));
		json_object_set_new(j, "resident", json_integer((json_int_t)o->resident));
		json_object_set_new(j, "wired", json_integer((json_int_t)o->wired));
		json_object_set_new(j, "ptp_count", json_integer(o->ptp_count));
	}
	if (o->detail[0])
		json_object_set_new(j, "detail", json_string(o->detail));
	return j;
}

static json_t *step_json(const struct violation *v, const struct vwalk_step *st)
{
	char a[160];
	json_t *j = json_object();
	json_object_set_new(j, "level", json_integer(st->level));
	json_object_set_new(j, "index", json_integer(st->index));
	if (st->table_before)
		json_object_set_new(j, "table_before", hex(st->table_before));
	if (st->table_after)
		json_object_set_new(j, "table_after", hex(st->table_after));
	json_object_set_new(j, "before", hex(st->before));
	json_object_set_new(j, "after", hex(st->after));
	json_object_set_new(j, "before_pa", hex(pte_frame(st->before, st->level)));
	json_object_set_new(j, "after_pa", hex(pte_frame(st->after, st->level)));
	pte_flags(st->before, st->level, v->wired_bit, v->managed_bit, a, sizeof a);
	json_object_set_new(j, "before_flags", json_string(a));
	pte_flags(st->after, st->level, v->wired_bit, v->managed_bit, a, sizeof a);
	json_object_set_new(j, "after_flags", json_string(a));
	json_object_set_new(j, "wrong", json_boolean(st->wrong));
	return j;
}

static json_t *walk_json(const struct violation *v, const struct vwalk *w)
{
	json_t *j = json_object(), *path = json_array();
	set_slot(j, w->slot);
	json_object_set_new(j, "va", hex(w->va));
	static const char *const why[] = {"object", "mapping", "changed"};
	json_object_set_new(j, "why", json_string(why[w->why]));
	json_object_set_new(j, "before_known", json_boolean(w->have_before));
	for (uint32_t i = 0; i < w->nstep; i++)
		json_array_append_new(path, step_json(v, &w->step[i]));
	json_object_set_new(j, "path", path);
	return j;
}

json_t *violation_json(const struct violation *v)
{
	char sig[24];
	json_t *j = json_object(), *objs = json_array();
	snprintf(sig, sizeof sig, "%016" PRIx64, v->signature);
	json_object_set_new(j, "invariant", json_string(v->inv ? v->inv->id : "?"));
	json_object_set_new(j, "name", json_string(v->inv ? v->inv->name : "?"));
	json_object_set_new(j, "family", json_string(v->inv ? v->inv->family : "?"));
	json_object_set_new(j, "meaning", json_string(v->inv ? v->inv->meaning : ""));
	json_object_set_new(j, "title", json_string(v->title));
	json_object_set_new(j, "signature", json_string(sig));
	json_object_set_new(j, "op_index", json_integer((json_int_t)v->op_index));
	json_object_set_new(j, "op", json_string(v->op_text));
	json_object_set_new(j, "op_kind", json_string(monitor_op_kind_name(v->op_kind)));
	json_object_set_new(j, "message", json_string(v->message));
	for (unsigned i = 0; i < v->nobj; i++)
		json_array_append_new(objs, obj_json(v, &v->obj[i]));
	json_object_set_new(j, "objects", objs);
	json_t *walks = json_array();
	for (unsigned i = 0; i < v->nwalk; i++)
		json_array_append_new(walks, walk_json(v, &v->walk[i]));
	json_object_set_new(j, "walks", walks);
	json_object_set_new(j, "walks_more", json_integer(v->walks_more));
	return j;
}
