/* src/report/metrics.h - OUT/metrics.prom for long campaigns (fuzz --metrics):
 * the campaign's figures in the text format Prometheus's node_exporter
 * textfile collector reads, made from stats.json, replaced whole. */
#ifndef PTSHADOW_METRICS_H
#define PTSHADOW_METRICS_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define METRICS_FILE "metrics.prom"

/* The metrics of a stats.json object into f (members missing or of the
 * wrong type are left out). */
void metrics_render(FILE *f, const json_t *stats);
/* out/metrics.prom, written beside and renamed: 0, or -1 with err. */
int metrics_write(const char *out, const json_t *stats, char *err, size_t errlen);

#endif /* PTSHADOW_METRICS_H */
