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
};

/*
 * Shrink sc (whose first finding has signature sig) in place.  progress, if
 * not NULL, gets a line now and then.  0 on success (sc is the smallest
 * script found; it still reproduces), -1 with err when the original does
 * not reproduce or the guest cannot be run.
 */
int minimize_script(const struct session_config *cfg, struct script *sc, uint64_t sig,
                    FILE *progress, struct minimize_stats *st, char *err, size_t errlen);

#endif /* PTSHADOW_MINIMIZE_H */
