/* src/fuzz/fuzz_gen.c - the op generator: weighted op kinds from a profile, with
 * choices biased toward what breaks pmaps (aliasing pages, re-entering
 * mapped VAs, partly overlapping ranges, A/D traffic, wired mappings,
 * injected allocation failures, pmaps destroyed and recreated).
 */
#include <string.h>

#include "bug.h"
#include "fuzz.h"

/* xoshiro256**, seeded through splitmix64 */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	return n <= 1 ? 0 : rng_next(r) % n;
}

static bool chance(struct fuzz_gen *g, unsigned pct)
{
	return rng_below(&g->rng, 100) < pct;
}

void fuzz_gen_reset_state(struct fuzz_gen *g)
{
	memset(g->alive, 0, sizeof(g->alive));
	memset(g->slot_used, 0, sizeof(g->slot_used));
	memset(g->nrecent, 0, sizeof(g->nrecent));
	g->nalive = 0;
	g->has_pending = false;
	g->burst_left = 0;
}

void fuzz_gen_init(struct fuzz_gen *g, const struct fuzz_profile *p, uint64_t seed,
                   uint64_t arena_pages)
{
	memset(g, 0, sizeof(*g));
	g->prof = p;
	g->arena_pages = arena_pages;
	g->ncpus = 1;
	rng_seed(&g->rng, seed);
	for (unsigned k = 0; k < PTS_OP_COUNT; k++)
		g->total_weight += p->weight[k];
	fuzz_gen_reset_state(g);
}

static unsigned max_names(const struct fuzz_gen *g)
{
	unsigned n = g->prof->max_pmaps;

	return n > FUZZ_MAX_NAMES ? FUZZ_MAX_NAMES : (n == 0 ? 1 : n);
}

static uint64_t pages_used(const struct fuzz_gen *g)
{
	uint64_t n = g->prof->pages;

	return n == 0 || n > g->arena_pages ? g->arena_pages : n;
}

static void set_pmap(struct fuzz_gen *g, struct script_op *o, unsigned name)
{
	snprintf(o->pmap_name, sizeof(o->pmap_name), "p%u", name);
	o->op.pmap = g->slot_of[name];
}

static unsigned pick_alive(struct fuzz_gen *g)
{
	unsigned k = (unsigned)rng_below(&g->rng, g->nalive);

	for (unsigned i = 0; i < max_names(g); i++)
		if (g->alive[i] && k-- == 0)
			return i;
	return 0;
}

static uint64_t pick_va(struct fuzz_gen *g, unsigned name)
{
	const struct fuzz_profile *p = g->prof;
	const struct fuzz_region *r;

	if (g->nrecent[name] > 0 && chance(g, p->remap_pct)) {
		unsigned n = g->nrecent[name] < 32 ? g->nrecent[name] : 32;
		return g->recent[name][rng_below(&g->rng, n)].va;
	}
	r = &p->region[rng_below(&g->rng, p->nregions)];
	return r->start + rng_below(&g->rng, r->pages) * PTS_PAGE_SIZE;
}

static uint64_t pick_end(struct fuzz_gen *g, uint64_t va)
{
	uint64_t n = 1 + rng_below(&g->rng, g->prof->max_range ? g->prof->max_range : 1);
	uint64_t end = va + n * PTS_PAGE_SIZE;

	return end > PTS_USER_MAX || end <= va ? PTS_USER_MAX : end;
}

static uint64_t pick_page(struct fuzz_gen *g)
{
	return rng_below(&g->rng, pages_used(g));
}

static void remember(struct fuzz_gen *g, unsigned name, uint64_t va, uint64_t page)
{
	unsigned i = g->nrecent[name]++ % 32;

	g->recent[name][i].va = va;
	g->recent[name][i].page = (uint32_t)page;
}

static uint32_t pick_prot(struct fuzz_gen *g)
{
	static const uint32_t prots[] = {
	    PTS_PROT_READ,
	    PTS_PROT_READ | PTS_PROT_WRITE,
	    PTS_PROT_READ | PTS_PROT_EXEC,
	    PTS_PROT_READ | PTS_PROT_WRITE | PTS_PROT_EXEC,
	};
	return prots[rng_below(&g->rng, 4)];
}

static uint32_t pick_kind(struct fuzz_gen *g)
{
	uint64_t x = rng_below(&g->rng, g->total_weight);

	for (uint32_t k = 0; k < PTS_OP_COUNT; k++) {
		if (x < g->prof->weight[k])
			return k;
		x -= g->prof->weight[k];
	}
	return PTS_OP_ENTER;
}

/* The name comes alive in the lowest free slot (as create takes it):
 * max_names <= FUZZ_MAX_NAMES < PTS_MAX_PMAPS, so there is one. */
static void claim(struct fuzz_gen *g, unsigned name)
{
	unsigned slot = 0;

	while (g->slot_used[slot])
		slot++;
	g->alive[name] = true;
	g->slot_used[slot] = true;
	g->slot_of[name] = slot;
	g->nalive++;
	g->nrecent[name] = 0;
}

static bool gen_create(struct fuzz_gen *g, struct script_op *o)
{
	if (g->nalive >= max_names(g))
		return false;
	for (unsigned i = 0; i < max_names(g); i++) {
		if (g->alive[i])
			continue;
		claim(g, i);
		o->op.kind = PTS_OP_CREATE;
		set_pmap(g, o, i);
		return true;
	}
	return false;
}

/* The name dies with its pmap (its slot is free for a create). */
static void forget(struct fuzz_gen *g, unsigned name)
{
	g->alive[name] = false;
	g->slot_used[g->slot_of[name]] = false;
	g->nalive--;
}

/* What an op's generation has drawn so far. */
struct gen_op {
	const char *args; /* its argument codes (PTS_OP_TABLE) */
	unsigned name;    /* the pmap name P names */
	bool page_drawn;  /* the page, drawn before the codes (an op naming no pmap) */
	bool done;        /* the op became a create: no pmap was alive */
};

/* P: a pmap alive (one stays alive: destroy needs two), or a create when
 * none is.  As gen_arg. */
static bool gen_pmap(struct fuzz_gen *g, struct gen_op *a, struct script_op *o)
{
	if (o->op.kind == PTS_OP_DESTROY && g->nalive <= 1)
		return false;
	if (g->nalive == 0) { /* an op on a pmap: create one first */
		a->done = true;
		return gen_create(g, o);
	}
	a->name = pick_alive(g);
	set_pmap(g, o, a->name);
	return true;
}

/* The codes that name where: a pmap (C, P), its addresses (V, E), pages
 * (G, H), the kernel window (K, L).  As gen_arg. */
/* K, L: a page of the kernel window and an end after it.  As gen_arg. */
static bool gen_arg_kernel(struct fuzz_gen *g, char code, bool optional, struct script_op *o)
{
	uint64_t kpages = g->prof->kenter_pages ? g->prof->kenter_pages : 16;
	struct pts_op *op = &o->op;

	switch (code) {
	case 'K':
		op->va = rng_below(&g->rng, kpages) * PTS_PAGE_SIZE;
		return true;
	case 'L':
		op->end = optional && chance(g, 50)
		              ? 0
		              : op->va + (1 + rng_below(&g->rng, 4)) * PTS_PAGE_SIZE;
		if (op->end > (uint64_t)PTS_KENTER_PAGES * PTS_PAGE_SIZE)
			op->end = 0;
		return true;
	default:
		return false;
	}
}

static bool gen_arg_where(struct fuzz_gen *g, char code, bool optional, struct gen_op *a,
                          struct script_op *o)
{
	struct pts_op *op = &o->op;

	switch (code) {
	case 'C':
		return gen_create(g, o);
	case 'P':
		return gen_pmap(g, a, o);
	case 'V':
		op->va = pick_va(g, a->name);
		return true;
	case 'E':
		op->end = pick_end(g, op->va);
		if (optional) {
			(void)pick_prot(g); /* drawn, unused, since remove took it */
			if (chance(g, 50))
				op->end = 0; /* the one-page form */
		}
		return true;
	case 'G':
		if (!a->page_drawn)
			op->page = pick_page(g);
		return true;
	case 'H':
		op->page2 = pick_page(g);
		return true;
	case 'K':
	case 'L':
		return gen_arg_kernel(g, code, optional, o);
	default:
		PTS_BUG("argument code '%c' of %s is not one of where (src/fuzz/fuzz_gen.c)", code,
		        a->args);
	}
}

/* The codes that say how: protections (R, Q), flags (A, F), a count (N).
 * As gen_arg. */
static bool gen_arg_how(struct fuzz_gen *g, char code, struct gen_op *a, struct script_op *o)
{
	static const uint32_t pp_prots[] = {PTS_PROT_READ, PTS_PROT_READ | PTS_PROT_EXEC, 0};
	struct pts_op *op = &o->op;

	switch (code) {
	case 'R':
		op->prot = pick_prot(g);
		return true;
	case 'Q':
		op->prot = pp_prots[rng_below(&g->rng, 3)];
		return true;
	case 'A':
		if (chance(g, 50))
			op->flags |= PTS_OPF_WRITE;
		return true;
	case 'F':
		if (chance(g, g->prof->wired_pct))
			op->flags |= PTS_OPF_WIRED;
		if (chance(g, g->prof->canfail_pct))
			op->flags |= PTS_OPF_CANFAIL;
		return true;
	case 'N':
		op->value = 1 + rng_below(&g->rng, 3);
		return true;
	case 'a':
		return true;
	default:
		PTS_BUG("argument code '%c' of %s has no generator (src/fuzz/fuzz_gen.c)", code,
		        a->args);
	}
}

/*
 * The value of one argument code, drawn as the generator has always drawn
 * it, so that a seed gives the ops it gave before the table drove it.
 * optional: the code follows a '['.  false: the pmaps alive do not allow the
 * op (pick another kind).
 */
static bool gen_arg(struct fuzz_gen *g, char code, bool optional, struct gen_op *a,
                    struct script_op *o)
{
	if (strchr("CPVEGHKL", code) != NULL)
		return gen_arg_where(g, code, optional, a, o);
	return gen_arg_how(g, code, a, o);
}

/* What the generator keeps of an op: the VAs it entered, the names destroy
 * ends, the VAs collect unmaps. */
static void keep(struct fuzz_gen *g, const struct gen_op *a, const struct script_op *o)
{
	if (strchr(a->args, 'P') && strchr(a->args, 'V') && strchr(a->args, 'G'))
		remember(g, a->name, o->op.va, o->op.page);
	if (o->op.kind == PTS_OP_DESTROY)
		forget(g, a->name);
	if (o->op.kind == PTS_OP_COLLECT)
		g->nrecent[a->name] = 0; /* its VAs are unmapped */
}

/*
 * An op of the kind, its arguments drawn code by code (PTS_OP_TABLE); false
 * when the pmaps alive do not allow it.  What the generator keeps of an op
 * follows: the VAs it entered, the names destroy ends, the armed failure a
 * canfail op may be given.
 */
static bool gen_op(struct fuzz_gen *g, uint32_t kind, struct script_op *o)
{
	struct gen_op a = {.args = pts_op_args(kind)};

	if (a.args == NULL)
		PTS_BUG("op kind %u picked, not in PTS_OP_TABLE", kind);
	memset(o, 0, sizeof(*o));
	o->op.kind = kind;
	if (!strpbrk(a.args, "CP")) { /* an op that names no pmap draws its page first */
		o->op.page = pick_page(g);
		a.page_drawn = true;
	}
	for (const char *code = a.args; *code != '\0' && !a.done; code++)
		if (*code != '[' && !gen_arg(g, *code, code > a.args && code[-1] == '[', &a, o))
			return false;
	if (a.done)
		return true;
	if (a.page_drawn && !strchr(a.args, 'G'))
		o->op.page = 0;
	keep(g, &a, o);
	if ((o->op.flags & PTS_OPF_CANFAIL) && chance(g, g->prof->fail_pct)) {
		/* arm the failure first; the op follows as the next one */
		g->pending = *o;
		g->has_pending = true;
		memset(o, 0, sizeof(*o));
		o->op.kind = PTS_OP_FAIL_ALLOC;
		o->op.value = 1 + rng_below(&g->rng, 3);
	}
	return true;
}

/*
 * Bursts: a run of enters at consecutive VAs of the largest region, so that
 * many pv entries are live at once and the pv pool grows by several pages
 * (and, after the collect or destroy that follows, has to give them back).
 */
static bool gen_burst(struct fuzz_gen *g, struct script_op *o)
{
	const struct fuzz_profile *p = g->prof;
	const struct fuzz_region *big = &p->region[0];

	if (g->burst_left == 0) {
		if (p->burst_permille == 0 || p->burst_len == 0 || g->nalive == 0 ||
		    rng_below(&g->rng, 1000) >= p->burst_permille)
			return false;
		for (unsigned i = 1; i < p->nregions; i++)
			if (p->region[i].pages > big->pages)
				big = &p->region[i];
		g->burst_name = pick_alive(g);
		g->burst_left = p->burst_len;
		g->burst_va = big->start;
		g->burst_end = big->start + big->pages * PTS_PAGE_SIZE;
	}
	if (!g->alive[g->burst_name] || g->burst_va >= g->burst_end) {
		g->burst_left = 0;
		return false;
	}
	o->op.kind = PTS_OP_ENTER;
	set_pmap(g, o, g->burst_name);
	o->op.va = g->burst_va;
	o->op.page = pick_page(g);
	o->op.prot = PTS_PROT_READ | PTS_PROT_WRITE;
	g->burst_va += PTS_PAGE_SIZE;
	g->burst_left--;
	return true;
}

static void gen_next_op(struct fuzz_gen *g, struct script_op *out)
{
	memset(out, 0, sizeof(*out));
	if (g->has_pending) {
		*out = g->pending;
		g->has_pending = false;
		return;
	}
	if (gen_burst(g, out))
		return;
	for (unsigned tries = 0;; tries++)
		if (gen_op(g, tries < 64 ? pick_kind(g) : PTS_OP_ENTER, out))
			return;
}

void fuzz_gen_next(struct fuzz_gen *g, struct script_op *out)
{
	gen_next_op(g, out);
	/* several CPUs: each op on one of them, so that touches and activates
	 * leave translations cached on CPUs other than the one that later
	 * removes or downgrades them (one CPU draws nothing: the streams of
	 * a one-CPU campaign stay as they were) */
	if (g->ncpus > 1)
		out->op.cpu = (uint32_t)rng_below(&g->rng, g->ncpus);
}

/* a kind that may run in a group, drawn by the profile's weights */
static bool gen_group_member(struct fuzz_gen *g, struct script_op *o)
{
	for (unsigned tries = 0; tries < 64; tries++) {
		uint32_t kind = pick_kind(g);
		if ((PTS_GROUP_KINDS & (1u << kind)) && gen_op(g, kind, o))
			return true;
	}
	return gen_op(g, PTS_OP_TOUCH, o);
}

static int name_of(const struct fuzz_gen *g, const struct script_op *o);

/* o on pmap name's va (one page where it takes a range) */
static void aim_va(struct fuzz_gen *g, struct script_op *o, unsigned name, uint64_t va)
{
	set_pmap(g, o, name);
	o->op.va = va;
	if (strchr(pts_op_args(o->op.kind), 'E')) /* remove's END may go, protect's may not */
		o->op.end = o->op.kind == PTS_OP_PROTECT ? va + PTS_PAGE_SIZE : 0;
}

/* the newest VA the generator entered page at (the head of its pv list,
 * likely): its name and va, or false */
static bool newest_mapping(const struct fuzz_gen *g, uint64_t page, unsigned *name, uint64_t *va)
{
	bool found = false;

	for (unsigned n = 0; n < max_names(g); n++) {
		unsigned k = g->nrecent[n] < 32 ? g->nrecent[n] : 32;
		for (unsigned i = 0; g->alive[n] && i < k; i++)
			if (g->recent[n][(g->nrecent[n] - 1 - i) % 32].page == page) {
				*name = n;
				*va = g->recent[n][(g->nrecent[n] - 1 - i) % 32].va;
				found = true;
				break;
			}
	}
	return found;
}

/* a race needs a shared object: one time in two, o works on the first op's
 * pmap and VA or its page, or, one naming a page and the other a mapping, on
 * a mapping of that page */
static void aim_at(struct fuzz_gen *g, struct script_op *o, const struct script_op *first)
{
	const char *a = pts_op_args(o->op.kind), *f = pts_op_args(first->op.kind);
	int name = name_of(g, first);
	unsigned n;
	uint64_t va;

	if (a == NULL || f == NULL || !chance(g, 50))
		return;
	if (strchr(a, 'P') && strchr(a, 'V') && strchr(f, 'V') && name >= 0)
		aim_va(g, o, (unsigned)name, first->op.va);
	else if (strchr(a, 'P') && strchr(a, 'V') && strchr(f, 'G') &&
	         newest_mapping(g, first->op.page, &n, &va))
		aim_va(g, o, n, va);
	if (strchr(a, 'G') && strchr(f, 'G'))
		o->op.page = first->op.page;
	else if (strchr(a, 'G') && !strchr(a, 'P') && strchr(f, 'V') && name >= 0) {
		for (unsigned i = 0; i < g->nrecent[name] && i < 32; i++)
			if (g->recent[name][i].va == first->op.va)
				o->op.page = g->recent[name][i].page;
	}
}

size_t fuzz_gen_group(struct fuzz_gen *g, struct script_op *ops)
{
	uint32_t cpu[PTS_MAX_CPUS], most = g->ncpus < PTS_GROUP_MAX ? g->ncpus : PTS_GROUP_MAX;
	size_t n = 0, k;

	if (g->ncpus < 2 || g->has_pending || g->burst_left != 0 || g->nalive == 0 ||
	    rng_below(&g->rng, FUZZ_GROUP_ODDS) != 0)
		return 0;
	for (uint32_t c = 0; c < g->ncpus; c++)
		cpu[c] = c;
	for (uint32_t c = g->ncpus - 1; c > 0; c--) { /* distinct CPUs, in a random order */
		uint32_t j = (uint32_t)rng_below(&g->rng, c + 1), t = cpu[c];
		cpu[c] = cpu[j];
		cpu[j] = t;
	}
	k = 2 + rng_below(&g->rng, most - 1);
	while (n < k && gen_group_member(g, &ops[n])) {
		ops[n].op.cpu = cpu[n];
		if (n > 0)
			aim_at(g, &ops[n], &ops[0]);
		/* an op that arms a failure (fail alloc, its enter pending) ends the group */
		if (!(PTS_GROUP_KINDS & (1u << ops[n++].op.kind)))
			return n;
		ops[n - 1].group = 1;
	}
	return n;
}

void fuzz_gen_set_cpus(struct fuzz_gen *g, uint32_t ncpus)
{
	g->ncpus = ncpus >= 1 && ncpus <= PTS_MAX_CPUS ? ncpus : 1;
}

/* The generator's name for o's pmap ("p<N>", N below max_names), or -1. */
static int name_of(const struct fuzz_gen *g, const struct script_op *o)
{
	unsigned n = 0;
	const char *p = o->pmap_name;

	if (p[0] != 'p' || p[1] < '0' || p[1] > '9')
		return -1;
	for (p++; *p >= '0' && *p <= '9' && n < FUZZ_MAX_NAMES; p++)
		n = n * 10 + (unsigned)(*p - '0');
	return *p == '\0' && n < max_names(g) ? (int)n : -1;
}

bool fuzz_gen_observe(struct fuzz_gen *g, struct script_op *o)
{
	const char *args = pts_op_args(o->op.kind);
	int name = -1;

	if (args == NULL)
		return false;
	if (strpbrk(args, "CP")) {
		name = name_of(g, o);
		if (name < 0 || g->alive[name] != (o->op.kind != PTS_OP_CREATE))
			return false;
	}
	if (o->op.kind == PTS_OP_CREATE)
		claim(g, (unsigned)name);
	if (name >= 0)
		o->op.pmap = g->slot_of[name];
	if (name >= 0 && strchr(args, 'V') && strchr(args, 'G'))
		remember(g, (unsigned)name, o->op.va, o->op.page);
	if (o->op.kind == PTS_OP_DESTROY)
		forget(g, (unsigned)name);
	if (o->op.kind == PTS_OP_COLLECT)
		g->nrecent[name] = 0;
	return true;
}

bool fuzz_gen_kind(struct fuzz_gen *g, uint32_t kind, struct script_op *out)
{
	return pts_op_args(kind) != NULL && gen_op(g, kind, out);
}
