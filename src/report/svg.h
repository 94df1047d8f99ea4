/* src/report/svg.h - pictures as SVG: a finding's page-table walk (walk.svg in
 * its crash directory) and a whole pmap (`ptshadow dump --svg`).
 */
#ifndef PTSHADOW_SVG_H
#define PTSHADOW_SVG_H

#include <jansson.h>
#include <stdio.h>

/* what a picture shows at most; the rest is counted ("… N more") */
#define SVG_MAX_WALKS   3   /* walks of a finding */
#define SVG_MAX_OBJECTS 8   /* objects of a finding */
#define SVG_MAX_PV      6   /* pv entries of a page */
#define SVG_MAX_TABLES  128 /* tables of a pmap */
#define SVG_MAX_ROWS    32  /* non-empty entries of a table */

/*
 * A finding's picture, drawn from its report.json object alone (what the
 * monitor recorded: walks, objects, counters; docs/user-guide.md): the walk
 * from the root to each VA, entry by entry, before and after the op, the
 * entry the invariant names highlighted, beside the pv lists and counters
 * of the objects involved.  A finding with no walk (guest deaths, pool or
 * counter findings) gets its objects and a line that says there is no walk.
 * 0, or -1 when out cannot be written.
 */
int svg_finding(const json_t *report, FILE *out);

/*
 * A whole pmap, from monitor_pmap_json()'s object: every table from the
 * root down, its non-empty entries, runs of empty entries folded into one
 * line.  0, or -1 when out cannot be written.
 */
int svg_pmap(const json_t *pmap, FILE *out);

#endif /* PTSHADOW_SVG_H */
