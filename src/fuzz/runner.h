/* src/fuzz/runner.h - run a whole script in a guest that starts from its
 * just-booted state, and report its first finding: the building block of
 * replay, minimize and run's reports.  A runner boots once and then resets
 * its VM to the post-boot snapshot before every script. */
#ifndef PTSHADOW_RUNNER_H
#define PTSHADOW_RUNNER_H

#include "report.h"

enum run_outcome {
	RUN_CLEAN = 0,  /* every op executed, checked, as expected */
	RUN_FINDING,    /* *f holds the first finding */
	RUN_ERROR = -1, /* boot or backend failure; message in err */
	RUN_BAD_IMAGE = -2,
};

struct runner {
	struct session_config cfg;
	struct session *s; /* booted, with a snapshot (NULL: none yet) */
	uint64_t boots, resets;
};

void runner_init(struct runner *r, const struct session_config *cfg);
/*
 * Run sc's ops in order from the post-boot state, stop at the first finding
 * (a violation, a guest death, or, if check_expect, a result that differs
 * from the script's `=> RESULT`).  Results are written back into sc.
 * *console gets a copy of the console tail (free it) when console != NULL.
 */
enum run_outcome runner_run(struct runner *r, struct script *sc, bool check_expect,
                            struct finding *f, char **console, size_t *console_len, char *err,
                            size_t errlen);
void runner_close(struct runner *r);
/* the schedule of unscheduled groups in the scripts run next (session_set_schedule) */
void runner_schedule(struct runner *r, uint64_t seed, bool free_groups);

/* One script, one runner, closed again. */
enum run_outcome run_script(const struct session_config *cfg, struct script *sc, bool check_expect,
                            struct finding *f, char **console, size_t *console_len, char *err,
                            size_t errlen);

#endif /* PTSHADOW_RUNNER_H */
