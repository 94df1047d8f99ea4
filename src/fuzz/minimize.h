/* src/fuzz/minimize.h - delta debugging of a failing script down to the fewest,
 * simplest ops that still give the same finding signature. */
#ifndef PTSHADOW_MINIMIZE_H
#define PTSHADOW_MINIMIZE_H

#include "runner.h"

struct minimize_stats {
	unsigned candidates; /* scripts run */
	unsigned memo_hits;  /* candidates skipped because already run */
	size_t ops_before, ops_after;
	uint64_t elapsed_ns;
	bool cut_short;       /* the limits ended it: sc is smaller, not the smallest */
	uint64_t pinned_seed; /* free groups made host-scheduled: the PCT seed (0: not) */
};

/* When to give up (a campaign's --time covers its minimisation too). */
struct minimize_limits {
	uint64_t deadline_ns;     /* now_ns() past this: stop (0: none) */
	const volatile int *stop; /* *stop set: stop (NULL: none) */
};

/*
 * Shrink sc (whose first finding has signature sig) in place.  progress, if
 * not NULL, gets a line now and then; lim (NULL: none) ends it early, with
 * st->cut_short.  0 on success (sc is the smallest script found, or with
 * cut_short a smaller one; either way it still reproduces), -1 with err when
 * the original does not reproduce (or the limits came before it was run) or
 * the guest cannot be run.
 */
int minimize_script(const struct session_config *cfg, struct script *sc, uint64_t sig,
                    FILE *progress, const struct minimize_limits *lim, struct minimize_stats *st,
                    char *err, size_t errlen);

/* the deadline has passed or *stop is set (lim NULL: never) */
bool minimize_limits_reached(const struct minimize_limits *lim);

/*
 * sc's free groups (`schedule free`) under the host's PCT schedule from
 * seeds 1..seeds until a run gives signature sig: then sc is that run's
 * script, its groups' steps written in, and the seed is returned; else 0
 * and sc is as it was (src/fuzz/pin.c).  It stops early when lim is
 * reached.  minimize_script does this first.
 */
uint64_t pin_free_finding(const struct session_config *cfg, struct script *sc, uint64_t sig,
                          unsigned seeds, const struct minimize_limits *lim);

#endif /* PTSHADOW_MINIMIZE_H */
