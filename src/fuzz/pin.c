/* src/fuzz/pin.c - a finding made in groups that ran free, pinned down
 * (docs/smp.md, "Free-running groups"): the same script with those groups
 * under the host's schedule, PCT from seeds 1..N, until a run gives the same
 * signature.  The steps that run took are written into its groups, so the
 * pinned script replays exactly and minimises like any other.
 */
#include "minimize.h"
#include "runner.h"

/* sc with its free groups made unscheduled: NULL when out of memory */
static struct script *unfree_copy(const struct script *sc)
{
	struct script *out = script_new(sc->file);

	for (size_t i = 0; out != NULL && i < sc->n_ops; i++) {
		struct script_op op = sc->ops[i];
		if (op.free_run)
			op.free_run = op.has_schedule = false, op.nsteps = 0;
		if (script_append(out, &op) != 0) {
			script_free(out);
			out = NULL;
		}
	}
	return out;
}

/* one seed's run of sc unfree: 1 if it gives sig (cand keeps its steps),
 * 0 if not, -1 if the backend failed */
static int pin_try(struct runner *r, struct script *cand, uint64_t seed, uint64_t sig)
{
	struct finding f;
	char err[256];
	enum run_outcome o;
	bool hit;

	runner_schedule(r, seed, false);
	o = runner_run(r, cand, false, &f, NULL, NULL, err, sizeof(err));
	if (o < 0)
		return -1;
	hit = o == RUN_FINDING && f.signature == sig;
	if (o == RUN_FINDING)
		finding_free(&f);
	return hit;
}

uint64_t pin_free_finding(const struct session_config *cfg, struct script *sc, uint64_t sig,
                          unsigned seeds, const struct minimize_limits *lim)
{
	struct runner r;
	uint64_t pinned = 0;

	if (!script_has_free_group(sc))
		return 0;
	runner_init(&r, cfg);
	for (uint64_t seed = 1; seed <= seeds && pinned == 0 && !minimize_limits_reached(lim);
	     seed++) {
		struct script *cand = unfree_copy(sc), old;
		int got = cand != NULL ? pin_try(&r, cand, seed, sig) : -1;
		if (got == 1) { /* sc becomes cand, with the steps its groups took */
			old = *sc;
			*sc = *cand;
			*cand = old;
			pinned = seed;
		}
		script_free(cand);
		if (got < 0)
			break;
	}
	runner_close(&r);
	return pinned;
}
