/* src/session/sched.c - the host's scheduler for groups: PCT's priorities
 * and priority-change steps (Burckhardt et al., ASPLOS 2010), drawn from the
 * run's seed; the guest applies them at its preemption points (abi.h,
 * struct pts_sched) and reports the steps it took.
 */
#include <string.h>

#include "session_impl.h"

/* the steps a group is expected to take: where the change points fall */
#define SCHED_EXPECTED_STEPS 8u
/* free groups: most pause loops at a point (docs/smp.md, "Free-running groups") */
#define SCHED_JITTER_MAX 256u

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void sched_pct(struct pts_sched *sc, uint64_t seed, uint64_t group, unsigned depth)
{
	uint64_t x = seed * 0x2545f4914f6cdd1dull ^ group;

	if (depth == 0)
		depth = 2;
	if (depth > PTS_SCHED_DEPTH)
		depth = PTS_SCHED_DEPTH;
	memset(sc, 0, sizeof *sc);
	sc->mode = PTS_SCHED_PCT;
	for (uint32_t c = 0; c < PTS_MAX_CPUS; c++)
		sc->prio[c] = (uint8_t)(depth + c);
	for (uint32_t c = PTS_MAX_CPUS - 1; c > 0; c--) { /* a random order of priorities */
		uint32_t j = (uint32_t)(splitmix(&x) % (c + 1));
		uint8_t t = sc->prio[c];
		sc->prio[c] = sc->prio[j];
		sc->prio[j] = t;
	}
	sc->nchange = depth - 1;
	for (uint32_t i = 0; i < sc->nchange; i++)
		sc->change[i] = (uint32_t)(splitmix(&x) % SCHED_EXPECTED_STEPS);
}

/* a free-running group (PTS_SCHED_FREE): no token, the guest's pauses at
 * its points drawn from seed and the group's number */
void sched_free(struct pts_sched *sc, uint64_t seed, uint64_t group)
{
	uint64_t x = seed * 0x2545f4914f6cdd1dull ^ group;

	memset(sc, 0, sizeof *sc);
	sc->mode = PTS_SCHED_FREE;
	sc->jitter_seed = splitmix(&x);
	sc->jitter_max = SCHED_JITTER_MAX;
}
