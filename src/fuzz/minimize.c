/* src/fuzz/minimize.c - shrink a failing script: cut it after the failing op,
 * drop chunks of ops (ddmin, halving the chunk size), then single ops, then
 * simplify arguments (flags, ranges, protections, page and pmap numbering),
 * then shorten each group's schedule (docs/smp.md, "Groups"), keeping a
 * candidate only when it fails with the same signature.  Every
 * candidate's text is hashed so no candidate runs twice.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "minimize.h"

struct memo {
	uint64_t *keys; /* open addressing, 0 = empty */
	uint8_t *hit;   /* result: 1 = reproduces */
	size_t cap, n;
};

struct mctx {
	const struct session_config *cfg;
	struct runner runner; /* one guest, reset to its post-boot state per candidate */
	uint64_t sig;
	struct memo memo;
	struct minimize_stats *st;
	const struct minimize_limits *lim;
	FILE *progress;
	uint64_t last_progress;
	char *err;
	size_t errlen;
	bool failed;
};

static uint64_t hash_text(uint64_t h, const char *text)
{
	for (const char *p = text; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	return (h ^ '\n') * 0x100000001b3ull;
}

/* the script's text: its ops, and its groups with their schedules */
static uint64_t script_hash(const struct script *sc)
{
	char text[OPS_TEXT_MAX];
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < sc->n_ops; i++) {
		size_t n = script_group_len(sc, i);
		if (n > 1 && (i == 0 || sc->ops[i - 1].group != sc->ops[i].group)) {
			script_group_close_format(sc, i, text, sizeof(text));
			h = hash_text(hash_text(h, "par {"), text);
		}
		script_op_format(&sc->ops[i], text, sizeof(text));
		h = hash_text(h, text);
	}
	return h == 0 ? 1 : h;
}

static int memo_find(struct memo *m, uint64_t key, size_t *at)
{
	size_t i;

	if (m->cap == 0)
		return 0;
	for (i = key & (m->cap - 1); m->keys[i] != 0; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key) {
			*at = i;
			return 1;
		}
	*at = i;
	return 0;
}

static void memo_put(struct memo *m, uint64_t key, bool hit)
{
	size_t at = 0;

	if (m->n * 2 >= m->cap) {
		struct memo bigger = {0};
		bigger.cap = m->cap ? m->cap * 2 : 256;
		bigger.keys = calloc(bigger.cap, sizeof(*bigger.keys));
		bigger.hit = calloc(bigger.cap, 1);
		if (bigger.keys == NULL || bigger.hit == NULL) {
			free(bigger.keys);
			free(bigger.hit);
			return;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i] != 0)
				memo_put(&bigger, m->keys[i], m->hit[i]);
		free(m->keys);
		free(m->hit);
		*m = bigger;
	}
	if (!memo_find(m, key, &at)) {
		m->keys[at] = key;
		m->n++;
	}
	m->hit[at] = hit;
}

bool minimize_limits_reached(const struct minimize_limits *lim)
{
	return lim != NULL && ((lim->deadline_ns != 0 && now_ns() >= lim->deadline_ns) ||
	                       (lim->stop != NULL && *lim->stop));
}

/* The limits have come: no more candidates (c->failed ends every pass). */
static bool out_of_time(struct mctx *c)
{
	const struct minimize_limits *lim = c->lim;

	if (lim == NULL || c->st->cut_short)
		return c->st->cut_short;
	if (minimize_limits_reached(lim)) {
		c->st->cut_short = true;
		c->failed = true;
		snprintf(c->err, c->errlen, "minimisation cut short");
	}
	return c->st->cut_short;
}

/* Does this candidate still fail the same way?  Updates candidate results. */
/* a line on progress, at most every second */
static void say_progress(struct mctx *c, const struct script *cand)
{
	if (c->progress == NULL || now_ns() - c->last_progress <= 1000000000ull)
		return;
	c->last_progress = now_ns();
	fprintf(c->progress, "minimize: %u candidates run, %zu ops now\n", c->st->candidates,
	        cand->n_ops);
	fflush(c->progress);
}

/* a candidate with a group that runs free (its CPUs in parallel) is run up
 * to this many times before it is said not to reproduce */
#define MINIMIZE_FREE_TRIES 4u
/* ... after PCT from this many seeds failed to pin them down (pin.c) */
#define MINIMIZE_PIN_SEEDS 32u

static bool reproduces(struct mctx *c, struct script *cand)
{
	char err[512];
	struct finding f;
	uint64_t key;
	size_t at = 0;
	enum run_outcome o;
	bool hit;

	if (script_assign_slots(cand, err, sizeof(err)) != 0)
		return false; /* names a pmap that is not alive: not a valid script */
	key = script_hash(cand);
	if (memo_find(&c->memo, key, &at)) {
		c->st->memo_hits++;
		return c->memo.hit[at];
	}
	if (out_of_time(c))
		return false;
	c->st->candidates++;
	hit = false;
	for (unsigned t = 0; !hit && t < (script_has_free_group(cand) ? MINIMIZE_FREE_TRIES : 1);
	     t++) {
		o = runner_run(&c->runner, cand, false, &f, NULL, NULL, err, sizeof(err));
		if (o < 0) {
			snprintf(c->err, c->errlen, "%s", err);
			c->failed = true;
			return false;
		}
		hit = o == RUN_FINDING && f.signature == c->sig;
		if (o == RUN_FINDING)
			finding_free(&f);
	}
	memo_put(&c->memo, key, hit);
	say_progress(c, cand);
	return hit;
}

static struct script *script_copy_without(const struct script *sc, size_t from, size_t len)
{
	struct script *out = script_new(sc->file);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < sc->n_ops; i++)
		if ((i < from || i >= from + len) && script_append(out, &sc->ops[i]) != 0) {
			script_free(out);
			return NULL;
		}
	return out;
}

static void script_replace(struct script *dst, struct script *src)
{
	struct script tmp = *dst;

	*dst = *src;
	*src = tmp;
	script_free(src);
}

/* Cut after the first op that fails (the finding's op is the last one). */
static void cut_after_failure(struct mctx *c, struct script *sc)
{
	char err[512];
	struct finding f;

	script_assign_slots(sc, err, sizeof(err));
	if (runner_run(&c->runner, sc, false, &f, NULL, NULL, err, sizeof(err)) == RUN_FINDING) {
		if (f.signature == c->sig && f.op_index + 1 < sc->n_ops)
			sc->n_ops = f.op_index + 1;
		finding_free(&f);
	}
}

static bool ddmin_pass(struct mctx *c, struct script *sc)
{
	bool changed = false;

	for (size_t chunk = sc->n_ops / 2; chunk >= 1 && !c->failed; chunk /= 2) {
		for (size_t from = 0; from + 1 < sc->n_ops && !c->failed;) {
			/* the failing op itself (the last) is never dropped */
			size_t len = chunk;
			struct script *cand;
			if (from + len >= sc->n_ops)
				len = sc->n_ops - 1 - from;
			if (len == 0)
				break;
			cand = script_copy_without(sc, from, len);
			if (cand == NULL)
				return changed;
			if (reproduces(c, cand)) {
				script_replace(sc, cand);
				changed = true;
			} else {
				script_free(cand);
				from += len;
			}
		}
		if (chunk == 1)
			break;
	}
	return changed;
}

/* A copy of sc without the ops that name pmap `name` (the last op is kept). */
static struct script *script_without_pmap(const struct script *sc, const char *name)
{
	struct script *out = script_new(sc->file);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < sc->n_ops; i++)
		if ((i + 1 == sc->n_ops || strcmp(sc->ops[i].pmap_name, name) != 0) &&
		    script_append(out, &sc->ops[i]) != 0) {
			script_free(out);
			return NULL;
		}
	return out;
}

/* A copy of sc without ops i and j. */
static struct script *script_without_pair(const struct script *sc, size_t i, size_t j)
{
	struct script *out = script_new(sc->file);

	if (out == NULL)
		return NULL;
	for (size_t k = 0; k < sc->n_ops; k++)
		if (k != i && k != j && script_append(out, &sc->ops[k]) != 0) {
			script_free(out);
			return NULL;
		}
	return out;
}

/*
 * What ddmin cannot see: ops that only make sense together.  Drop every op
 * of one pmap at once, and each create with its matching destroy.
 */
static bool structure_pass(struct mctx *c, struct script *sc)
{
	bool changed = false;

	for (size_t i = 0; i + 1 < sc->n_ops && !c->failed; i++) {
		const struct script_op *o = &sc->ops[i];
		struct script *cand = NULL;

		if (o->op.kind != PTS_OP_CREATE)
			continue;
		cand = script_without_pmap(sc, o->pmap_name);
		if (cand != NULL && reproduces(c, cand)) {
			script_replace(sc, cand);
			changed = true;
			i = (size_t)-1; /* start over: indexes moved */
			continue;
		}
		script_free(cand);
		for (size_t j = i + 1; j + 1 < sc->n_ops; j++) {
			if (sc->ops[j].op.kind != PTS_OP_DESTROY ||
			    strcmp(sc->ops[j].pmap_name, o->pmap_name) != 0)
				continue;
			cand = script_without_pair(sc, i, j);
			if (cand != NULL && reproduces(c, cand)) {
				script_replace(sc, cand);
				changed = true;
			} else {
				script_free(cand);
			}
			break;
		}
	}
	return changed;
}

/* Try one simplification of op i; keep it if the script still fails. */
static bool try_edit(struct mctx *c, struct script *sc, size_t i, const struct script_op *edited)
{
	struct script *cand = script_copy_without(sc, sc->n_ops, 0);

	if (cand == NULL)
		return false;
	cand->ops[i] = *edited;
	if (reproduces(c, cand)) {
		script_replace(sc, cand);
		return true;
	}
	script_free(cand);
	return false;
}

static bool simplify_pass(struct mctx *c, struct script *sc)
{
	bool changed = false;

	for (size_t i = 0; i < sc->n_ops && !c->failed; i++) {
		struct script_op e = sc->ops[i];
		if (e.op.flags & (PTS_OPF_WIRED | PTS_OPF_CANFAIL)) {
			e.op.flags &= ~(PTS_OPF_WIRED | PTS_OPF_CANFAIL);
			changed |= try_edit(c, sc, i, &e);
			e = sc->ops[i];
		}
		if ((e.op.kind == PTS_OP_REMOVE || e.op.kind == PTS_OP_PROTECT ||
		     e.op.kind == PTS_OP_KREMOVE) &&
		    e.op.end > e.op.va + PTS_PAGE_SIZE) {
			e.op.end = e.op.va + PTS_PAGE_SIZE;
			if (e.op.kind != PTS_OP_PROTECT)
				e.op.end = 0;
			changed |= try_edit(c, sc, i, &e);
			e = sc->ops[i];
		}
		if (e.op.kind == PTS_OP_ENTER && e.op.page > 0) {
			e.op.page = 0;
			changed |= try_edit(c, sc, i, &e);
		}
	}
	return changed;
}

/* A group's schedule, shorter: each step in turn dropped while the script
 * still fails (past its steps the guest's default rule goes on). */
static bool schedule_pass(struct mctx *c, struct script *sc)
{
	bool changed = false;

	for (size_t i = 0; i < sc->n_ops && !c->failed; i++) {
		struct script_op e = sc->ops[i];
		for (unsigned k = 0; e.has_schedule && k < e.nsteps && !c->failed;) {
			struct script_op shorter = e;
			memmove(&shorter.steps[k], &shorter.steps[k + 1], e.nsteps - k - 1);
			shorter.nsteps--;
			if (try_edit(c, sc, i, &shorter)) {
				changed = true;
				e = sc->ops[i];
			} else {
				k++;
			}
		}
	}
	return changed;
}

/* Cosmetic: pmaps renamed a, b, c... in order of first use (slots unchanged). */
static void rename_pmaps(struct script *sc)
{
	char from[26][OPS_NAME_MAX + 1];
	unsigned n = 0;

	for (size_t i = 0; i < sc->n_ops; i++) {
		char *name = sc->ops[i].pmap_name;
		unsigned k;
		if (name[0] == '\0')
			continue;
		for (k = 0; k < n; k++)
			if (strcmp(from[k], name) == 0)
				break;
		if (k == n) {
			if (n == 26)
				return;
			snprintf(from[n++], sizeof(from[0]), "%s", name);
		}
	}
	for (size_t i = 0; i < sc->n_ops; i++)
		for (unsigned k = 0; k < n; k++)
			if (strcmp(sc->ops[i].pmap_name, from[k]) == 0) {
				snprintf(sc->ops[i].pmap_name, sizeof(sc->ops[i].pmap_name), "%c",
				         'a' + k);
				break;
			}
}

/* the passes, in rounds, until none changes anything (or time is up) */
static void shrink(struct mctx *c, struct script *sc)
{
	for (int round = 0; round < 4 && !c->failed; round++) {
		bool changed = ddmin_pass(c, sc);
		changed |= structure_pass(c, sc);
		changed |= simplify_pass(c, sc);
		changed |= schedule_pass(c, sc);
		if (!changed)
			break;
	}
}

/* The script cut after its failing op, checked to reproduce, shrunk, its
 * pmaps renamed: 0, or -1 with c->err (cut short: 0, it still reproduces) */
static int minimize_run(struct mctx *c, struct script *sc)
{
	if (!out_of_time(c))
		cut_after_failure(c, sc);
	if (!reproduces(c, sc)) {
		if (!c->failed)
			snprintf(c->err, c->errlen, "%s: the script does not reproduce the finding",
			         sc->file);
		return -1;
	}
	shrink(c, sc);
	rename_pmaps(sc);
	script_assign_slots(sc, c->err, c->errlen);
	/* cut short, sc is still a script that reproduces: every change kept did */
	return c->failed && !c->st->cut_short ? -1 : 0;
}

int minimize_script(const struct session_config *cfg, struct script *sc, uint64_t sig,
                    FILE *progress, const struct minimize_limits *lim, struct minimize_stats *st,
                    char *err, size_t errlen)
{
	struct mctx c = {.cfg = cfg,
	                 .sig = sig,
	                 .st = st,
	                 .lim = lim,
	                 .progress = progress,
	                 .err = err,
	                 .errlen = errlen};
	uint64_t t0 = now_ns();
	int rc = 0;

	memset(st, 0, sizeof(*st));
	runner_init(&c.runner, cfg);
	st->ops_before = sc->n_ops;
	st->pinned_seed = pin_free_finding(cfg, sc, sig, MINIMIZE_PIN_SEEDS, lim);
	if (st->pinned_seed != 0 && progress != NULL)
		fprintf(progress,
		        "minimize: the free groups pinned to the host's schedule (PCT seed "
		        "%llu)\n",
		        (unsigned long long)st->pinned_seed);
	rc = minimize_run(&c, sc);
	st->ops_after = sc->n_ops;
	st->elapsed_ns = now_ns() - t0;
	runner_close(&c.runner);
	free(c.memo.keys);
	free(c.memo.hit);
	return rc;
}
