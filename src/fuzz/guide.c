/* src/fuzz/guide.c - coverage guidance: a corpus of sequences that reached new
 * pmap edges, and each new sequence a fresh one or a corpus entry mutated a
 * few times over (guide.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cov.h"
#include "guide.h"

struct entry {
	struct script_op *ops;
	size_t n;
};

struct guide {
	struct fuzz_gen gen; /* every op drawn; its state follows the sequence being built */
	struct rng rng;      /* the guide's own choices */
	uint64_t seq_len;
	uint32_t nedges;
	uint8_t *seen; /* the edges this job has reached */
	struct entry corpus[GUIDE_MAX_CORPUS];
	uint32_t ncorpus;
	uint64_t added;
	struct script_op *cand, *tmp; /* this sequence's planned ops; scratch (seq_len each) */
	size_t ncand, ntmp, pos;
	char corpus_dir[PATH_MAX];
	unsigned job;
};

enum mutation { MUT_INSERT, MUT_DELETE, MUT_CHANGE, MUT_SPLICE, MUT_REPEAT, MUT_COUNT };

struct guide *guide_new(const struct fuzz_profile *p, uint64_t seed, uint64_t arena_pages,
                        uint32_t nedges, uint64_t seq_len, const char *corpus_dir, unsigned job)
{
	struct guide *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	g->seq_len = seq_len ? seq_len : 1000;
	g->nedges = nedges;
	g->job = job;
	fuzz_gen_init(&g->gen, p, seed, arena_pages);
	rng_seed(&g->rng, seed ^ 0x6775696465ull); /* "guide" */
	if (corpus_dir != NULL)
		snprintf(g->corpus_dir, sizeof(g->corpus_dir), "%s", corpus_dir);
	g->seen = calloc(nedges + 1, 1);
	g->cand = calloc(g->seq_len, sizeof(*g->cand));
	g->tmp = calloc(g->seq_len, sizeof(*g->tmp));
	if (g->seen == NULL || g->cand == NULL || g->tmp == NULL) {
		guide_free(g);
		return NULL;
	}
	return g;
}

void guide_free(struct guide *g)
{
	if (g == NULL)
		return;
	for (uint32_t i = 0; i < g->ncorpus; i++)
		free(g->corpus[i].ops);
	free(g->seen);
	free(g->cand);
	free(g->tmp);
	free(g);
}

/* ---- building a mutated sequence into tmp -------------------------------- */

static bool tmp_full(const struct guide *g)
{
	return g->ntmp >= g->seq_len;
}

/* an op from elsewhere, if it is valid where it lands */
static void take_op(struct guide *g, const struct script_op *o)
{
	struct script_op c = *o;

	if (!tmp_full(g) && fuzz_gen_observe(&g->gen, &c))
		g->tmp[g->ntmp++] = c;
}

/* the generator's next op, and the one it armed a failure for */
static void take_fresh(struct guide *g)
{
	do {
		if (tmp_full(g))
			return;
		fuzz_gen_next(&g->gen, &g->tmp[g->ntmp++]);
	} while (g->gen.has_pending);
}

/* op at replaced by one of the same kind with new arguments (kept if none) */
static void take_changed(struct guide *g, const struct script_op *o)
{
	if (tmp_full(g))
		return;
	if (!fuzz_gen_kind(&g->gen, o->op.kind, &g->tmp[g->ntmp])) {
		take_op(g, o);
		return;
	}
	g->ntmp++;
	if (g->gen.has_pending) /* a `fail alloc` came first: its op follows */
		take_fresh(g);
}

/* One mutation of cand into tmp, then swapped: the generator starts from
 * the post-boot state and follows every op taken. */
static void mutate_once(struct guide *g)
{
	size_t n = g->ncand, at = rng_below(&g->rng, n + 1), k = 1 + rng_below(&g->rng, 8);
	enum mutation m = (enum mutation)rng_below(&g->rng, MUT_COUNT);
	const struct entry *other = &g->corpus[rng_below(&g->rng, g->ncorpus)];
	size_t from = rng_below(&g->rng, other->n + 1);
	struct script_op *swap;

	fuzz_gen_reset_state(&g->gen);
	g->ntmp = 0;
	for (size_t i = 0; i <= n && !tmp_full(g); i++) {
		if (i == at && m == MUT_INSERT)
			for (size_t j = 0; j < k; j++)
				take_fresh(g);
		if (i == at && m == MUT_SPLICE) { /* our head, the other's tail */
			for (size_t j = from; j < other->n; j++)
				take_op(g, &other->ops[j]);
			break;
		}
		if (i == at && m == MUT_REPEAT) /* a run of ops once more (pool growth, churn) */
			for (size_t j = at; j < at + k && j < n; j++)
				take_op(g, &g->cand[j]);
		if (i == n)
			break;
		if (m == MUT_DELETE && i >= at && i < at + k)
			continue;
		if (m == MUT_CHANGE && i == at)
			take_changed(g, &g->cand[i]);
		else
			take_op(g, &g->cand[i]);
	}
	swap = g->cand;
	g->cand = g->tmp;
	g->tmp = swap;
	g->ncand = g->ntmp;
}

void guide_begin(struct guide *g)
{
	const struct entry *e;
	unsigned rounds;

	fuzz_gen_reset_state(&g->gen);
	g->ncand = g->pos = 0;
	/* one sequence in five is fresh: the generator alone still explores */
	if (g->ncorpus == 0 || rng_below(&g->rng, 5) == 0)
		return;
	e = &g->corpus[rng_below(&g->rng, g->ncorpus)];
	g->ncand = e->n < g->seq_len ? e->n : g->seq_len;
	memcpy(g->cand, e->ops, g->ncand * sizeof(*g->cand));
	rounds = 1 + (unsigned)rng_below(&g->rng, 4);
	for (unsigned r = 0; r < rounds; r++)
		mutate_once(g);
}

void guide_next(struct guide *g, struct script_op *out)
{
	if (g->pos < g->ncand)
		*out = g->cand[g->pos++];
	else
		fuzz_gen_next(&g->gen, out); /* the planned ops are done: the generator goes on */
}

/* ---- the corpus ---------------------------------------------------------- */

static void corpus_write(struct guide *g, const struct script *sc)
{
	char path[PATH_MAX + 64];
	FILE *f;

	if (g->corpus_dir[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/%u-%llu.ops", g->corpus_dir, g->job,
	         (unsigned long long)g->added);
	f = fopen(path, "w");
	if (f == NULL)
		return; /* the corpus on disk is for people; the job keeps its own */
	fprintf(f, "# corpus entry %llu of job %u: a sequence that reached new pmap edges\n",
	        (unsigned long long)g->added, g->job);
	script_write(f, sc, sc->n_ops, false);
	fclose(f);
}

uint32_t guide_end(struct guide *g, const struct script *sc, const uint8_t *map, bool clean)
{
	uint32_t fresh = cov_merge(g->seen, map, g->nedges);
	struct entry *e;
	size_t n = sc->n_ops < g->seq_len ? sc->n_ops : g->seq_len;

	if (!clean || fresh == 0 || n == 0)
		return fresh;
	e = g->ncorpus < GUIDE_MAX_CORPUS ? &g->corpus[g->ncorpus]
	                                  : &g->corpus[rng_below(&g->rng, GUIDE_MAX_CORPUS)];
	struct script_op *ops = malloc(n * sizeof(*ops));
	if (ops == NULL)
		return fresh;
	memcpy(ops, sc->ops, n * sizeof(*ops));
	if (g->ncorpus < GUIDE_MAX_CORPUS)
		g->ncorpus++;
	else
		free(e->ops);
	e->ops = ops;
	e->n = n;
	g->added++;
	corpus_write(g, sc);
	return fresh;
}
