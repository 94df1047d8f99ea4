/* src/fuzz/runner.c - scripts run from the post-boot snapshot, first finding out:
 * session_run with the policy "stop at the first finding". */
#include <stdlib.h>
#include <string.h>

#include "runner.h"

static void keep_console(const struct outcome *o, char **console, size_t *len)
{
	if (console == NULL)
		return;
	*len = o->console_len;
	*console = malloc(*len + 1);
	if (*console != NULL) {
		memcpy(*console, o->console, *len);
		(*console)[*len] = '\0';
	} else {
		*len = 0;
	}
}

void runner_init(struct runner *r, const struct session_config *cfg)
{
	memset(r, 0, sizeof(*r));
	r->cfg = *cfg;
	r->cfg.snapshot = true;
	r->cfg.ring = true;
	r->cfg.stop_each = true;
}

void runner_schedule(struct runner *r, uint64_t seed, bool free_groups)
{
	r->cfg.sched_seed = seed;
	r->cfg.sched_free = free_groups;
	if (r->s != NULL)
		session_set_schedule(r->s, seed, free_groups);
}

void runner_close(struct runner *r)
{
	session_close(r->s);
	r->s = NULL;
}

/* A guest at its post-boot state: reset the live one, or boot a new one. */
static enum run_outcome runner_ready(struct runner *r, struct finding *f, char *err, size_t errlen)
{
	int rc;

	if (r->s != NULL) {
		if (session_reset(r->s) == 0) {
			r->resets++;
			return RUN_CLEAN;
		}
		if (session_backend_failed(r->s)) {
			snprintf(err, errlen, "%s", session_error(r->s));
			runner_close(r);
			return RUN_ERROR;
		}
		runner_close(r); /* could not reset: boot afresh */
	}
	r->s = session_open(&r->cfg, &rc);
	r->boots++;
	if (rc == 0)
		return RUN_CLEAN;
	snprintf(err, errlen, "%s", session_error(r->s));
	if (rc == EXIT_FINDING) {
		struct outcome o = session_last(r->s);
		finding_from_outcome(f, &o);
	}
	runner_close(r);
	return rc == EXIT_FINDING ? RUN_FINDING : rc == EXIT_USAGE ? RUN_BAD_IMAGE : RUN_ERROR;
}

enum run_outcome runner_run(struct runner *r, struct script *sc, bool check_expect,
                            struct finding *f, char **console, size_t *console_len, char *err,
                            size_t errlen)
{
	const struct run_policy first = {.lookahead = true, .check_expect = check_expect};
	const struct run_sink none = {0};
	enum run_outcome out;
	struct outcome o;

	if (console != NULL)
		*console = NULL;
	out = runner_ready(r, f, err, errlen);
	if (out != RUN_CLEAN)
		return out;
	o = session_run(r->s, sc, 0, &first, &none);
	keep_console(&o, console, console_len);
	if (o.kind == OUTCOME_CLEAN)
		return RUN_CLEAN;
	if (o.kind == OUTCOME_ERROR || o.kind == OUTCOME_INTERRUPTED) {
		snprintf(err, errlen, "%s", o.death.error);
		runner_close(r);
		return RUN_ERROR;
	}
	finding_from_outcome(f, &o);
	/* a guest that died or erred is not reset: boot a fresh one next time */
	if (o.death.event != VM_EV_OP_DONE)
		runner_close(r);
	return RUN_FINDING;
}

enum run_outcome run_script(const struct session_config *cfg, struct script *sc, bool check_expect,
                            struct finding *f, char **console, size_t *console_len, char *err,
                            size_t errlen)
{
	struct runner r;
	enum run_outcome out;

	runner_init(&r, cfg);
	out = runner_run(&r, sc, check_expect, f, console, console_len, err, errlen);
	runner_close(&r);
	return out;
}
