/* tests/unit/test_ops.c - the op language: every grammar rule, every parse
 * error with its FILE:LINE message, slots, canonical text and round trip,
 * building scripts from code, and the bad-script fixtures in tests/bad/.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model.h"
#include "ops.h"
#include "violation.h"

Suite *suite_ops(void);

static char err[512];

static struct script *parse(const char *text)
{
	struct script *s = NULL;

	err[0] = '\0';
	if (script_parse_string("t.ops", text, strlen(text), NULL, &s, err, sizeof(err)) < 0)
		ck_assert_ptr_null(s);
	return s;
}

static struct script *parse_ok(const char *text)
{
	struct script *s = parse(text);

	ck_assert_msg(s != NULL, "parse failed: %s", err);
	return s;
}

/* ---- grammar ------------------------------------------------------------ */

#define RW  (PTS_PROT_READ | PTS_PROT_WRITE)
#define RX  (PTS_PROT_READ | PTS_PROT_EXEC)
#define RWX (RW | PTS_PROT_EXEC)
#define V(text, ...)                                                                               \
	{                                                                                          \
		.line = text, .op = { __VA_ARGS__ }                                                \
	}
#define VE(text, res, val, ...)                                                                    \
	{                                                                                          \
		.line = text, .op = {__VA_ARGS__}, .has_expect = true, .expect = res,              \
		.expect_value = val                                                                \
	}

static const struct valid_case {
	const char *line;
	struct pts_op op;
	bool has_expect;
	uint32_t expect;
	uint64_t expect_value;
} valid[] = {
    V("create b", .kind = PTS_OP_CREATE, .pmap = 1),
    V("destroy a", .kind = PTS_OP_DESTROY),
    V("activate a", .kind = PTS_OP_ACTIVATE),
    V("enter a 0x400000 pg3 rw", .kind = PTS_OP_ENTER, .va = 0x400000, .page = 3, .prot = RW),
    V("enter a 0x0 pg0 r wired", .kind = PTS_OP_ENTER, .prot = PTS_PROT_READ,
      .flags = PTS_OPF_WIRED),
    VE("enter a 0x7ffffffff000 pg1023 rwx canfail wired => enomem", PTS_RES_ENOMEM, 0,
       .kind = PTS_OP_ENTER, .va = 0x7ffffffff000, .page = 1023, .prot = RWX,
       .flags = PTS_OPF_WIRED | PTS_OPF_CANFAIL),
    VE("enter a 0X1000 pg1 rx canfail => ok", PTS_RES_OK, 0, .kind = PTS_OP_ENTER, .va = 0x1000,
       .page = 1, .prot = RX, .flags = PTS_OPF_CANFAIL),
    V("remove a 0x1000", .kind = PTS_OP_REMOVE, .va = 0x1000),
    V("remove a 0x1000 0x800000000000", .kind = PTS_OP_REMOVE, .va = 0x1000, .end = PTS_USER_MAX),
    V("protect a 0x1000 0x3000 r", .kind = PTS_OP_PROTECT, .va = 0x1000, .end = 0x3000,
      .prot = PTS_PROT_READ),
    V("unwire a 0xABC000", .kind = PTS_OP_UNWIRE, .va = 0xabc000),
    VE("extract a 0x1000 => pg7", PTS_RES_PAGE, 7, .kind = PTS_OP_EXTRACT, .va = 0x1000),
    VE("extract a 0x1000 => none", PTS_RES_NONE, 0, .kind = PTS_OP_EXTRACT, .va = 0x1000),
    V("page_protect pg2 none", .kind = PTS_OP_PAGE_PROTECT, .page = 2),
    V("page_protect pg2 rx", .kind = PTS_OP_PAGE_PROTECT, .page = 2, .prot = RX),
    V("page_protect pg2 r", .kind = PTS_OP_PAGE_PROTECT, .page = 2, .prot = PTS_PROT_READ),
    V("clear_modify pg4", .kind = PTS_OP_CLEAR_MODIFY, .page = 4),
    VE("clear_reference pg4 => ok", PTS_RES_OK, 0, .kind = PTS_OP_CLEAR_REFERENCE, .page = 4),
    VE("is_modified pg5 => true", PTS_RES_TRUE, 0, .kind = PTS_OP_IS_MODIFIED, .page = 5),
    VE("is_referenced pg5 => false", PTS_RES_FALSE, 0, .kind = PTS_OP_IS_REFERENCED, .page = 5),
    VE("touch a 0x1000 r => ok", PTS_RES_OK, 0, .kind = PTS_OP_TOUCH, .va = 0x1000),
    VE("touch a 0x1000 w => fault", PTS_RES_FAULT, 0, .kind = PTS_OP_TOUCH, .va = 0x1000,
       .flags = PTS_OPF_WRITE),
    V("kenter k+0 pg1 rw", .kind = PTS_OP_KENTER, .page = 1, .prot = RW),
    V("kenter k+3ff000 pg1 r", .kind = PTS_OP_KENTER, .va = 0x3ff000, .page = 1,
      .prot = PTS_PROT_READ),
    V("kremove k+0x1000", .kind = PTS_OP_KREMOVE, .va = 0x1000),
    V("kremove k+0x1000 k+0x400000", .kind = PTS_OP_KREMOVE, .va = 0x1000, .end = 0x400000),
    V("zero pg9", .kind = PTS_OP_ZERO, .page = 9),
    V("copy pg1 pg2", .kind = PTS_OP_COPY, .page = 1, .page2 = 2),
    V("collect a", .kind = PTS_OP_COLLECT),
    V("fail alloc 1", .kind = PTS_OP_FAIL_ALLOC, .value = 1),
    V("fail alloc 18446744073709551615", .kind = PTS_OP_FAIL_ALLOC, .value = UINT64_MAX),
    V("  zero\tpg1\r", .kind = PTS_OP_ZERO, .page = 1),
    V("cpu1: enter a 0x1000 pg1 rw", .kind = PTS_OP_ENTER, .va = 0x1000, .page = 1, .prot = RW,
      .cpu = 1),
    VE("cpu7: touch a 0x1000 w => fault", PTS_RES_FAULT, 0, .kind = PTS_OP_TOUCH, .va = 0x1000,
       .flags = PTS_OPF_WRITE, .cpu = 7),
    V("cpu0: activate a", .kind = PTS_OP_ACTIVATE),
    V("cpu03:\tzero pg1", .kind = PTS_OP_ZERO, .page = 1, .cpu = 3),
};

START_TEST(test_valid_line)
{
	const struct valid_case *c = &valid[_i];
	char text[256];
	struct script *s;
	struct script_op *sop;

	snprintf(text, sizeof(text), "create a\n%s\n", c->line);
	s = parse(text);
	ck_assert_msg(s != NULL, "%s: %s", c->line, err);
	ck_assert_uint_eq(s->n_ops, 2);
	sop = &s->ops[1];
	ck_assert_uint_eq(sop->line, 2);
	ck_assert_uint_eq(sop->op.seq, 1);
	ck_assert_uint_eq(sop->op.kind, c->op.kind);
	ck_assert_uint_eq(sop->op.pmap, c->op.pmap);
	ck_assert_uint_eq(sop->op.va, c->op.va);
	ck_assert_uint_eq(sop->op.end, c->op.end);
	ck_assert_uint_eq(sop->op.page, c->op.page);
	ck_assert_uint_eq(sop->op.page2, c->op.page2);
	ck_assert_uint_eq(sop->op.prot, c->op.prot);
	ck_assert_uint_eq(sop->op.flags, c->op.flags);
	ck_assert_uint_eq(sop->op.value, c->op.value);
	ck_assert_uint_eq(sop->op.cpu, c->op.cpu);
	ck_assert_uint_eq(sop->op.result, PTS_RES_PENDING);
	ck_assert_int_eq(sop->has_expect, c->has_expect);
	ck_assert_uint_eq(sop->expect, c->expect);
	ck_assert_uint_eq(sop->expect_value, c->expect_value);
	ck_assert_str_eq(sop->pmap_name, op_names_pmap(c->op.kind) ? (c->op.pmap ? "b" : "a") : "");
	script_free(s);
}
END_TEST

START_TEST(test_comments_blanks_empty)
{
	struct script *s = parse_ok("");

	ck_assert_uint_eq(s->n_ops, 0);
	script_free(s);
	s = parse_ok("# only a comment\n\n   \t\n#\n");
	ck_assert_uint_eq(s->n_ops, 0);
	script_free(s);
	s = parse_ok("\n# c\ncreate a # trailing => none\n\nzero pg1#x\nzero pg2");
	ck_assert_uint_eq(s->n_ops, 3);
	ck_assert_uint_eq(s->ops[0].line, 3);
	ck_assert(!s->ops[0].has_expect);
	ck_assert_uint_eq(s->ops[1].line, 5);
	ck_assert_uint_eq(s->ops[2].line, 6); /* no final newline */
	ck_assert_uint_eq(s->ops[2].op.page, 2);
	ck_assert_str_eq(s->file, "t.ops");
	script_free(s);
}
END_TEST

START_TEST(test_custom_limits)
{
	struct ops_limits lim = {.arena_pages = 8, .kenter_pages = 2};
	struct script *s;
	const char ok[] = "zero pg7\nkenter k+0x1000 pg0 r\nkremove k+0 k+0x2000\n";

	ck_assert_int_eq(script_parse_string("l", ok, strlen(ok), &lim, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s->n_ops, 3);
	script_free(s);
	ck_assert_int_eq(script_parse_string("l", "zero pg8", 8, &lim, &s, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "l:1: bad page pg8: beyond the arena (8 pages)");
	ck_assert_int_eq(
	    script_parse_string("l", "kenter k+0x2000 pg0 r", 21, &lim, &s, err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	                 "l:1: bad kernel offset k+0x2000: beyond the kenter window (2 pages)");
	ck_assert_int_eq(
	    script_parse_string("l", "kremove k+0 k+0x3000", 20, &lim, &s, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "l:1: bad kernel END k+0x3000: beyond the kenter window (2 pages)");
	lim.cpus = 2;
	ck_assert_int_eq(script_parse_string("l", "cpu1: zero pg1", 14, &lim, &s, err, sizeof(err)),
	                 0);
	ck_assert_uint_eq(s->ops[0].op.cpu, 1);
	script_free(s);
	ck_assert_int_eq(script_parse_string("l", "cpu2: zero pg1", 14, &lim, &s, err, sizeof(err)),
	                 -1);
	ck_assert_str_eq(err, "l:1: CPU prefix cpu2: names a CPU the run does not have (2 CPUs; "
	                      "--cpus 3 or more)");
}
END_TEST

START_TEST(test_script_op_parse_line)
{
	struct script_op sop;
	char msg[128];

	ck_assert_int_eq(script_op_parse("  # nothing", NULL, &sop, msg, sizeof(msg)), 0);
	ck_assert_int_eq(script_op_parse("enter zz 0x1000 pg1 r", NULL, &sop, msg, sizeof(msg)), 1);
	ck_assert_str_eq(sop.pmap_name, "zz");
	ck_assert_uint_eq(sop.line, 0);
	ck_assert_int_eq(script_op_parse("bogus", NULL, &sop, msg, sizeof(msg)), -1);
	ck_assert_str_eq(msg, "unknown op bogus");
}
END_TEST

/* ---- pmap slots --------------------------------------------------------- */

START_TEST(test_slots_lowest_free_and_reuse)
{
	struct script *s = parse_ok("create a\ncreate b\ncreate c\ndestroy b\n"
	                            "create d\ncreate b\nactivate b\ndestroy a\n"
	                            "create a\ntouch a 0x1000 r\n");
	static const unsigned slot[] = {0, 1, 2, 1, 1, 3, 3, 0, 0, 0};

	ck_assert_uint_eq(s->n_ops, 10);
	for (unsigned i = 0; i < 10; i++)
		ck_assert_msg(s->ops[i].op.pmap == slot[i], "op %u: slot %u, want %u", i,
		              s->ops[i].op.pmap, slot[i]);
	script_free(s);
}
END_TEST

START_TEST(test_slots_max_alive)
{
	char *text = malloc(PTS_MAX_PMAPS * 16 + 64), *c = text;
	struct script *s;

	for (unsigned i = 0; i < PTS_MAX_PMAPS; i++)
		c += sprintf(c, "create p%u\n", i);
	c += sprintf(c, "destroy p5\ncreate last\n");
	s = parse_ok(text);
	ck_assert_uint_eq(s->ops[PTS_MAX_PMAPS + 1].op.pmap, 5);
	script_free(s);
	sprintf(c, "create more\n");
	ck_assert_ptr_null(parse(text));
	ck_assert_str_eq(err,
	                 "t.ops:131: too many pmaps: create more would make 129 alive (max 128)");
	free(text);
}
END_TEST

START_TEST(test_assign_slots_after_edit)
{
	struct script *s =
	    parse_ok("create a\ncreate b\nenter b 0x1000 pg1 r\ndestroy a\nactivate b\n");

	/* drop line 1: b now takes slot 0 */
	memmove(&s->ops[0], &s->ops[1], 4 * sizeof(s->ops[0]));
	s->n_ops = 4;
	ck_assert_int_eq(script_assign_slots(s, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "t.ops:4: unknown pmap a (never created)");
	s->n_ops = 2;
	ck_assert_int_eq(script_assign_slots(s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s->ops[0].op.pmap, 0);
	ck_assert_uint_eq(s->ops[1].op.pmap, 0);
	script_free(s);
}
END_TEST

START_TEST(test_build_from_code)
{
	struct script *s = script_new(NULL);
	struct script_op create = {.op = {.kind = PTS_OP_CREATE}, .pmap_name = "x"};
	struct script_op destroy = {.op = {.kind = PTS_OP_DESTROY}, .pmap_name = "x"};
	struct script_op zero = {.op = {.kind = PTS_OP_ZERO, .page = 3}};

	ck_assert_ptr_nonnull(s);
	for (unsigned i = 0; i < 100; i++) /* grows past the first allocation */
		ck_assert_int_eq(script_append(s, &zero), 0);
	ck_assert_int_eq(script_append(s, &create), 0);
	ck_assert_int_eq(script_append(s, &destroy), 0);
	ck_assert_int_eq(script_append(s, &destroy), 0);
	ck_assert_uint_eq(s->ops[101].op.seq, 101);
	ck_assert_int_eq(script_assign_slots(s, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "<script>:103: op on destroyed pmap x");
	s->n_ops = 102;
	ck_assert_int_eq(script_assign_slots(s, err, sizeof(err)), 0);
	s->ops[0].op.kind = PTS_OP_COUNT;
	ck_assert_int_eq(script_assign_slots(s, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "<script>:1: unknown op kind 21");
	script_free(s);
	script_free(NULL);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

static const struct error_case {
	const char *text;
	const char *message;
} errors[] = {
    {"frob a", "t.ops:1: unknown op frob"},
    {"create a\nenter a 0x1000 pg1",
     "t.ops:2: too few arguments to enter (usage: enter P VA PG PROT [wired] [canfail])"},
    {"create", "t.ops:1: too few arguments to create (usage: create P)"},
    {"create a b", "t.ops:1: trailing garbage b (usage: create P)"},
    {"create a\nremove a 0x1000 0x2000 0x3000",
     "t.ops:2: trailing garbage 0x3000 (usage: remove P VA [END])"},
    {"create a\nremove a 1000", "t.ops:2: bad VA 1000: expected a hex address like 0x400000"},
    {"create a\nremove a 0x", "t.ops:2: bad VA 0x: expected a hex address like 0x400000"},
    {"create a\nremove a 0x10g0", "t.ops:2: bad VA 0x10g0: expected a hex address like 0x400000"},
    {"create a\nremove a 0x1008", "t.ops:2: bad VA 0x1008: not page-aligned"},
    {"create a\nremove a 0x800000000000",
     "t.ops:2: bad VA 0x800000000000: not canonical, not a user address (below 0x800000000000)"},
    {"create a\nremove a 0xffffffffffff0000", "t.ops:2: bad VA 0xffffffffffff0000: a kernel "
                                              "address, not a user address (below 0x800000000000)"},
    {"create a\nremove a 0x11112222333344445",
     "t.ops:2: bad VA 0x11112222333344445: out of range (more than 64 bits)"},
    {"create a\nremove a 0x2000 0x1000", "t.ops:2: bad END 0x1000: not above VA 0x2000"},
    {"create a\nprotect a 0x2000 0x800000001000 r",
     "t.ops:2: bad END 0x800000001000: not canonical, not a user address (below 0x800000000000)"},
    {"create a\nprotect a 0x2000 0x2001 r", "t.ops:2: bad END 0x2001: not page-aligned"},
    {"extract q 0x1000", "t.ops:1: unknown pmap q (never created)"},
    {"create q\ndestroy q\nremove q 0x1000", "t.ops:3: op on destroyed pmap q"},
    {"create q\ndestroy q\ndestroy q", "t.ops:3: op on destroyed pmap q"},
    {"create q\ncreate q", "t.ops:2: pmap q already exists"},
    {"zero pg1024", "t.ops:1: bad page pg1024: beyond the arena (1024 pages)"},
    {"zero pg", "t.ops:1: bad page pg: expected pg<N>"},
    {"zero pg-1", "t.ops:1: bad page pg-1: expected pg<N>"},
    {"zero 5", "t.ops:1: bad page 5: expected pg<N>"},
    {"copy pg1 pg99999999999999999999", "t.ops:1: bad page pg99999999999999999999: expected pg<N>"},
    {"create a\nenter a 0x1000 pg1 w", "t.ops:2: bad protection w: expected r, rw, rx or rwx"},
    {"create a\nprotect a 0x1000 0x2000 none",
     "t.ops:2: bad protection none: expected r, rw, rx or rwx"},
    {"page_protect pg1 rwx", "t.ops:1: bad protection rwx: expected r, rx or none"},
    {"create a\ntouch a 0x1000 rw", "t.ops:2: bad access rw: expected r or w"},
    {"create a\nenter a 0x1000 pg1 r Wired", "t.ops:2: bad flag Wired: expected wired or canfail"},
    {"create a\nenter a 0x1000 pg1 r canfail canfail", "t.ops:2: duplicate flag canfail"},
    {"zero pg1 => yes",
     "t.ops:1: bad result yes: expected ok, enomem, true, false, fault, none or pg<N>"},
    {"zero pg1 => true", "t.ops:1: result true impossible for zero (expected ok)"},
    {"zero pg1 => einval", "t.ops:1: result einval impossible for zero (expected ok)"},
    {"is_modified pg1 => ok",
     "t.ops:1: result ok impossible for is_modified (expected true or false)"},
    {"create a\nextract a 0x1000 => ok",
     "t.ops:2: result ok impossible for extract (expected none or pg<N>)"},
    {"create a\ntouch a 0x1000 r => none",
     "t.ops:2: result none impossible for touch (expected ok or fault)"},
    {"create a\nenter a 0x1000 pg1 r => fault",
     "t.ops:2: result fault impossible for enter (expected ok or enomem)"},
    {"create a\nenter a 0x1000 pg1 r => enomem",
     "t.ops:2: result enomem impossible for enter without canfail"},
    {"create a\nextract a 0x1000 => pg1024",
     "t.ops:2: bad result pg1024: beyond the arena (1024 pages)"},
    {"zero pg1 =>", "t.ops:1: missing result after =>"},
    {"=> ok", "t.ops:1: missing op before =>"},
    {"zero pg1 => ok => ok", "t.ops:1: trailing garbage => after the result"},
    {"zero pg1 =>ok", "t.ops:1: bad token =>ok: write => RESULT, with a blank after =>"},
    {"zero pg1=>ok", "t.ops:1: bad page pg1=>ok: expected pg<N>"},
    {"zero pg1 a b c d e f g h i j k l m n o p q", "t.ops:1: trailing garbage a (usage: zero PG)"},
    {"create a\nenter a 0x0 pg1 r wired canfail a b c d e f g h i j k",
     "t.ops:2: bad flag a: expected wired or canfail"},
    {"create 1a", "t.ops:1: bad pmap name 1a: expected [a-z][a-z0-9_]{0,15}"},
    {"create a-b", "t.ops:1: bad pmap name a-b: expected [a-z][a-z0-9_]{0,15}"},
    {"create abcdefghijklmnopq",
     "t.ops:1: bad pmap name abcdefghijklmnopq: expected [a-z][a-z0-9_]{0,15}"},
    {"kenter 0x1000 pg1 r",
     "t.ops:1: bad kernel offset 0x1000: expected k+OFF with hex OFF like k+0x1000"},
    {"kenter k+ pg1 r", "t.ops:1: bad kernel offset k+: expected k+OFF with hex OFF like k+0x1000"},
    {"kenter k+0x400000 pg1 r",
     "t.ops:1: bad kernel offset k+0x400000: beyond the kenter window (1024 pages)"},
    {"kenter k+0x800 pg1 r", "t.ops:1: bad kernel offset k+0x800: not page-aligned"},
    {"kremove k+0x1000 k+0x1000", "t.ops:1: bad kernel END k+0x1000: not above k+0x1000"},
    {"kremove k+0x1000 k+0x401000",
     "t.ops:1: bad kernel END k+0x401000: beyond the kenter window (1024 pages)"},
    {"fail alloc 0", "t.ops:1: bad count 0: expected a decimal number >= 1"},
    {"fail alloc -1", "t.ops:1: bad count -1: expected a decimal number >= 1"},
    {"fail alloc 0x10", "t.ops:1: bad count 0x10: expected a decimal number >= 1"},
    {"fail alloc 18446744073709551616",
     "t.ops:1: bad count 18446744073709551616: expected a decimal number >= 1"},
    {"fail pool 1", "t.ops:1: bad word pool: expected fail alloc N"},
    {"zero\vpg1", "t.ops:1: bad character 0x0b at column 5"},
    {"cpu8: zero pg1", "t.ops:1: bad CPU prefix cpu8: (expected cpu0: .. cpu7:)"},
    {"cpu: zero pg1", "t.ops:1: bad CPU prefix cpu: (expected cpu0: .. cpu7:)"},
    {"cpux: zero pg1", "t.ops:1: bad CPU prefix cpux: (expected cpu0: .. cpu7:)"},
    {"cpu123456789: zero pg1", "t.ops:1: bad CPU prefix cpu123456789: (expected cpu0: .. cpu7:)"},
    {"cpu1:", "t.ops:1: missing op after cpu1:"},
    {"cpu1: => ok", "t.ops:1: missing op after cpu1:"},
    {"cpu1:zero pg1", "t.ops:1: unknown op cpu1:zero"},
    {"cpu1: cpu1: zero pg1", "t.ops:1: unknown op cpu1:"},
    {"zero pg1\x7f", "t.ops:1: bad character 0x7f at column 9"},
    /* groups */
    {"create a\npar {\ncpu1: touch a 0x1000 r\n", "t.ops:2: par block not closed ('}' missing)"},
    {"}\n", "t.ops:1: '}' closes no par block"},
    {"create a\npar {\npar {\n", "t.ops:3: par block inside the par block opened at line 2"},
    {"par\n", "t.ops:1: expected 'par {'"},
    {"create a\npar {\ntouch a 0x1000 r\n}\n",
     "t.ops:4: the par block opened at line 2 has 1 op (it needs two or more)"},
    {"create a\npar {\ntouch a 0x1000 r\nextract a 0x1000\n}\n",
     "t.ops:4: cpu0 runs two ops of the par block opened at line 2 (line 3)"},
    {"create a\npar {\ncreate b\n",
     "t.ops:3: create cannot run in a par block (activate, "
     "enter, remove, protect, unwire, extract, page_protect, clear_*, is_*, touch can)"},
    {"create a\npar {\ntouch a 0x1000 r\ncpu1: touch a 0x1000 r\n} schedule 0 2\n",
     "t.ops:5: schedule step 2 names cpu2, which runs no op of the block"},
    {"create a\npar {\ntouch a 0x1000 r\ncpu1: touch a 0x1000 r\n} schedule 0 x\n",
     "t.ops:5: bad schedule step 'x' (a CPU number, 0 to 7; or free alone)"},
    {"create a\npar {\ntouch a 0x1000 r\ncpu1: touch a 0x1000 r\n} schedule free 0\n",
     "t.ops:5: bad schedule step 'free' (a CPU number, 0 to 7; or free alone)"},
    {"create a\npar {\ntouch a 0x1000 r\ncpu1: touch a 0x1000 r\n} then\n",
     "t.ops:5: unexpected 'then' after '}' (expected: schedule N ... or schedule free)"},
    {"create a\npar {\ntouch a 0x1000 r\ncpu1: touch a 0x1000 r\ncpu2: touch a 0x1000 r\n"
     "cpu3: touch a 0x1000 r\ncpu4: touch a 0x1000 r\n",
     "t.ops:7: more than 4 ops in the par block opened at line 2"},
};

START_TEST(test_error_message)
{
	const struct error_case *c = &errors[_i];

	ck_assert_msg(parse(c->text) == NULL, "accepted: %s", c->text);
	ck_assert_str_eq(err, c->message);
}
END_TEST

START_TEST(test_error_nul_and_long_line)
{
	static const char nul[] = "zero pg1\nzero pg2\0\n";
	char *line = malloc(OPS_LINE_MAX + 16);
	struct script *s;

	ck_assert_int_eq(script_parse_string("n", nul, sizeof(nul) - 1, NULL, &s, err, sizeof(err)),
	                 -1);
	ck_assert_str_eq(err, "n:2: NUL byte at column 9");
	memset(line, ' ', OPS_LINE_MAX + 1);
	memcpy(line, "zero pg1", 8);
	line[OPS_LINE_MAX] = '\0'; /* exactly the limit: fine */
	s = parse_ok(line);
	script_free(s);
	line[OPS_LINE_MAX] = ' ';
	strcpy(line + OPS_LINE_MAX + 1, "\n");
	ck_assert_ptr_null(parse(line));
	ck_assert_str_eq(err, "t.ops:1: line longer than 4096 bytes");
	free(line);
}
END_TEST

START_TEST(test_error_files)
{
	struct script *s = (struct script *)1;
	char small[12];

	ck_assert_int_eq(script_parse_file("/nonexistent/x.ops", NULL, &s, err, sizeof(err)), -1);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(err, "/nonexistent/x.ops: No such file or directory");
	ck_assert_int_eq(script_parse_file("/", NULL, &s, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/: Is a directory");
	ck_assert_int_eq(script_parse_file("/nonexistent/x.ops", NULL, &s, small, sizeof(small)),
	                 -1);
	ck_assert_uint_lt(strlen(small), sizeof(small)); /* truncated, terminated */
}
END_TEST

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A temporary file of size bytes of text (repeated), sparse when text is
 * NULL; removed at once and named by path as /proc/self/fd/N, so that a
 * failed check leaves nothing behind.  The descriptor. */
static int temp_script(char *path, size_t len, const char *text, size_t size)
{
	char name[] = "/tmp/ptshadow-ops-XXXXXX";
	int fd = mkstemp(name);

	ck_assert_int_ge(fd, 0);
	unlink(name);
	snprintf(path, len, "/proc/self/fd/%d", fd);
	if (text == NULL) {
		ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	} else {
		char *buf = malloc(size);
		size_t n = strlen(text);

		ck_assert_ptr_nonnull(buf);
		for (size_t i = 0; i < size; i++)
			buf[i] = text[i % n];
		ck_assert_int_eq(write(fd, buf, size), (ssize_t)size);
		free(buf);
	}
	return fd;
}

/* What is read of a script is bounded: an endless device, a huge sparse
 * file and a file one byte over the limit are refused at once, naming the
 * file; a file of exactly the limit is read, and so is a pipe. */
START_TEST(test_file_size_limit)
{
	struct script *s = (struct script *)1;
	char path[64], want[160];
	double t0 = seconds();
	int fd, fds[2];

	ck_assert_int_eq(script_parse_file("/dev/zero", NULL, &s, err, sizeof(err)), -1);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(err, "/dev/zero: larger than the 16 MiB a script may have");
	ck_assert_msg(seconds() - t0 < 1.0, "/dev/zero: refused after %.2f s", seconds() - t0);

	fd = temp_script(path, sizeof(path), NULL, 1ull << 30);
	t0 = seconds();
	ck_assert_int_eq(script_parse_file(path, NULL, &s, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: larger than the 16 MiB a script may have", path);
	ck_assert_str_eq(err, want);
	ck_assert_msg(seconds() - t0 < 0.1, "%s (1 GiB, sparse): read before it was refused", path);
	close(fd);

	fd = temp_script(path, sizeof(path), "# a comment line, repeated to the size wanted\n",
	                 OPS_FILE_MAX + 1);
	ck_assert_int_eq(script_parse_file(path, NULL, &s, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: larger than the 16 MiB a script may have", path);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(ftruncate(fd, OPS_FILE_MAX), 0);
	ck_assert_msg(script_parse_file(path, NULL, &s, err, sizeof(err)) == 0,
	              "%s: a script of exactly %u bytes refused: %s", path, OPS_FILE_MAX, err);
	ck_assert_uint_eq(s->n_ops, 0);
	script_free(s);
	close(fd);

	/* a pipe has no size: read to its end, within the limit */
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], "zero pg1\nzero pg2\n", 18), 18);
	close(fds[1]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
	ck_assert_msg(script_parse_file(path, NULL, &s, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(s->n_ops, 2);
	script_free(s);
	close(fds[0]);
}
END_TEST

/* Every .ops file in tests/bad/ fails with the text its first line promises. */
START_TEST(test_bad_fixtures)
{
	const char *dir = getenv("PTS_TESTS_BAD") ? getenv("PTS_TESTS_BAD") : "tests/bad";
	char pattern[256], first[512];
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/*.ops", dir);
	ck_assert_msg(glob(pattern, 0, NULL, &g) == 0,
	              "no %s: run from the repository root or set PTS_TESTS_BAD", pattern);
	ck_assert_uint_ge(g.gl_pathc, 30);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i];
		FILE *f = fopen(path, "r");
		struct script *s;

		ck_assert_ptr_nonnull(f);
		ck_assert_ptr_nonnull(fgets(first, sizeof(first), f));
		fclose(f);
		first[strcspn(first, "\n")] = '\0';
		ck_assert_msg(strncmp(first, "# expect: ", 10) == 0, "%s: no # expect: line", path);
		ck_assert_msg(script_parse_file(path, NULL, &s, err, sizeof(err)) == -1,
		              "%s: accepted", path);
		ck_assert_msg(strncmp(err, path, strlen(path)) == 0 && strstr(err, first + 10),
		              "%s: got \"%s\", want \"%s\"", path, err, first + 10);
	}
	globfree(&g);
}
END_TEST

/* ---- text form ---------------------------------------------------------- */

START_TEST(test_format_canonical)
{
	static const char *const in[][2] = {
	    {"cpu0: zero pg1", "zero pg1"},
	    {"cpu02:  touch a 0x1000 r", "cpu2: touch a 0x1000 r"},
	    {"enter  a\t0X00400000 pg03 rw canfail wired", "enter a 0x400000 pg3 rw wired canfail"},
	    {"kenter k+1000 pg1 rwx", "kenter k+0x1000 pg1 rwx"},
	    {"kremove k+0 k+0x2000", "kremove k+0x0 k+0x2000"},
	    {"page_protect pg1 none", "page_protect pg1 none"},
	    {"touch a 0xABC000 w", "touch a 0xabc000 w"},
	    {"remove a 0x1000", "remove a 0x1000"},
	    {"fail alloc 007", "fail alloc 7"},
	};
	char buf[OPS_TEXT_MAX];
	struct script_op sop = {.line = 0};

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		ck_assert_int_eq(script_op_parse(in[i][0], NULL, &sop, buf, sizeof(buf)), 1);
		ck_assert_int_eq(script_op_format(&sop, buf, sizeof(buf)), (int)strlen(in[i][1]));
		ck_assert_str_eq(buf, in[i][1]);
	}
	ck_assert_int_eq(script_op_format(&sop, buf, 5), (int)strlen("fail alloc 7"));
	ck_assert_str_eq(buf, "fail");
	memset(&sop, 0, sizeof(sop));
	sop.op.kind = PTS_OP_COLLECT;
	sop.op.pmap = 42;
	script_op_format(&sop, buf, sizeof(buf));
	ck_assert_str_eq(buf, "collect p42");
}
END_TEST

START_TEST(test_results)
{
	static const struct {
		uint32_t r;
		uint64_t v;
		const char *text;
	} t[] = {
	    {PTS_RES_OK, 0, "ok"},           {PTS_RES_ENOMEM, 0, "enomem"},
	    {PTS_RES_TRUE, 0, "true"},       {PTS_RES_FALSE, 0, "false"},
	    {PTS_RES_FAULT, 0, "fault"},     {PTS_RES_NONE, 0, "none"},
	    {PTS_RES_PAGE, 7, "pg7"},        {PTS_RES_PAGE, 0, "pg0"},
	    {PTS_RES_PENDING, 0, "pending"}, {PTS_RES_EINVAL, 0, "einval"},
	};
	char buf[32];
	uint32_t r;
	uint64_t v;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		result_format(t[i].r, t[i].v, buf, sizeof(buf));
		ck_assert_str_eq(buf, t[i].text);
		ck_assert_int_eq(result_parse(t[i].text, &r, &v), 0);
		ck_assert_uint_eq(r, t[i].r);
		ck_assert_uint_eq(v, t[i].v);
	}
	result_format(99, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "result99");
	ck_assert_int_eq(result_parse("OK", &r, &v), -1);
	ck_assert_int_eq(result_parse("pg", &r, &v), -1);
	ck_assert_int_eq(result_parse("pgx", &r, &v), -1);
	ck_assert_int_eq(result_parse("", &r, &v), -1);
}
END_TEST

START_TEST(test_op_table)
{
	struct pts_op enter = {.kind = PTS_OP_ENTER};

	for (uint32_t k = PTS_OP_NONE + 1; k < PTS_OP_COUNT; k++) {
		const struct op_syntax *syn = op_syntax_by_kind(k);

		ck_assert_ptr_nonnull(syn);
		ck_assert_uint_eq(syn->kind, k);
		ck_assert_ptr_eq(op_syntax_by_name(syn->name), syn);
		ck_assert_str_eq(op_kind_name(k), syn->name);
		ck_assert_int_eq(strncmp(syn->usage, syn->name, strlen(syn->name)), 0);
	}
	ck_assert_ptr_null(op_syntax_by_kind(PTS_OP_NONE));
	ck_assert_ptr_null(op_syntax_by_kind(PTS_OP_COUNT));
	ck_assert_ptr_null(op_syntax_by_name("alloc"));
	ck_assert_str_eq(op_kind_name(999), "?");
	ck_assert(op_names_pmap(PTS_OP_TOUCH) && !op_names_pmap(PTS_OP_KENTER));
	ck_assert(!op_result_possible(&enter, PTS_RES_ENOMEM));
	enter.flags = PTS_OPF_CANFAIL;
	ck_assert(op_result_possible(&enter, PTS_RES_ENOMEM));
	ck_assert(op_result_possible(&enter, PTS_RES_OK));
	ck_assert(!op_result_possible(&enter, PTS_RES_EINVAL));
	ck_assert(!op_result_possible(&enter, PTS_RES_COUNT + 3));
}
END_TEST

/* For every op kind, the name the monitor's reports give it is the name the
 * parser takes and the printer writes: an op of that kind formats to a line
 * that starts with it and parses back to the same kind.  Results likewise. */
START_TEST(test_report_names_are_language_names)
{
	char text[OPS_TEXT_MAX], msg[256], name[32], buf[32];
	struct script_op sop, back;
	uint64_t value;
	uint32_t parsed;

	for (uint32_t k = PTS_OP_NONE + 1; k < PTS_OP_COUNT; k++) {
		const char *reported = monitor_op_kind_name(k);

		memset(&sop, 0, sizeof(sop));
		sop.op = (struct pts_op){.kind = k,
		                         .va = 0x1000,
		                         .end = 0x2000,
		                         .page = 1,
		                         .page2 = 2,
		                         .prot = PTS_PROT_READ,
		                         .value = 1};
		strcpy(sop.pmap_name, "a");
		ck_assert_int_gt(script_op_format(&sop, text, sizeof(text)), 0);
		ck_assert_int_eq(sscanf(text, "%31s", name), 1);
		ck_assert_msg(strcmp(name, reported) == 0, "kind %u: reported as %s, written as %s",
		              (unsigned)k, reported, text);
		ck_assert_msg(script_op_parse(text, NULL, &back, msg, sizeof(msg)) == 1,
		              "kind %u: %s does not parse: %s", (unsigned)k, text, msg);
		ck_assert_uint_eq(back.op.kind, k);
		ck_assert_ptr_eq(op_syntax_by_name(reported), op_syntax_by_kind(k));
		ck_assert_str_eq(op_syntax_by_kind(k)->args, pts_op_args(k));
		ck_assert_uint_eq(op_syntax_by_kind(k)->results, pts_op_results(k));
	}
	ck_assert_str_eq(monitor_op_kind_name(PTS_OP_NONE), "register");
	ck_assert_ptr_null(op_syntax_by_name("register"));
	ck_assert_str_eq(monitor_op_kind_name(PTS_OP_COUNT), "bad-op");
	for (uint32_t r = 0; r < PTS_RES_COUNT; r++) {
		result_format(r, 7, buf, sizeof(buf));
		ck_assert_int_eq(strncmp(buf, result_name(r), strlen(result_name(r))), 0);
		ck_assert_str_eq(buf + strlen(result_name(r)), r == PTS_RES_PAGE ? "7" : "");
		ck_assert_int_eq(result_parse(buf, &parsed, &value), 0);
		ck_assert_uint_eq(parsed, r);
		ck_assert_uint_eq(value, r == PTS_RES_PAGE ? 7 : 0);
	}
	ck_assert_str_eq(result_name(PTS_RES_COUNT), "bad-result");
}
END_TEST

static const char round_trip_text[] =
    "create a\ncreate b2_x\nenter a 0x400000 pg3 rw wired canfail => ok\n"
    "enter b2_x 0x7ffffffff000 pg1023 rx canfail => enomem\n"
    "remove a 0x400000\nremove a 0x0 0x800000000000\n"
    "protect b2_x 0x1000 0x5000 r\nunwire a 0x400000\n"
    "extract a 0x400000 => pg3\nextract a 0x1000 => none\n"
    "page_protect pg3 none\npage_protect pg3 rx\nclear_modify pg3\n"
    "clear_reference pg3\nis_modified pg3 => true\nis_referenced pg3 => false\n"
    "touch a 0x400000 w => fault\ntouch a 0x400000 r\nactivate b2_x\n"
    "kenter k+0x3ff000 pg0 rwx\nkremove k+0x0\nkremove k+0x1000 k+0x400000\n"
    "zero pg5\ncopy pg5 pg6\ncollect a\nfail alloc 12\ndestroy a\ncreate c\n"
    "create a\ndestroy b2_x\ncpu1: activate a\ncpu3: touch a 0x1000 w => ok\n"
    "cpu7: remove a 0x1000\n";

static void assert_same_ops(const struct script *x, const struct script *y, bool with_results)
{
	ck_assert_uint_eq(x->n_ops, y->n_ops);
	for (size_t i = 0; i < x->n_ops; i++) {
		const struct script_op *a = &x->ops[i], *b = &y->ops[i];

		ck_assert_msg(memcmp(&a->op, &b->op, sizeof(a->op)) == 0, "op %zu differs", i);
		ck_assert_str_eq(a->pmap_name, b->pmap_name);
		ck_assert_int_eq(a->has_expect && with_results, b->has_expect);
		if (b->has_expect) {
			ck_assert_uint_eq(a->expect, b->expect);
			ck_assert_uint_eq(a->expect_value, b->expect_value);
		}
	}
}

static struct script *write_and_parse(const struct script *s, size_t n, bool with_results)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct script *back;

	ck_assert_int_eq(script_write(f, s, n, with_results), 0);
	fclose(f);
	back = parse_ok(text);
	free(text);
	return back;
}

START_TEST(test_round_trip)
{
	struct script *s = parse_ok(round_trip_text), *back;

	ck_assert_uint_eq(s->n_ops, 33);
	back = write_and_parse(s, s->n_ops, true);
	assert_same_ops(s, back, true);
	script_free(back);
	back = write_and_parse(s, s->n_ops, false);
	assert_same_ops(s, back, false);
	script_free(back);
	back = write_and_parse(s, 1000, true); /* clamped */
	ck_assert_uint_eq(back->n_ops, 33);
	script_free(back);
	back = write_and_parse(s, 3, true);
	ck_assert_uint_eq(back->n_ops, 3);
	ck_assert(back->ops[2].has_expect);
	script_free(back);
	script_free(s);
}
END_TEST

/* par blocks: group numbers, schedules, and the text they are written back as */
START_TEST(test_group_round_trip)
{
	static const char text[] = "create a\npar {\n  touch a 0x1000 w\n  cpu1: remove a 0x1000\n"
	                           "} schedule 1 0 0 1\nextract a 0x1000\npar { # comment\n"
	                           "  cpu1: is_modified pg1 => true\n  cpu2: activate a\n}\n";
	struct script *s = parse_ok(text), *back;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert_uint_eq(s->n_ops, 6);
	ck_assert_uint_eq(script_group_len(s, 1), 2);
	ck_assert_uint_eq(script_group_len(s, 3), 1);
	ck_assert_uint_eq(script_group_len(s, 4), 2);
	ck_assert(s->ops[1].group != 0 && s->ops[1].group == s->ops[2].group);
	ck_assert(s->ops[4].group != s->ops[1].group);
	ck_assert(s->ops[1].has_schedule && s->ops[1].nsteps == 4 && s->ops[1].steps[0] == 1);
	ck_assert(!s->ops[4].has_schedule);
	ck_assert_int_eq(script_write(f, s, s->n_ops, true), 0);
	fclose(f);
	ck_assert_str_eq(out, "create a\npar {\n  touch a 0x1000 w\n  cpu1: remove a 0x1000\n"
	                      "} schedule 1 0 0 1\nextract a 0x1000\npar {\n"
	                      "  cpu1: is_modified pg1 => true\n  cpu2: activate a\n}\n");
	back = parse_ok(out);
	assert_same_ops(s, back, true);
	script_free(back);
	/* a block cut to one op (minimize) is written as a plain op */
	back = write_and_parse(s, 2, false);
	ck_assert_uint_eq(back->n_ops, 2);
	ck_assert_uint_eq(back->ops[1].group, 0);
	script_free(back);
	free(out);
	script_free(s);
}
END_TEST

/* `} schedule free`: no steps, the flag, written back the same */
START_TEST(test_free_group_round_trip)
{
	static const char text[] = "create a\npar {\n  touch a 0x1000 w\n  cpu1: remove a 0x1000\n"
	                           "} schedule free\nextract a 0x1000\n";
	struct script *s = parse_ok(text), *back;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert(s->ops[1].has_schedule && s->ops[1].free_run && s->ops[1].nsteps == 0);
	ck_assert(script_has_free_group(s));
	ck_assert_int_eq(script_write(f, s, s->n_ops, false), 0);
	fclose(f);
	ck_assert_str_eq(out, text);
	back = parse_ok(out);
	ck_assert(back->ops[1].free_run);
	script_free(back);
	free(out);
	script_free(s);
	s = parse_ok(
	    "create a\npar {\n  touch a 0x1000 w\n  cpu1: remove a 0x1000\n} schedule 1\n");
	ck_assert(!script_has_free_group(s));
	script_free(s);
}
END_TEST

Suite *suite_ops(void)
{
	Suite *s = suite_create("ops");
	TCase *grammar = tcase_create("grammar");
	TCase *slots = tcase_create("slots");
	TCase *errs = tcase_create("errors");
	TCase *text = tcase_create("text");

	tcase_add_loop_test(grammar, test_valid_line, 0, sizeof(valid) / sizeof(valid[0]));
	tcase_add_test(grammar, test_comments_blanks_empty);
	tcase_add_test(grammar, test_custom_limits);
	tcase_add_test(grammar, test_script_op_parse_line);
	tcase_add_test(slots, test_slots_lowest_free_and_reuse);
	tcase_add_test(slots, test_slots_max_alive);
	tcase_add_test(slots, test_assign_slots_after_edit);
	tcase_add_test(slots, test_build_from_code);
	tcase_add_loop_test(errs, test_error_message, 0, sizeof(errors) / sizeof(errors[0]));
	tcase_add_test(errs, test_error_nul_and_long_line);
	tcase_add_test(errs, test_error_files);
	tcase_add_test(errs, test_file_size_limit);
	tcase_set_timeout(errs, 30); /* test_file_size_limit writes and reads 32 MiB */
	tcase_add_test(errs, test_bad_fixtures);
	tcase_add_test(text, test_format_canonical);
	tcase_add_test(text, test_results);
	tcase_add_test(text, test_op_table);
	tcase_add_test(text, test_report_names_are_language_names);
	tcase_add_test(text, test_round_trip);
	tcase_add_test(text, test_group_round_trip);
	tcase_add_test(text, test_free_group_round_trip);
	suite_add_tcase(s, grammar);
	suite_add_tcase(s, slots);
	suite_add_tcase(s, errs);
	suite_add_tcase(s, text);
	return s;
}
