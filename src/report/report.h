/* src/report/report.h - findings (a broken invariant, a guest death, a result that
 * differs from the script's expectation) and their crash directories:
 * out/crashes/<sig>/{report.txt,report.json,walk.svg,repro.ops,count}, written
 * atomically, one directory per signature however often it recurs.
 */
#ifndef PTSHADOW_REPORT_H
#define PTSHADOW_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "ops.h"
#include "session.h"

struct violation;

struct finding {
	char id[24];   /* invariant id, or GUEST-PANIC / GUEST-HANG / GUEST-CRASH / GUEST-ERROR /
	                  EXPECT */
	char name[64]; /* invariant name, or a short description */
	char title[160];
	char message[512];
	uint64_t signature;
	uint64_t op_index; /* index of the op in its script */
	uint32_t op_kind;
	char op_text[OPS_TEXT_MAX];
	char *details; /* multi-line decoded objects or registers (owned) */
	json_t *json;  /* machine-readable form (owned) */
};

/* The finding an outcome is (a violation, a death or a mismatch: the one
 * mapping of what became of an op to a finding). */
void finding_from_outcome(struct finding *f, const struct outcome *o);
void finding_from_violation(struct finding *f, const struct violation *v);
/* How the guest died, for messages and reports: its panic, the error that
 * ended it, or its exit status, then its registers. */
void death_describe(const struct death *d, FILE *f);
void finding_free(struct finding *f);
/* A finding at op_index, the last op of a group: the group and its schedule
 * ("schedule:" line; report.json's "schedule"), nothing (NULL) otherwise
 * (src/report/report_sched.c) */
void report_schedule_text(FILE *out, const struct script *sc, uint64_t op_index);
json_t *report_schedule_json(const struct script *sc, uint64_t op_index);
/* "crashes/<16 hex digits>" name of the signature */
void finding_sig_hex(const struct finding *f, char buf[17]);
uint64_t signature_of(const char *normalised_title);

/*
 * Write f's crash directory under outdir: report.txt, report.json, walk.svg
 * (svg.h), repro.ops (ops[0..op_index] of sc) and count, whole or not at all (written in
 * outdir/crashes/.tmp.<sig>.<pid>, then renamed into place).  If the
 * directory exists already the count is incremented and *is_new is false.
 * 0, or -1 with err (then nothing of a new directory is left).
 */
int report_write(const char *outdir, const struct finding *f, const struct script *sc,
                 const char *console_tail, size_t tail_len, const struct session_config *cfg,
                 bool *is_new, char *err, size_t errlen);
/* Remove the temporaries (outdir/crashes/.tmp.*) of writers that have gone. */
void report_clean_stale(const char *outdir);
/* report.json is read back at most this big (a report is a few KiB) */
#define REPORT_JSON_MAX (16u << 20)
/* --pv-per-page and a report's guest.pv_per_page: 0 (as many as fit) .. this */
#define GUEST_PV_PER_PAGE_MAX 4096u
/* --timeout and a report's guest.timeout_s, in seconds (0 = none) */
#define GUEST_TIMEOUT_MAX 86400u

/* The guest settings a crash directory was found with (report.json "guest"
 * object), so replay and minimize can rerun it. */
json_t *report_guest_json(const struct session_config *cfg);
/* The guest settings a command line gave (struct guest_opts' given): a
 * report's own value does not replace them.  The command line, the check
 * spec and the backend need no flag: NULL and AUTO say "not given". */
enum guest_setting {
	GUEST_SET_MEM = 1u << 0,
	GUEST_SET_TIMEOUT = 1u << 1,
	GUEST_SET_ARENA = 1u << 2,
	GUEST_SET_PV_PER_PAGE = 1u << 3,
	GUEST_SET_DIRTY_LOG = 1u << 4,
	GUEST_SET_QEMU_ACCEL = 1u << 5,
	GUEST_SET_CPUS = 1u << 6,
};
/*
 * Read report.json back: its signature and op_index, and its guest object's
 * settings into cfg, each unless the command line gave it (given: the
 * GUEST_SET_* it gave; the backend only if cfg's is AUTO; the check mode
 * always, replay and minimize have no --check), and *guest_owned (the
 * image, or NULL).  Every member is checked for type and range before any is
 * used: 0, or -1 with a one-line err naming the file and the member.
 * op_index is checked against the script by the caller.
 */
int report_guest_load(const char *report_json, struct session_config *cfg, unsigned given,
                      char **guest_owned, uint64_t *signature, uint64_t *op_index, char *err,
                      size_t errlen);

#endif /* PTSHADOW_REPORT_H */
