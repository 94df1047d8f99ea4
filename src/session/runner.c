/* src/session/runner.c - scripts run from the post-boot snapshot, first finding out. */
#include <stdlib.h>
#include <string.h>

#include "runner.h"

static void keep_console(struct session *s, char **console, size_t *len)
{
	if (console == NULL)
		return;
	*len = s->vm.cons.tail_len;
	*console = malloc(*len + 1);
	if (*console != NULL) {
		memcpy(*console, s->vm.cons.tail, *len);
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

void runner_close(struct runner *r)
{
	if (r->live)
		session_destroy(&r->s);
	r->live = false;
}

/* A guest at its post-boot state: reset the live one, or boot a new one. */
static enum run_outcome runner_ready(struct runner *r, struct finding *f, char *err, size_t errlen)
{
	int rc;

	if (r->live) {
		if (session_reset(&r->s) == 0) {
			r->resets++;
			return RUN_CLEAN;
		}
		if (session_backend_failed(&r->s)) {
			snprintf(err, errlen, "%s", r->s.err);
			runner_close(r);
			return RUN_ERROR;
		}
		runner_close(r); /* could not reset: boot afresh */
	}
	rc = session_boot(&r->s, &r->cfg);
	r->boots++;
	if (rc == 0) {
		r->live = true;
		return RUN_CLEAN;
	}
	snprintf(err, errlen, "%s", r->s.err);
	if (rc == EXIT_FINDING) {
		finding_from_death(f, &r->s, 0, NULL);
		session_destroy(&r->s);
		return RUN_FINDING;
	}
	session_destroy(&r->s);
	return rc == EXIT_USAGE ? RUN_BAD_IMAGE : RUN_ERROR;
}

static enum run_outcome run_ops(struct runner *r, struct script *sc, bool check_expect,
                                struct finding *f, char *err, size_t errlen)
{
	struct session *s = &r->s;

	for (size_t i = 0; i < sc->n_ops; i++) {
		struct script_op *sop = &sc->ops[i];
		enum session_status st;

		session_set_next(s, i + 1 < sc->n_ops ? &sc->ops[i + 1] : NULL);
		st = session_op(s, sop);
		if (st == SESSION_VIOLATION) {
			finding_from_violation(f, session_violation(s, 0));
			return RUN_FINDING;
		}
		if (st == SESSION_GUEST_DIED || st == SESSION_EXITED) {
			finding_from_death(f, s, i, sop);
			return RUN_FINDING;
		}
		if (st == SESSION_ERROR || st == SESSION_INTERRUPTED) {
			snprintf(err, errlen, "%s", s->err);
			return RUN_ERROR;
		}
		if (check_expect && !script_op_expect_met(sop)) {
			finding_from_mismatch(f, i, sop);
			return RUN_FINDING;
		}
	}
	return RUN_CLEAN;
}

enum run_outcome runner_run(struct runner *r, struct script *sc, bool check_expect,
                            struct finding *f, char **console, size_t *console_len, char *err,
                            size_t errlen)
{
	enum run_outcome out;

	if (console != NULL)
		*console = NULL;
	out = runner_ready(r, f, err, errlen);
	if (out != RUN_CLEAN)
		return out;
	out = run_ops(r, sc, check_expect, f, err, errlen);
	keep_console(&r->s, console, console_len);
	/* a guest that died or erred is not reset: boot a fresh one next time */
	if (out == RUN_ERROR || (out == RUN_FINDING && r->s.vm.event != VM_EV_OP_DONE))
		runner_close(r);
	return out;
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
