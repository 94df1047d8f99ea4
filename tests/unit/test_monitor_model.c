/* tests/unit/test_monitor_model.c - the reference model, the API around it
 * (--check specs, the invariant table printers, violation text and JSON,
 * the pmap dump, stats) on synthetic images.
 */
#include <stdlib.h>

#include "model.h"
#include "monitor_tc.h"

Suite *suite_monitor_model(void);

/* every op kind in one clean run */
START_TEST(test_clean_scenario)
{
	struct tc t;
	tc_start(&t);
	tc_ok(&t, PTS_OP_IS_MODIFIED, 0, 0, 0, 3, 0, 0);
	ck_assert_uint_eq(t.op.result, PTS_RES_TRUE);
	tc_ok(&t, PTS_OP_IS_REFERENCED, 0, 0, 0, 5, 0, 0);
	ck_assert_uint_eq(t.op.result, PTS_RES_FALSE);
	tc_ok(&t, PTS_OP_EXTRACT, 2, 0x7f0000001000ull, 0, 0, 0, 0);
	ck_assert_uint_eq(t.op.value, 6);
	tc_ok(&t, PTS_OP_ENTER, 1, 0x400000, 0, 9, 3, 0);             /* replace pg3 by pg9 */
	tc_ok(&t, PTS_OP_ENTER, 1, 0x401000, 0, 4, 3, PTS_OPF_WIRED); /* same page, more rights */
	tc_ok(&t, PTS_OP_UNWIRE, 1, 0x401000, 0, 0, 0, 0);
	tc_ok(&t, PTS_OP_TOUCH, 1, 0x402000, 0, 0, 0, PTS_OPF_WRITE); /* rx: fault */
	ck_assert_uint_eq(t.op.result, PTS_RES_FAULT);
	tc_ok(&t, PTS_OP_PROTECT, 1, 0x400000, 0x403000, 0, PTS_PROT_READ, 0);
	tc_ok(&t, PTS_OP_PAGE_PROTECT, 0, 0, 0, 3, 0, 0);
	tc_ok(&t, PTS_OP_CLEAR_MODIFY, 0, 0, 0, 3, 0, 0);
	tc_ok(&t, PTS_OP_CLEAR_REFERENCE, 0, 0, 0, 4, 0, 0);
	tc_ok(&t, PTS_OP_FAIL_ALLOC, 0, 0, 0, 2, 0, 0);
	tc_ok(&t, PTS_OP_ENTER, 1, 0x40000000, 0, 10, 3, PTS_OPF_CANFAIL);
	ck_assert_uint_eq(t.op.result, PTS_RES_ENOMEM);
	tc_ok(&t, PTS_OP_ENTER, 1, 0x40000000, 0, 10, 3, PTS_OPF_CANFAIL);
	ck_assert_uint_eq(t.op.result, PTS_RES_OK);
	tc_ok(&t, PTS_OP_KENTER, 0, 0x2000, 0, 11, 1, 0); /* replaces pg7 */
	tc_ok(&t, PTS_OP_KREMOVE, 0, 0, 0x4000, 0, 0, 0);
	tc_ok(&t, PTS_OP_COPY, 0, 0, 0, 9, 0, 0);
	t.op.page2 = 12;
	tc_ok(&t, PTS_OP_ZERO, 0, 0, 0, 12, 0, 0);
	tc_ok(&t, PTS_OP_ACTIVATE, 2, 0, 0, 0, 0, 0);
	tc_ok(&t, PTS_OP_REMOVE, 2, 0, 0x800000000000ull, 0, 0, 0);
	tc_ok(&t, PTS_OP_COLLECT, 1, 0, 0, 0, 0, 0);
	tc_ok(&t, PTS_OP_DESTROY, 2, 0, 0, 0, 0, 0);
	tc_ok(&t, PTS_OP_DESTROY, 1, 0, 0, 0, 0, 0);
	tc_ok(&t, PTS_OP_CREATE, 1, 0, 0, 0, 0, 0);
	const struct monitor_stats *st = tc_monitor_stats(t.m);
	ck_assert_uint_eq(st->ops, t.idx);
	ck_assert_uint_gt(st->total_ns, 0);
	tc_end(&t);
}
END_TEST

/* an op the model calls invalid must get einval and change nothing */
START_TEST(test_invalid_op)
{
	struct tc t;
	tc_start(&t);
	tc_ok(&t, PTS_OP_ENTER, 5, 0x400000, 0, 3, 3, 0); /* no pmap 5 */
	ck_assert_uint_eq(t.op.result, PTS_RES_EINVAL);
	tc_run(&t, PTS_OP_CREATE, 1, 0, 0, 0, 0, 0); /* exists */
	t.op.result = PTS_RES_OK;
	ck_assert_int_gt(tc_check(&t), 0);
	ck_assert(tc_reported(&t, "MODEL-2"));
	tc_end(&t);
}
END_TEST

START_TEST(test_model_tri_state)
{
	struct model m;
	struct model_out out;
	struct pts_op op = {.kind = PTS_OP_CREATE, .pmap = 1, .result = PTS_RES_OK};
	ck_assert_int_eq(model_init(&m, 16, 16, PTS_USER_MAX), 0);
	model_apply(&m, &op, NULL, &out);
	op = (struct pts_op){.kind = PTS_OP_ENTER,
	                     .pmap = 1,
	                     .va = 0x1000,
	                     .page = 2,
	                     .prot = 1,
	                     .result = PTS_RES_OK};
	model_apply(&m, &op, NULL, &out);
	ck_assert_uint_eq(out.n, 0);
	op = (struct pts_op){.kind = PTS_OP_TOUCH,
	                     .pmap = 1,
	                     .va = 0x1000,
	                     .flags = PTS_OPF_WRITE,
	                     .result = PTS_RES_FAULT};
	model_apply(&m, &op, NULL, &out);
	ck_assert_uint_eq(out.n, 0);
	ck_assert_int_eq(model_referenced(&m, 2), TRI_MAYBE); /* A unspecified after a fault */
	ck_assert_int_eq(model_modified(&m, 2), TRI_NO);
	op = (struct pts_op){.kind = PTS_OP_IS_REFERENCED, .page = 2, .result = PTS_RES_TRUE};
	model_apply(&m, &op, NULL, &out);
	ck_assert_uint_eq(out.n, 0);
	ck_assert_int_eq(model_referenced(&m, 2), TRI_YES); /* collapsed */
	op = (struct pts_op){.kind = PTS_OP_IS_REFERENCED, .page = 2, .result = PTS_RES_FALSE};
	model_apply(&m, &op, NULL, &out);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_str_eq(out.f[0].inv, "MODEL-2");
	op = (struct pts_op){.kind = PTS_OP_ENTER,
	                     .pmap = 1,
	                     .va = 0x2000,
	                     .page = 3,
	                     .prot = 3,
	                     .flags = PTS_OPF_CANFAIL,
	                     .result = PTS_RES_ENOMEM};
	model_apply(&m, &op, NULL, &out);
	ck_assert_str_eq(out.f[0].inv, "MODEL-5"); /* nothing armed */
	ck_assert(out.unchanged);
	ck_assert_ptr_null(model_lookup(&m, 1, 0x2000));
	model_free(&m);
}
END_TEST

/* a group: the order that explains the guest's results is the one applied */
static void group_of_two(struct model *m, struct pts_op *ops, uint32_t touch_result,
                         struct model_out *out, uint8_t *order)
{
	struct pts_op op = {.kind = PTS_OP_CREATE, .pmap = 1, .result = PTS_RES_OK};

	ck_assert_int_eq(model_init(m, 16, 16, PTS_USER_MAX), 0);
	m->ncpus = 2;
	model_apply(m, &op, NULL, out);
	op = (struct pts_op){.kind = PTS_OP_ENTER,
	                     .pmap = 1,
	                     .va = 0x1000,
	                     .page = 2,
	                     .prot = 3,
	                     .result = PTS_RES_OK};
	model_apply(m, &op, NULL, out);
	ops[0] =
	    (struct pts_op){.kind = PTS_OP_REMOVE, .pmap = 1, .va = 0x1000, .result = PTS_RES_OK};
	ops[1] = (struct pts_op){.kind = PTS_OP_TOUCH,
	                         .pmap = 1,
	                         .va = 0x1000,
	                         .cpu = 1,
	                         .flags = PTS_OPF_WRITE,
	                         .result = touch_result};
	struct model_tries t = {0};
	ck_assert_int_eq(model_group_try(m, ops, 2, NULL, &t), 0);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_int_eq(model_group_pick(m, &t, NULL, out, order), 0);
	ck_assert_uint_eq(t.n, 0);
}

START_TEST(test_model_group_orders)
{
	struct model m;
	struct model_out out;
	struct pts_op ops[2];
	uint8_t order[2];

	group_of_two(&m, ops, PTS_RES_OK, &out, order); /* the touch went first */
	ck_assert_uint_eq(out.n, 0);
	ck_assert(order[0] == 1 && order[1] == 0);
	ck_assert_ptr_null(model_lookup(&m, 1, 0x1000));
	ck_assert_int_eq(model_modified(&m, 2), TRI_YES);
	model_free(&m);
	group_of_two(&m, ops, PTS_RES_FAULT, &out, order); /* the remove went first */
	ck_assert_uint_eq(out.n, 0);
	ck_assert(order[0] == 0 && order[1] == 1);
	ck_assert_int_eq(model_modified(&m, 2), TRI_NO);
	model_free(&m);
	group_of_two(&m, ops, PTS_RES_TRUE, &out, order); /* no order gives a touch `true` */
	ck_assert_uint_ge(out.n, 1);
	ck_assert_str_eq(out.f[0].inv, "TLB-4"); /* the model's word for a touch gone wrong */
	model_free(&m);
}
END_TEST

/* what the model tells env->changed, as a set of (what, slot, x) */
struct heard {
	uint64_t key[64];
	size_t n;
};

static int hear(void *arg, enum model_change what, uint32_t slot, uint64_t x)
{
	struct heard *h = arg;
	uint64_t key = ((uint64_t)what << 60) ^ ((uint64_t)slot << 48) ^ x;
	for (size_t i = 0; i < h->n; i++)
		if (h->key[i] == key)
			return 0;
	ck_assert_uint_lt(h->n, 64);
	h->key[h->n++] = key;
	return 0;
}

/* an incremental check scopes a group by what its tries change: all of
 * what the order picked changes, when applied alone, is among it */
START_TEST(test_model_group_try_tells_every_order)
{
	struct model m, alone;
	struct model_out out;
	struct pts_op ops[2];
	uint8_t order[2];
	struct heard all = {.n = 0}, picked = {.n = 0};
	struct model_env tell = {.changed = hear, .changed_arg = &all};
	struct model_tries t = {0};

	group_of_two(&m, ops, PTS_RES_OK, &out, order); /* the ops: remove racing a touch */
	model_free(&m);
	/* from the state before the group: the tries tell, the order picked alone tells */
	struct pts_op create = {.kind = PTS_OP_CREATE, .pmap = 1, .result = PTS_RES_OK};
	struct pts_op enter = {.kind = PTS_OP_ENTER,
	                       .pmap = 1,
	                       .va = 0x1000,
	                       .page = 2,
	                       .prot = 3,
	                       .result = PTS_RES_OK};
	ck_assert_int_eq(model_init(&m, 16, 16, PTS_USER_MAX), 0);
	m.ncpus = 2;
	model_apply(&m, &create, NULL, &out);
	model_apply(&m, &enter, NULL, &out);
	ck_assert_int_eq(model_init(&alone, 16, 16, PTS_USER_MAX), 0);
	alone.ncpus = 2;
	model_apply(&alone, &create, NULL, &out);
	model_apply(&alone, &enter, NULL, &out);
	ck_assert_int_eq(model_group_try(&m, ops, 2, &tell, &t), 0);
	ck_assert_int_eq(model_group_pick(&m, &t, NULL, &out, order), 0);
	tell.changed_arg = &picked;
	for (size_t i = 0; i < 2; i++)
		model_apply(&alone, &ops[order[i]], &tell, &out);
	ck_assert_uint_ge(picked.n, 2); /* the mapping and page 2's prediction */
	for (size_t i = 0; i < picked.n; i++) {
		size_t j = 0;
		while (j < all.n && all.key[j] != picked.key[i])
			j++;
		ck_assert_msg(j < all.n, "a change of the order picked was not told by its tries");
	}
	ck_assert_ptr_null(model_lookup(&m, 1, 0x1000));
	ck_assert_ptr_null(model_lookup(&alone, 1, 0x1000));
	model_free(&m);
	model_free(&alone);
}
END_TEST

START_TEST(test_check_spec)
{
	struct inv_set s;
	char err[128];
	inv_set_all(&s, true);
	ck_assert_int_eq(inv_set_parse(&s, "-TLB,-POOL-3", err, sizeof err), 0);
	for (size_t i = 0; i < invariant_count(); i++) {
		const struct invariant *inv = invariant_at(i);
		bool off = strcmp(inv->family, "TLB") == 0 || strcmp(inv->id, "POOL-3") == 0;
		ck_assert_msg(s.on[i] == !off, "%s", inv->id);
	}
	ck_assert_int_eq(inv_set_parse(&s, "none, +pv-, cnt-1", err, sizeof err), 0);
	for (size_t i = 0; i < invariant_count(); i++) {
		const struct invariant *inv = invariant_at(i);
		ck_assert(s.on[i] ==
		          (strcmp(inv->family, "PV") == 0 || strcmp(inv->id, "CNT-1") == 0));
	}
	ck_assert_int_eq(inv_set_parse(&s, "-TLB,-POOL-99", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "POOL-99"));
	ck_assert_int_eq(inv_set_parse(&s, "+", err, sizeof err), -1);
}
END_TEST

static char *print_to_string(void (*fn)(FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fn(f);
	fclose(f);
	return buf;
}

START_TEST(test_table_printers)
{
	char *text = print_to_string(invariants_print_text),
	     *md = print_to_string(invariants_print_markdown);
	ck_assert_ptr_nonnull(strstr(md, "| id | name | meaning |"));
	for (size_t i = 0; i < invariant_count(); i++) {
		const struct invariant *inv = invariant_at(i);
		char cell[32];
		snprintf(cell, sizeof cell, "| `%s` |", inv->id);
		ck_assert_ptr_nonnull(strstr(text, inv->id));
		ck_assert_ptr_nonnull(strstr(md, cell));
		ck_assert(inv->fn != NULL && strlen(inv->meaning) > 40);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(inv->id, invariant_at(j)->id);
	}
	free(text);
	free(md);
}
END_TEST

START_TEST(test_violation_records)
{
	struct tc t;
	tc_start(&t);
	tc_run(&t, PTS_OP_EXTRACT, 1, 0x400000, 0, 0, 0, 0);
	tc_add32(&t, tc_vmp(&t, 3, SYN_VMP_PMAPCOUNT), 1);
	tc_add32(&t, tc_vmp(&t, 5, SYN_VMP_PMAPCOUNT), 1);
	monitor_after_op(t.m, &t.op, 77, "extract a 0x400000", t.s->cr3);
	const struct violation *a = NULL, *b = NULL;
	for (size_t i = 0; i < monitor_nviolations(t.m); i++) {
		const struct violation *v = monitor_violation(t.m, i);
		if (strcmp(v->inv->id, "CNT-4") == 0)
			*(a ? &b : &a) = v;
	}
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(a->signature, b->signature); /* same bug, other page */
	ck_assert_str_eq(a->title, "CNT-4 pmap-count after extract (page)");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	violation_print(a, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "op #77: extract a 0x400000"));
	ck_assert_ptr_nonnull(strstr(buf, "pmap_count expected 2 found 3"));
	free(buf);
	json_t *j = violation_json(a);
	const char *keys[] = {"invariant", "name", "title",   "signature",
	                      "op_index",  "op",   "message", "objects"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		ck_assert_msg(json_object_get(j, keys[i]) != NULL, "%s", keys[i]);
	ck_assert_str_eq(json_string_value(json_object_get(j, "invariant")), "CNT-4");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "op_index")), 77);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "objects")), 2);
	json_decref(j);
	tc_end(&t);
}
END_TEST

START_TEST(test_pte_delta_in_report)
{
	struct tc t;
	tc_start(&t);
	uint64_t head = synth_r64(t.s, t.s->ledger_pa + 8);
	tc_run(&t, PTS_OP_REMOVE, 1, 0x400000, 0, 0, 0, 0);
	synth_w64(t.s, t.s->ledger_pa + 8, head);
	ck_assert_int_gt(tc_check(&t), 0);
	const struct violation *v = monitor_violation(t.m, 0);
	ck_assert_str_eq(v->inv->id, "TLB-1");
	ck_assert_uint_eq(v->obj[0].kind, VOBJ_PTE);
	ck_assert_uint_eq(v->obj[0].va, 0x400000);
	ck_assert(v->obj[0].old_pte & PG_M);
	ck_assert_uint_eq(v->obj[0].new_pte, 0);
	tc_end(&t);
}
END_TEST

START_TEST(test_dump)
{
	struct tc t;
	tc_start_empty(&t, NULL);
	tc_ok(&t, PTS_OP_CREATE, 1, 0, 0, 0, 0, 0);
	for (uint64_t i = 0; i < 3; i++)
		tc_ok(&t, PTS_OP_ENTER, 1, 0x400000 + (i << 12), 0, 20 + i, 3, 0);
	tc_ok(&t, PTS_OP_ENTER, 1, 0x403000, 0, 23, 1, 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_int_eq(monitor_dump_pmap(t.m, 1, f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(
	    strstr(buf, "0000000000400000-0000000000403000 0000000000214000 P RW US NX PVLIST\n"));
	ck_assert_ptr_nonnull(
	    strstr(buf, "0000000000403000-0000000000404000 0000000000217000 P US NX PVLIST\n"));
	ck_assert_int_eq(monitor_dump_pmap(t.m, 9, stdout), -1);
	free(buf);
	tc_end(&t);
}
END_TEST

Suite *suite_monitor_model(void)
{
	Suite *s = suite_create("monitor_model");
	TCase *tc = tcase_create("model");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_clean_scenario);
	tcase_add_test(tc, test_invalid_op);
	tcase_add_test(tc, test_model_tri_state);
	tcase_add_test(tc, test_model_group_orders);
	tcase_add_test(tc, test_model_group_try_tells_every_order);
	tcase_add_test(tc, test_check_spec);
	tcase_add_test(tc, test_table_printers);
	tcase_add_test(tc, test_violation_records);
	tcase_add_test(tc, test_pte_delta_in_report);
	tcase_add_test(tc, test_dump);
	suite_add_tcase(s, tc);
	return s;
}
