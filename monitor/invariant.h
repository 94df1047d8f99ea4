/* monitor/invariant.h - the invariant table: stable id, family, short name,
 * meaning and check function of every invariant, and --check spec parsing.
 */
#ifndef MONITOR_INVARIANT_H
#define MONITOR_INVARIANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct check;
typedef void (*invariant_fn)(struct check *c);

struct invariant {
	const char *id;     /* "PV-1": family, dash, number; never reused */
	const char *name;   /* "pv-for-pte" */
	const char *family; /* "PV" */
	const char *meaning;
	/* the check, full or incremental: it looks at what its struct check's
	 * scope names (check_ctx.h) */
	invariant_fn fn;
};

#define INV_MAX 64

/* the table, in id order */
size_t invariant_count(void);
const struct invariant *invariant_at(size_t i);
/* by exact id ("PV-1"), or NULL */
const struct invariant *invariant_find(const char *id);
/* index in the table, or -1 */
int invariant_index(const struct invariant *inv);

/* which invariants are checked */
struct inv_set {
	bool on[INV_MAX];
};

void inv_set_all(struct inv_set *s, bool on);
/*
 * Apply a spec to s: comma-separated items, each "ID", "FAMILY", "all" or
 * "none", with an optional '+' (enable, the default) or '-' (disable);
 * applied left to right: "-TLB,-POOL-3", "none,+PV,+CNT-1".  0, or -1 with
 * a one-line message naming the bad item.
 */
int inv_set_parse(struct inv_set *s, const char *spec, char *err, size_t errlen);

/* `ptshadow invariants`: a plain-text table, or markdown for docs/invariants.md */
void invariants_print_text(FILE *out);
void invariants_print_markdown(FILE *out);

#endif /* MONITOR_INVARIANT_H */
