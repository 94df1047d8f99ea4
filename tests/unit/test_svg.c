/* tests/unit/test_svg.c - the pictures (src/report/svg*.c), without a VM:
 * violations of the synthetic image drawn as walk.svg and parsed back as XML,
 * the highlighted entry found by its VA and level, the counter by its name,
 * the invariant named in visible text; hostile report text escaped and every
 * list capped; a pmap drawn whole with its empty entries folded; a crash
 * directory written with its picture; the user guide's example.
 */
#include "monitor_tc.h"
#include "report.h"
#include "svg.h"
#include "svgcheck.h"
#include "testutil.h"

Suite *suite_svg(void);

#define WRONG_ENTRY "//s:g[" S_CLASS("entry") " and " S_CLASS("wrong") "]"

static char *draw(int (*fn)(const json_t *, FILE *), const json_t *j, size_t *len)
{
	char *buf = NULL;
	FILE *out = open_memstream(&buf, len);

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(fn(j, out), 0);
	ck_assert_int_eq(fclose(out), 0);
	return buf;
}

/* j's picture (svg_finding or svg_pmap), parsed: it must be well-formed SVG */
static struct svg_check *picture(int (*fn)(const json_t *, FILE *), const json_t *j,
                                 size_t *len_out)
{
	size_t len = 0;
	char err[256], *text = draw(fn, j, &len);
	struct svg_check *c = svg_check_parse(text, len, err, sizeof(err));

	ck_assert_msg(c != NULL, "%s\n%.4000s", err, text);
	ck_assert_msg(svg_check_is_svg(c), "the root is not <svg> in the SVG namespace");
	free(text);
	if (len_out != NULL)
		*len_out = len;
	return c;
}

/* the first violation of invariant id at the last check */
static const struct violation *violation_of(const struct tc *t, const char *id);

/* check t's image, broken since the last op: the picture of the first
 * violation of id (*v), parsed; *j its report.json object */
static struct svg_check *broken(struct tc *t, const char *id, const struct violation **v,
                                json_t **j)
{
	ck_assert_int_gt(tc_check(t), 0);
	*v = violation_of(t, id);
	*j = violation_json(*v);
	return picture(svg_finding, *j, NULL);
}

static const struct violation *violation_of(const struct tc *t, const char *id)
{
	for (size_t i = 0; i < monitor_nviolations(t->m); i++)
		if (strcmp(monitor_violation(t->m, i)->inv->id, id) == 0)
			return monitor_violation(t->m, i);
	tc_dump(t);
	ck_abort_msg("%s not reported", id);
	return NULL;
}

static void assert_names_invariant(struct svg_check *c, const struct violation *v)
{
	char want[128];

	snprintf(want, sizeof(want), "%s %s", v->inv->id, v->inv->name);
	ck_assert_msg(svg_check_has_text(c, want), "no visible text names '%s'", want);
	ck_assert_str_eq(svg_check_attr(c, "/s:svg", "data-invariant"), v->inv->id);
}

/* A PTE that lost its managed bit (PV-4): its walk is drawn from the root,
 * four entries, the PT entry of 0x402000 in pmap 1 is the one highlighted,
 * and it changed since the last op. */
START_TEST(wrong_entry_is_highlighted)
{
	struct tc t;
	tc_start(&t);
	tc_run(&t, PTS_OP_EXTRACT, 1, 0x400000, 0, 0, 0, 0);
	tc_or64(&t, tc_pte(&t, 1, 0x402000), 0, PTS_PTE_MANAGED);
	const struct violation *v;
	json_t *j;
	struct svg_check *c = broken(&t, "PV-4", &v, &j);

	assert_names_invariant(c, v);
	ck_assert_int_eq(svg_check_count(c, WRONG_ENTRY), 1);
	ck_assert_str_eq(svg_check_attr(c, WRONG_ENTRY, "data-va"), "0x402000");
	ck_assert_str_eq(svg_check_attr(c, WRONG_ENTRY, "data-level"), "1");
	ck_assert_str_eq(svg_check_attr(c, WRONG_ENTRY, "data-pmap"), "1");
	ck_assert_str_eq(svg_check_attr(c, WRONG_ENTRY, "data-index"), "2");
	ck_assert_int_eq(svg_check_count(c, WRONG_ENTRY "[" S_CLASS("changed") "]"), 1);
	ck_assert_int_eq(svg_check_count(c, "//s:g[" S_CLASS("walk") "]/s:g[" S_CLASS("entry") "]"),
	                 4);
	ck_assert_int_eq(svg_check_count(c, "//s:g[" S_CLASS("entry") " and @data-level='4']"), 1);
	ck_assert_int_eq(svg_check_count(c, "//s:g[" S_CLASS("nowalk") "]"), 0);
	svg_check_free(c);
	json_decref(j);
	tc_end(&t);
}
END_TEST

/* An enter that made its PDPT, PD and PT, then lost its managed bit: the
 * walk shows the PML4 entry the op set and, below it, tables that were not
 * there before the op. */
START_TEST(new_tables_have_no_before)
{
	struct tc t;
	const uint64_t va = 0x40000000000ull; /* PML4 slot 8: nothing there yet */
	tc_start(&t);
	tc_run(&t, PTS_OP_ENTER, 1, va, 0, 8, 3, 0);
	tc_or64(&t, tc_pte(&t, 1, va), 0, PTS_PTE_MANAGED);
	const struct violation *v;
	json_t *j;
	struct svg_check *c = broken(&t, "PV-4", &v, &j);
	const json_t *path =
	    json_object_get(json_array_get(json_object_get(j, "walks"), 0), "path");

	ck_assert_int_eq(json_array_size(path), 4);
	const json_t *pml4 = json_array_get(path, 0);
	ck_assert_str_eq(json_string_value(json_object_get(pml4, "before")), "0x0");
	ck_assert_ptr_nonnull(json_object_get(pml4, "table_before"));
	for (size_t i = 1; i < 4; i++) {
		const json_t *st = json_array_get(path, i);
		ck_assert_ptr_null(json_object_get(st, "table_before"));
		ck_assert_ptr_nonnull(json_object_get(st, "table_after"));
	}
	ck_assert(json_is_true(json_object_get(json_array_get(path, 3), "wrong")));
	ck_assert_str_eq(svg_check_attr(c, WRONG_ENTRY, "data-va"), "0x40000000000");
	ck_assert_int_eq(
	    svg_check_count(c, "//s:g[" S_CLASS("entry") " and " S_CLASS("changed") "]"), 4);
	ck_assert(svg_check_has_text(c, "before  no table at this level"));
	svg_check_free(c);
	json_decref(j);
	tc_end(&t);
}
END_TEST

/* resident_count one too many (CNT-1): the pmap's counter is drawn with
 * expected against found; nothing names a VA and the op changed no leaf, so
 * the picture says there is no walk. */
START_TEST(counter_expected_against_found)
{
	struct tc t;
	tc_start(&t);
	tc_run(&t, PTS_OP_EXTRACT, 1, 0x400000, 0, 0, 0, 0);
	tc_add64(&t, synth_pmap_pa(t.s, 1) + SYN_PM_RESIDENT, 1);
	const struct violation *v;
	json_t *j;
	struct svg_check *c = broken(&t, "CNT-1", &v, &j);
	const char *counter = "//s:g[" S_CLASS("counter") " and " S_CLASS("wrong") "]";

	assert_names_invariant(c, v);
	ck_assert_int_eq(svg_check_count(c, counter), 1);
	ck_assert_str_eq(svg_check_attr(c, counter, "data-name"), "resident_count");
	long found = atol(svg_check_attr(c, counter, "data-found"));
	long expected = atol(svg_check_attr(c, counter, "data-expected"));
	ck_assert_int_eq(found, expected + 1);
	ck_assert_int_eq(svg_check_count(c, "//s:g[" S_CLASS("pmap") " and @data-pmap='1']"), 1);
	ck_assert_int_eq(svg_check_count(c, "//s:g[" S_CLASS("nowalk") "]"), 1);
	ck_assert_int_eq(svg_check_count(c, WRONG_ENTRY), 0);
	svg_check_free(c);
	json_decref(j);
	tc_end(&t);
}
END_TEST

/* pmap_count one too many on pg3 (CNT-4): no object names a VA, so the walks
 * go to the page's two mappings, and its pv list marks both as walked. */
START_TEST(page_counter_walks_its_mappings)
{
	struct tc t;
	tc_start(&t);
	tc_run(&t, PTS_OP_EXTRACT, 1, 0x400000, 0, 0, 0, 0);
	tc_add32(&t, tc_vmp(&t, 3, SYN_VMP_PMAPCOUNT), 1);
	const struct violation *v;
	json_t *j;
	struct svg_check *c = broken(&t, "CNT-4", &v, &j);
	const char *counter = "//s:g[" S_CLASS("counter") " and " S_CLASS("wrong") "]";

	assert_names_invariant(c, v);
	ck_assert_str_eq(svg_check_attr(c, counter, "data-name"), "pmap_count");
	ck_assert_int_eq(svg_check_count(c, "//s:g[" S_CLASS("walk") " and @data-va='0x400000']"),
	                 2);
	ck_assert_int_eq(svg_check_count(c, "//s:g[" S_CLASS("pv") " and " S_CLASS("on-walk") "]"),
	                 2);
	ck_assert_int_eq(svg_check_count(c, WRONG_ENTRY), 0);
	svg_check_free(c);
	json_decref(j);
	tc_end(&t);
}
END_TEST

/* a report.json whose text is hostile and whose lists are long */
static json_t *hostile_report(void)
{
	static const char evil[] = "<script>alert('x')</script> & \x01\x7f\xff ]]> \"q\" \xc3\xa9";
	json_t *j = json_object(), *objs = json_array(), *walks = json_array(), *pv = json_array();
	json_t *page = json_pack("{s:s, s:s, s:{s:i, s:i}}", "kind", "page", "pa", "0x5000", "md",
	                         "pmap_count", 40, "writeable_count", 0);

	json_object_set_new(j, "invariant", json_string_nocheck("X-1<&>"));
	json_object_set_new(j, "name", json_string_nocheck(evil));
	json_object_set_new(j, "message", json_string_nocheck(evil));
	json_object_set_new(j, "op", json_string_nocheck(evil));
	for (int i = 0; i < 40; i++)
		json_array_append_new(pv, json_pack("{s:i, s:s}", "pmap", i, "va", "0x1000"));
	json_object_set_new(page, "pv_list", pv);
	json_array_append_new(objs, page);
	for (int i = 0; i < 20; i++)
		json_array_append_new(objs, json_pack("{s:s, s:s, s:i, s:i}", "kind", "counter",
		                                      "name", "c", "expected", i, "found", i + 1));
	json_object_set_new(j, "objects", objs);
	for (int i = 0; i < 10; i++) {
		json_t *path = json_array();
		for (int k = 0; k < 6; k++)
			json_array_append_new(
			    path, json_pack("{s:i, s:i, s:s, s:s, s:s, s:b}", "level", 4 - k,
			                    "index", k, "table_after", "0x1", "after", "0x2",
			                    "after_flags", "P <b>&amp;", "wrong", 1));
		json_array_append_new(
		    walks, json_pack("{s:i, s:s, s:o}", "pmap", i, "va", "0x1000", "path", path));
	}
	json_object_set_new(j, "walks", walks);
	return j;
}

/* Guest text, or any text, cannot break the XML; lists are cut and counted. */
START_TEST(hostile_text_escaped_and_lists_capped)
{
	json_t *j = hostile_report();
	size_t len = 0;
	struct svg_check *c = picture(svg_finding, j, &len);

	ck_assert_msg(svg_check_has_text(c, "<script>alert('x')</script> & \\x01\\x7f\\xff ]]>"),
	              "the message is not shown as text");
	ck_assert_msg(svg_check_has_text(c, "\"q\" \xc3\xa9"), "valid UTF-8 not kept");
	ck_assert_str_eq(svg_check_attr(c, "/s:svg", "data-invariant"), "X-1<&>");
	ck_assert_int_eq(svg_check_count(c, "//s:g[" S_CLASS("walk") "]"), SVG_MAX_WALKS);
	ck_assert_int_eq(svg_check_count(c, "//s:g[" S_CLASS("entry") "]"), SVG_MAX_WALKS * 4);
	ck_assert(svg_check_has_text(c, "… 7 more walks"));
	ck_assert_int_eq(svg_check_count(c, "//s:g[" S_CLASS("pv") "]"), SVG_MAX_PV);
	ck_assert(svg_check_has_text(c, "… 34 more"));
	ck_assert(svg_check_has_text(c, "… 13 more objects"));
	ck_assert_int_le(svg_check_count(c, "//s:g[" S_CLASS("counter") "]"), SVG_MAX_OBJECTS + 2);
	ck_assert_uint_lt(len, 128 * 1024);
	svg_check_free(c);
	/* a message of 1 MiB is cut after a few lines */
	char *big = malloc(1 << 20);
	ck_assert_ptr_nonnull(big);
	memset(big, 'm', (1 << 20) - 1);
	big[(1 << 20) - 1] = '\0';
	json_object_set_new(j, "message", json_string(big));
	free(big);
	c = picture(svg_finding, j, &len);
	ck_assert(svg_check_has_text(c, "more bytes"));
	ck_assert_uint_lt(len, 128 * 1024);
	svg_check_free(c);
	json_decref(j);
}
END_TEST

/* A finding with no objects (a guest's death) still gets its picture. */
START_TEST(no_objects_no_walk)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:s}", "invariant", "GUEST-PANIC", "name",
	                      "guest panic", "message", "panic at pmap.c:12: boom", "op_index",
	                      (json_int_t)3, "op", "remove a 0x1000");
	struct svg_check *c = picture(svg_finding, j, NULL);

	ck_assert(svg_check_has_text(c, "GUEST-PANIC guest panic"));
	ck_assert(svg_check_has_text(c, "panic at pmap.c:12: boom"));
	ck_assert_int_eq(svg_check_count(c, "//s:g[" S_CLASS("nowalk") "]"), 1);
	svg_check_free(c);
	json_decref(j);
}
END_TEST

/* A whole pmap: its four tables, its PT's entries, the empty rest of each
 * table folded into one line; a cap on tables is counted. */
START_TEST(pmap_tables_folded)
{
	struct tc t;
	tc_start(&t);
	json_t *j = monitor_pmap_json(t.m, 1, SVG_MAX_TABLES, SVG_MAX_ROWS);
	ck_assert_ptr_nonnull(j);
	struct svg_check *c = picture(svg_pmap, j, NULL);

	ck_assert_int_eq(svg_check_count(c, "//s:g[" S_CLASS("table") "]"), 4);
	ck_assert_int_eq(
	    svg_check_count(
	        c, "//s:g[" S_CLASS("table") " and @data-level='1']/s:g[" S_CLASS("entry") "]"),
	    3);
	ck_assert_int_eq(
	    svg_check_count(
	        c, "//s:g[" S_CLASS("entry") " and @data-va='0x402000' and @data-level='1']"),
	    1);
	ck_assert_int_eq(
	    svg_check_count(c, "//s:g[" S_CLASS("table") " and @data-level='1']/s:g[" S_CLASS(
	                           "fold") " and @data-first='3' and @data-last='511']"),
	    1);
	ck_assert(svg_check_has_text(c, "entries 3–511 empty"));
	svg_check_free(c);
	json_decref(j);
	ck_assert_ptr_null(monitor_pmap_json(t.m, 9, SVG_MAX_TABLES, SVG_MAX_ROWS));
	j = monitor_pmap_json(t.m, -1, 2, SVG_MAX_ROWS);
	ck_assert_int_gt(json_integer_value(json_object_get(j, "tables_more")), 0);
	c = picture(svg_pmap, j, NULL);
	ck_assert_int_eq(svg_check_count(c, "//s:g[" S_CLASS("table") "]"), 2);
	ck_assert(svg_check_has_text(c, "more tables"));
	svg_check_free(c);
	json_decref(j);
	tc_end(&t);
}
END_TEST

/* report_write puts walk.svg in the crash directory, and report.txt names it. */
START_TEST(crash_dir_has_picture)
{
	static const char text[] = "create a\nenter a 0x400000 pg3 rw\nextract a 0x400000\n";
	struct ops_limits lim;
	struct script *sc = NULL;
	struct finding f;
	struct tc t;
	char err[512], dir[700], sig[17];
	bool is_new;

	ops_limits_default(&lim);
	ck_assert(script_parse_string("t.ops", text, strlen(text), &lim, &sc, err, sizeof(err)) ==
	          0);
	tc_start(&t);
	tc_run(&t, PTS_OP_EXTRACT, 1, 0x400000, 0, 0, 0, 0);
	tc_or64(&t, tc_pte(&t, 1, 0x402000), 0, PTS_PTE_MANAGED);
	ck_assert_int_gt(tc_check(&t), 0);
	finding_from_violation(&f, violation_of(&t, "PV-4"));
	f.op_index = 2;
	ck_assert_msg(
	    report_write(tu_path("out"), &f, sc, "", 0, NULL, &is_new, err, sizeof(err)) == 0, "%s",
	    err);
	finding_sig_hex(&f, sig);
	snprintf(dir, sizeof(dir), "%s/crashes/%s/walk.svg", tu_path("out"), sig);
	struct svg_check *c = svg_check_load(dir, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_str_eq(svg_check_attr(c, "/s:svg", "data-invariant"), "PV-4");
	ck_assert_str_eq(svg_check_attr(c, WRONG_ENTRY, "data-va"), "0x402000");
	svg_check_free(c);
	snprintf(dir, sizeof(dir), "%s/crashes/%s/report.txt", tu_path("out"), sig);
	char *txt = tu_read_file(dir, NULL);
	ck_assert_msg(strstr(txt, "\npicture:   walk.svg\n") != NULL, "%s", txt);
	free(txt);
	finding_free(&f);
	script_free(sc);
	tc_end(&t);
}
END_TEST

/* the user guide's example is a picture as ptshadow draws one */
START_TEST(user_guide_example_parses)
{
	char err[256];
	struct svg_check *c = svg_check_load("docs/walk-example.svg", err, sizeof(err));

	ck_assert_msg(c != NULL && svg_check_is_svg(c), "docs/walk-example.svg: %s", err);
	ck_assert(svg_check_has_text(c, "PV-2 pte-for-pv"));
	ck_assert_str_eq(svg_check_attr(c, WRONG_ENTRY, "data-va"), "0x400000");
	svg_check_free(c);
}
END_TEST

Suite *suite_svg(void)
{
	Suite *s = suite_create("svg");
	TCase *tc = tcase_create("svg");

	tu_tmpdir_fixture(tc);
	tcase_add_test(tc, wrong_entry_is_highlighted);
	tcase_add_test(tc, new_tables_have_no_before);
	tcase_add_test(tc, counter_expected_against_found);
	tcase_add_test(tc, page_counter_walks_its_mappings);
	tcase_add_test(tc, hostile_text_escaped_and_lists_capped);
	tcase_add_test(tc, no_objects_no_walk);
	tcase_add_test(tc, pmap_tables_folded);
	tcase_add_test(tc, crash_dir_has_picture);
	tcase_add_test(tc, user_guide_example_parses);
	suite_add_tcase(s, tc);
	return s;
}
