/* tests/unit/test_cov.c - guest coverage: the image's edges are named right,
 * a run fills the map (pmap_enter after an enter), a guest that writes
 * garbage into its coverage fields is no crash, coverage.bin round-trips and
 * refuses garbage, `ptshadow coverage OUT` prints and exits as documented,
 * and guide mode finds a mutant, the same way every time.
 */
#include <jansson.h>

#include "campaign.h"
#include "cov.h"
#include "guide.h"
#include "session_impl.h"
#include "vm_impl.h"
#include "testutil.h"

static void load_image(const char *path, struct cov_image *img)
{
	char err[1024];

	ck_assert_msg(cov_image_load(path, img, err, sizeof(err)) == 0, "%s", err);
}

static int func_named(const struct cov_image *img, const char *name)
{
	for (uint32_t i = 0; i < img->nfuncs; i++)
		if (strcmp(img->func[i].name, name) == 0)
			return (int)i;
	return -1;
}

static uint32_t func_hits(const struct cov_image *img, int f, const uint8_t *map)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < img->nedges; i++)
		n += img->edge[i].func == (uint32_t)f && map[i];
	return n;
}

/* ---- the image (no VM) ----------------------------------------------------- */

START_TEST(image_names_functions)
{
	struct cov_image img;
	uint32_t sum = 0;
	int enter, pool_get;

	load_image(tu_guest(), &img);
	ck_assert_uint_gt(img.nedges, 100);
	enter = func_named(&img, "pmap_enter");
	pool_get = func_named(&img, "pool_get");
	ck_assert_int_ge(enter, 0);
	ck_assert_int_ge(pool_get, 0);
	ck_assert_str_eq(img.file[img.func[enter].file].name, "guest/pmap.c");
	ck_assert_str_eq(img.file[img.func[pool_get].file].name, "guest/pool.c");
	ck_assert_uint_gt(img.func[enter].nedges, 10);
	ck_assert_uint_gt(img.func[enter].line, 0);
	for (uint32_t i = 0; i < img.nfuncs; i++) {
		ck_assert_msg(strcmp(img.func[i].name, "?") != 0, "an edge has no function");
		sum += img.func[i].nedges;
	}
	ck_assert_uint_eq(sum, img.nedges);
	/* many of pmap_enter's edges lie in its own body (the others in the
	 * callees inlined into it, or on no line) */
	uint32_t own = 0;
	for (uint32_t i = 0; i < img.nedges; i++)
		own += img.edge[i].func == (uint32_t)enter &&
		       img.edge[i].file == img.func[enter].file &&
		       img.edge[i].line >= img.func[enter].line &&
		       img.edge[i].line < img.func[enter].line + 150;
	ck_assert_uint_ge(own, 10);
	cov_image_free(&img);
}
END_TEST

START_TEST(image_without_coverage_or_bad)
{
	struct cov_image img;
	struct tu_elf e;
	char err[1024];

	tu_elf_init(&e);
	tu_elf_write(&e, tu_path("plain.elf"));
	load_image(tu_path("plain.elf"), &img);
	ck_assert_uint_eq(img.nedges, 0);
	cov_image_free(&img);
	tu_write_file(tu_path("junk.elf"), "not an elf at all", 17);
	ck_assert_int_eq(cov_image_load(tu_path("junk.elf"), &img, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "junk.elf"));
	ck_assert_int_eq(cov_image_load(tu_path("missing.elf"), &img, err, sizeof(err)), -1);
}
END_TEST

/* ---- the map in guest RAM (synthetic memory) --------------------------------- */

#define RAM_SIZE (1u << 20)
#define DESC_GPA 0x1000u
#define COV_GPA  0x3000u
#define MAP_GPA  0x4000u

struct fake_guest {
	struct gmem mem;
	struct cov_image img;
	struct pts_cov h;
};

static void fake_init(struct fake_guest *g, uint32_t nedges)
{
	uint64_t cov_pa = COV_GPA;

	memset(g, 0, sizeof(*g));
	g->mem.base = calloc(1, RAM_SIZE);
	g->mem.size = RAM_SIZE;
	ck_assert_ptr_nonnull(g->mem.base);
	g->img.nedges = nedges;
	g->img.guards_kva = 0xffffffff80113008ull;
	g->h = (struct pts_cov){.magic = PTS_COV_MAGIC,
	                        .version = PTS_COV_VERSION,
	                        .nedges = nedges,
	                        .map_pa = MAP_GPA,
	                        .guards_kva = g->img.guards_kva};
	memcpy(g->mem.base + DESC_GPA + offsetof(struct pts_descriptor, cov_pa), &cov_pa, 8);
	memcpy(g->mem.base + COV_GPA, &g->h, sizeof(g->h));
}

static int fake_harvest(struct fake_guest *g, uint8_t *map)
{
	char err[256];

	memcpy(g->mem.base + COV_GPA, &g->h, sizeof(g->h));
	return cov_harvest(&g->mem, DESC_GPA, &g->img, map, err, sizeof(err));
}

START_TEST(harvest_reads_the_map)
{
	struct fake_guest g;
	uint8_t map[5000];

	fake_init(&g, sizeof(map));
	g.mem.base[MAP_GPA + 7] = 1;
	g.mem.base[MAP_GPA + 4999] = 0xff; /* any non-zero byte is an edge reached */
	memset(map, 0x55, sizeof(map));
	ck_assert_int_eq(fake_harvest(&g, map), 0);
	ck_assert_uint_eq(cov_count(map, sizeof(map)), 2);
	ck_assert(map[7] == 1 && map[4999] == 1 && map[0] == 0);
	/* no coverage stated */
	memset(g.mem.base + DESC_GPA + offsetof(struct pts_descriptor, cov_pa), 0, 8);
	ck_assert_int_eq(cov_harvest(&g.mem, DESC_GPA, &g.img, map, (char[64]){0}, 64), 1);
	free(g.mem.base);
}
END_TEST

/* Whatever the guest writes in its coverage fields: an error, never a crash
 * or a read outside RAM; the host's map is never written past nedges. */
START_TEST(hostile_coverage_fields)
{
	static const uint64_t pas[] = {
	    0, 1, RAM_SIZE - 8, RAM_SIZE, ~0ull, ~0ull - 4095, MAP_GPA + 1, 0x7ff};
	struct fake_guest g;
	uint8_t *map = malloc(64 + 16);
	struct rng r;
	unsigned errors = 0;

	fake_init(&g, 64);
	memset(map + 64, 0xa5, 16);
	rng_seed(&r, 99);
	for (unsigned i = 0; i < 20000; i++) {
		struct pts_cov good = g.h;
		switch (i % 6) {
		case 0:
			g.h.magic = (uint32_t)rng_next(&r);
			break;
		case 1:
			g.h.version = (uint32_t)rng_next(&r);
			break;
		case 2:
			g.h.nedges = (uint32_t)rng_next(&r) | (i & 1);
			break;
		case 3:
			g.h.map_pa = pas[rng_below(&r, 8)] + rng_below(&r, 3);
			break;
		case 4:
			g.h.guards_kva = rng_next(&r);
			break;
		default: { /* the header itself anywhere, or garbage */
			uint64_t pa = pas[rng_below(&r, 8)];
			memcpy(g.mem.base + DESC_GPA + offsetof(struct pts_descriptor, cov_pa), &pa,
			       8);
			for (unsigned k = 0; k < 64; k++)
				g.mem.base[MAP_GPA + k] = (uint8_t)rng_next(&r);
			char err[256];
			int rc = cov_harvest(&g.mem, DESC_GPA, &g.img, map, err, sizeof(err));
			ck_assert(rc == -1 || rc == 0 || rc == 1);
			pa = COV_GPA;
			memcpy(g.mem.base + DESC_GPA + offsetof(struct pts_descriptor, cov_pa), &pa,
			       8);
			continue;
		}
		}
		int rc = fake_harvest(&g, map);
		bool ok = memcmp(&good, &g.h, sizeof(good)) == 0 ||
		          (i % 6 == 3 && g.h.map_pa < RAM_SIZE && RAM_SIZE - g.h.map_pa >= 64);
		ck_assert_msg(rc == (ok ? 0 : -1), "case %u: rc %d", i % 6, rc);
		errors += rc == -1;
		g.h = good;
	}
	for (unsigned k = 0; k < 16; k++)
		ck_assert_uint_eq(map[64 + k], 0xa5);
	ck_assert_uint_gt(errors, 10000);
	free(map);
	free(g.mem.base);
}
END_TEST

START_TEST(saved_round_trip_and_garbage)
{
	struct cov_image img = {.path = "/some/guest.elf", .hash = 0x1234, .nedges = 10};
	uint8_t map[10] = {1, 0, 0, 1, 1, 0, 0, 0, 0, 1};
	struct cov_saved s;
	char err[1024], *bin;
	size_t len;

	ck_assert_int_eq(cov_save(tu_dir, &img, map, err, sizeof(err)), 0);
	ck_assert_int_eq(cov_load_saved(tu_dir, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(s.guest, img.path);
	ck_assert_uint_eq(s.hash, 0x1234);
	ck_assert_uint_eq(s.nedges, 10);
	ck_assert_mem_eq(s.map, map, 10);
	free(s.map);
	/* every truncation, and a byte changed in each header field */
	bin = tu_read_file(tu_path("coverage.bin"), &len);
	for (size_t cut = 0; cut < len; cut++) {
		tu_write_file(tu_path("coverage.bin"), bin, cut);
		ck_assert_int_eq(cov_load_saved(tu_dir, &s, err, sizeof(err)), -1);
		ck_assert_ptr_nonnull(strstr(err, "coverage.bin"));
	}
	for (size_t at = 0; at < 36; at++) {
		char *b = malloc(len);
		memcpy(b, bin, len);
		b[at] ^= (at >= 12 && at < 16) || (at >= 32) ? 0x40 : 0x01;
		tu_write_file(tu_path("coverage.bin"), b, len);
		int rc = cov_load_saved(tu_dir, &s, err, sizeof(err));
		if (rc == 0) /* hash and guards are the image's to judge */
			free(s.map);
		ck_assert(rc == -1 || (at >= 16 && at < 32));
		free(b);
	}
	free(bin);
}
END_TEST

/* ---- the guide (no VM) -------------------------------------------------------- */

/* A guide fed made-up coverage: every sequence it plans parses and names
 * only live pmaps (its slots are the parser's), and a seed gives the same
 * sequences. */
static void guide_trace(uint64_t seed, struct script **out)
{
	struct fuzz_profile p;
	char err[512];
	uint8_t map[64];
	struct guide *g;
	struct script *all = script_new("all");

	fuzz_profile_default(&p);
	g = guide_new(&p, seed, 1024, sizeof(map), 100, NULL, 0);
	ck_assert_ptr_nonnull(g);
	for (unsigned seqn = 0; seqn < 60; seqn++) {
		struct script *sc = script_new("seq");
		guide_begin(g);
		for (unsigned i = 0; i < 100; i++) {
			struct script_op o;
			guide_next(g, &o);
			ck_assert_int_eq(script_append(sc, &o), 0);
			ck_assert_int_eq(script_append(all, &o), 0);
		}
		uint32_t slots[100];
		for (size_t i = 0; i < sc->n_ops; i++)
			slots[i] = sc->ops[i].op.pmap;
		ck_assert_msg(script_assign_slots(sc, err, sizeof(err)) == 0, "sequence %u: %s",
		              seqn, err);
		for (size_t i = 0; i < sc->n_ops; i++)
			if (op_names_pmap(sc->ops[i].op.kind))
				ck_assert_uint_eq(slots[i], sc->ops[i].op.pmap);
		memset(map, 0, sizeof(map));
		map[seqn % 64] = 1; /* each sequence reaches something new at first */
		guide_end(g, sc, map, true);
		script_free(sc);
	}
	guide_free(g);
	*out = all;
}

START_TEST(guide_sequences_valid_and_deterministic)
{
	struct script *a, *b, *c;

	guide_trace(5, &a);
	guide_trace(5, &b);
	guide_trace(6, &c);
	ck_assert_uint_eq(a->n_ops, b->n_ops);
	for (size_t i = 0; i < a->n_ops; i++)
		ck_assert_msg(memcmp(&a->ops[i].op, &b->ops[i].op, sizeof(a->ops[i].op)) == 0,
		              "op %zu differs for the same seed", i);
	ck_assert(memcmp(a->ops, c->ops, a->n_ops * sizeof(*a->ops)) != 0);
	script_free(a);
	script_free(b);
	script_free(c);
}
END_TEST

/* ---- with the guest ----------------------------------------------------------- */

START_TEST(enter_reaches_pmap_enter)
{
	struct session_config cfg = {0};
	struct session *s = calloc(1, sizeof(*s));
	struct cov_image img;
	struct script *sc;
	uint8_t *boot, *after;
	char err[512];
	int enter;

	if (!tu_need_backend("enter_reaches_pmap_enter"))
		return;
	load_image(tu_guest(), &img);
	enter = func_named(&img, "pmap_enter");
	boot = calloc(img.nedges, 1);
	after = calloc(img.nedges, 1);
	cfg.guest = tu_guest();
	cfg.mem_mib = 64;
	cfg.timeout_s = 60;
	cfg.arena_pages = 64;
	cfg.pv_per_page = 8;
	cfg.ring = cfg.stop_each = cfg.monitor = true;
	ck_assert_int_eq(vm_backend_parse(tu_backend(), &cfg.backend), 0);
	ck_assert_int_eq(session_boot(s, &cfg), 0);
	ck_assert_int_eq(cov_harvest(&s->vm->mem, s->vm->desc_gpa, &img, boot, err, sizeof(err)),
	                 0);
	const char *text = "create a\nenter a 0x400000 pg1 rw\n";
	ck_assert_int_eq(
	    script_parse_string("<t>", text, strlen(text), NULL, &sc, err, sizeof(err)), 0);
	for (size_t i = 0; i < sc->n_ops; i++)
		ck_assert_int_eq(session_op(s, &sc->ops[i]), SESSION_OK);
	ck_assert_int_eq(cov_harvest(&s->vm->mem, s->vm->desc_gpa, &img, after, err, sizeof(err)),
	                 0);
	ck_assert_uint_eq(func_hits(&img, enter, boot), 0);
	ck_assert_uint_gt(func_hits(&img, enter, after), 3);
	ck_assert_uint_gt(func_hits(&img, func_named(&img, "pmap_create"), after), 0);
	ck_assert_uint_ge(cov_count(after, img.nedges), cov_count(boot, img.nedges));
	session_destroy(s);
	script_free(sc);
	free(s);
	free(boot);
	free(after);
	cov_image_free(&img);
}
END_TEST

static void run_fuzz(struct tu_proc *p, const char *guest, const char *out, const char *mode,
                     const char *seed, const char *ops, const char *seqlen)
{
	char *argv[] = {(char *)tu_bin(), "fuzz",
	                "--seed",         (char *)seed,
	                "--ops",          (char *)ops,
	                "--jobs",         "1",
	                "--quiet",        "--coverage",
	                (char *)mode,     "--sequence-length",
	                (char *)seqlen,   "--no-minimize",
	                "--out",          (char *)out,
	                (char *)guest,    NULL};
	tu_run(p, 600, argv);
}

static json_t *stats(const char *out)
{
	char path[700];
	json_t *j;

	snprintf(path, sizeof(path), "%s/stats.json", out);
	j = json_load_file(path, 0, NULL);
	ck_assert_msg(j != NULL, "%s: no JSON", path);
	return j;
}

/* fuzz writes stats.json's coverage; `ptshadow coverage OUT` prints the
 * table and writes the listings; --coverage off writes neither */
START_TEST(coverage_command)
{
	char out[600], listing[700];
	struct tu_proc p;

	if (!tu_need_backend("coverage_command"))
		return;
	snprintf(out, sizeof(out), "%s/rep", tu_dir);
	run_fuzz(&p, tu_guest(), out, "report", "1", "2000", "1000");
	ck_assert_msg(p.status == 0, "exit %d\n%s%s", p.status, p.out, p.err);
	tu_proc_free(&p);
	json_t *j = stats(out), *cov = json_object_get(j, "coverage"), *f;
	size_t i;
	json_int_t edges = 0, hit = 0, enter_hit = -1;
	ck_assert_str_eq(json_string_value(json_object_get(cov, "mode")), "report");
	json_array_foreach(json_object_get(cov, "functions"), i, f)
	{
		ck_assert(json_is_string(json_object_get(f, "file")));
		ck_assert(json_is_integer(json_object_get(f, "line")));
		edges += json_integer_value(json_object_get(f, "edges"));
		hit += json_integer_value(json_object_get(f, "hit"));
		if (strcmp(json_string_value(json_object_get(f, "name")), "pmap_enter") == 0)
			enter_hit = json_integer_value(json_object_get(f, "hit"));
	}
	ck_assert_int_eq(edges, json_integer_value(json_object_get(cov, "edges_total")));
	ck_assert_int_eq(hit, json_integer_value(json_object_get(cov, "edges_hit")));
	ck_assert_int_gt(enter_hit, 0);
	json_decref(j);

	char *argv[] = {(char *)tu_bin(), "coverage", out, NULL};
	tu_run(&p, 60, argv);
	ck_assert_msg(p.status == 0, "exit %d\n%s%s", p.status, p.out, p.err);
	ck_assert(tu_has_line_starting(p.out, "pmap_enter "));
	ck_assert(tu_has_line_starting(p.out, "total "));
	tu_proc_free(&p);
	snprintf(listing, sizeof(listing), "%s/coverage/pmap.c.txt", out);
	char *text = tu_read_file(listing, NULL);
	ck_assert_ptr_nonnull(strstr(text, "int pmap_enter("));
	ck_assert_ptr_nonnull(strstr(text, " + "));
	free(text);

	snprintf(out, sizeof(out), "%s/off", tu_dir);
	run_fuzz(&p, tu_guest(), out, "off", "1", "300", "1000");
	ck_assert_int_eq(p.status, 0);
	tu_proc_free(&p);
	j = stats(out);
	ck_assert_ptr_null(json_object_get(j, "coverage"));
	json_decref(j);
	snprintf(listing, sizeof(listing), "%s/coverage.bin", out);
	ck_assert_int_ne(access(listing, F_OK), 0);
}
END_TEST

/* The marks ('+' reached, '-' not) of the first line of a coverage listing
 * after the line holding `after` whose source holds `what`; "" if none. */
static void listing_marks(const char *text, const char *after, const char *what, char *marks,
                          size_t len)
{
	const char *line = strstr(text, after);

	marks[0] = '\0';
	for (line = line ? strchr(line, '\n') : NULL; line != NULL; line = strchr(line, '\n')) {
		const char *eol = strchr(++line, '\n'), *bar = strchr(line, '|'), *hit;

		eol = eol ? eol : line + strlen(line);
		hit = strstr(line, what);
		if (bar == NULL || bar > eol || hit == NULL || hit > eol)
			continue;
		size_t n = 0;
		for (const char *c = line; c < bar && n + 1 < len; c++)
			if (*c == '+' || *c == '-')
				marks[n++] = *c;
		marks[n] = '\0';
		return;
	}
}

static char *listing(const char *out, const char *file)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/coverage/%s.txt", out, file);
	return tu_read_file(path, NULL);
}

/* Issue 21: pool_get with no free item (it adds a page) and an enter whose
 * pv entry cannot be had after its PTPs were found or allocated (pool_get
 * returns NULL): coverage.ini, whose guest keeps no spare pv entry
 * (pv_lowat=0), reaches both (docs/user-guide.md, "What the default profile
 * never reaches"). */
START_TEST(coverage_profile_reaches_the_empty_pool)
{
	char out[600], marks[32];
	struct tu_proc p;

	if (!tu_need_backend("coverage_profile_reaches_the_empty_pool"))
		return;
	snprintf(out, sizeof(out), "%s/pool", tu_dir);
	TU_PTS(p, 600, "fuzz", "--seed", "1", "--ops", "2000", "--jobs", "1", "--quiet",
	       "--profile", "coverage", "--no-minimize", "--out", out, (char *)tu_guest());
	TU_ASSERT_EXIT(p, 0);
	tu_proc_free(&p);
	TU_PTS(p, 60, "coverage", out);
	TU_ASSERT_EXIT(p, 0);
	tu_proc_free(&p);

	char *pool = listing(out, "pool.c"), *pmap = listing(out, "pmap.c");
	/* the page pool_get added is the one it takes its item from */
	listing_marks(pool, "pmap_alloc_fails(PMAP_CANFAIL)", "ph = pp->pr_emptypages;", marks,
	              sizeof(marks));
	ck_assert_msg(strchr(marks, '+') != NULL, "pool_get's new page: marks '%s'", marks);
	listing_marks(pmap, "pve = pmap_alloc_pv(flags);", "if (pve == NULL)", marks,
	              sizeof(marks));
	ck_assert_msg(strcmp(marks, "+") == 0, "pmap_enter's failed pv entry: marks '%s'", marks);
	free(pool);
	free(pmap);
}
END_TEST

/* bad input: one line on stderr naming it, exit 2 */
START_TEST(coverage_bad_input_exits_2)
{
	char empty[600], bad[600], path[700], other[600];
	struct tu_proc p;
	struct cov_image img;
	uint8_t map[4] = {0};

	snprintf(empty, sizeof(empty), "%s/empty", tu_dir);
	snprintf(bad, sizeof(bad), "%s/bad", tu_dir);
	snprintf(other, sizeof(other), "%s/other", tu_dir);
	mkdir(empty, 0755);
	mkdir(bad, 0755);
	mkdir(other, 0755);
	snprintf(path, sizeof(path), "%s/coverage.bin", bad);
	tu_write_file(path, "PTSCOV\r\ngarbage", 15);
	/* a coverage.bin whose image is not this guest */
	memset(&img, 0, sizeof(img));
	snprintf(img.path, sizeof(img.path), "%s", tu_guest());
	img.hash = 1;
	img.nedges = 4;
	ck_assert_int_eq(cov_save(other, &img, map, (char[256]){0}, 256), 0);
	const char *dirs[] = {empty, bad, other, "/nonexistent/out"};
	for (unsigned i = 0; i < 4; i++) {
		char *argv[] = {(char *)tu_bin(), "coverage", (char *)dirs[i], NULL};
		tu_run(&p, 60, argv);
		ck_assert_msg(p.status == 2, "%s: exit %d\n%s", dirs[i], p.status, p.err);
		ck_assert_uint_eq(tu_count_lines(p.err), 1);
		ck_assert_msg(strstr(p.err, i == 2 ? tu_guest() : dirs[i]) != NULL, "%s", p.err);
		tu_proc_free(&p);
	}
	char *argv2[] = {(char *)tu_bin(), "coverage", NULL};
	tu_run(&p, 60, argv2);
	ck_assert_int_eq(p.status, 2);
	tu_proc_free(&p);
	char *argv3[] = {(char *)tu_bin(),   "fuzz", "--coverage", "sometimes",
	                 (char *)tu_guest(), NULL};
	tu_run(&p, 60, argv3);
	ck_assert_int_eq(p.status, 2);
	ck_assert_ptr_nonnull(strstr(p.err, "--coverage sometimes"));
	tu_proc_free(&p);
	char *argv4[] = {(char *)tu_bin(), "coverage", "--help", NULL};
	tu_run(&p, 60, argv4);
	ck_assert_int_eq(p.status, 0);
	ck_assert_ptr_nonnull(strstr(p.out, "usage: ptshadow coverage"));
	tu_proc_free(&p);
}
END_TEST

/* guide mode finds a mutant after its corpus has grown, at the same op and
 * with the same signature on a second run (make bench: this mutant and seed
 * take random fuzzing 225 ops, the guide 816, sequences of 200 ops) */
#define GUIDE_TEST_MUTANT "protect-forgets-writeable-count"
#define GUIDE_TEST_SEED   "1"

START_TEST(guide_finds_mutant_deterministically)
{
	const char *elf = "build/mutants/" GUIDE_TEST_MUTANT ".elf";
	char out[2][600], crash[2][700];
	json_int_t ops[2];
	struct tu_proc p;

	if (!tu_need_backend("guide_finds_mutant_deterministically"))
		return;
	ck_assert_msg(access(elf, R_OK) == 0, "%s missing: make mutants", elf);
	for (unsigned k = 0; k < 2; k++) {
		snprintf(out[k], sizeof(out[k]), "%s/guide%u", tu_dir, k);
		run_fuzz(&p, elf, out[k], "guide", GUIDE_TEST_SEED, "20000", "200");
		ck_assert_msg(p.status == 1, "exit %d\n%s%s", p.status, p.out, p.err);
		tu_proc_free(&p);
		json_t *j = stats(out[k]);
		ops[k] = json_integer_value(json_object_get(j, "ops"));
		ck_assert_str_eq(
		    json_string_value(json_object_get(json_object_get(j, "coverage"), "mode")),
		    "guide");
		json_decref(j);
		ck_assert_uint_eq(tu_crash_dirs(out[k], crash[k], sizeof(crash[k])), 1);
	}
	ck_assert_int_gt(ops[0], 200); /* past the first sequence: the corpus was used */
	ck_assert_int_eq(ops[0], ops[1]);
	ck_assert_str_eq(strrchr(crash[0], '/') - 17, strrchr(crash[1], '/') - 17);
	snprintf(crash[0], sizeof(crash[0]), "%s/corpus", out[0]);
	DIR *d = opendir(crash[0]);
	ck_assert_ptr_nonnull(d);
	closedir(d);
}
END_TEST

Suite *suite_cov(void);

Suite *suite_cov(void)
{
	Suite *s = suite_create("cov");
	TCase *img = tcase_create("image");
	TCase *vm = tcase_create("guest");

	tu_tmpdir_fixture(img);
	tcase_set_timeout(img, 60);
	tcase_add_test(img, image_names_functions);
	tcase_add_test(img, image_without_coverage_or_bad);
	tcase_add_test(img, harvest_reads_the_map);
	tcase_add_test(img, hostile_coverage_fields);
	tcase_add_test(img, saved_round_trip_and_garbage);
	tcase_add_test(img, guide_sequences_valid_and_deterministic);
	suite_add_tcase(s, img);
	tu_tmpdir_fixture(vm);
	tcase_set_timeout(vm, 900);
	tcase_add_test(vm, enter_reaches_pmap_enter);
	tcase_add_test(vm, coverage_command);
	tcase_add_test(vm, coverage_profile_reaches_the_empty_pool);
	tcase_add_test(vm, coverage_bad_input_exits_2);
	tcase_add_test(vm, guide_finds_mutant_deterministically);
	suite_add_tcase(s, vm);
	return s;
}
