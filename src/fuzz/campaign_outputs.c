/* src/fuzz/campaign_outputs.c - plot_data.csv, metrics.prom and index.html of a
 * campaign, each made from the stats.json the campaign has just written, so
 * that `ptshadow report` makes the same page from OUT alone. */
#include <stdio.h>
#include <string.h>

#include "campaign_outputs.h"
#include "clock.h"
#include "metrics.h"
#include "outdir.h"
#include "page.h"

void campaign_outputs_start(struct campaign_outputs *o, const struct campaign_config *cfg)
{
	char note[300];

	memset(o, 0, sizeof(*o));
	o->start_ns = o->last_page_ns = now_ns(); /* the first page after a minute, or at the end */
	snprintf(note, sizeof(note), "seed=%llu profile=%s jobs=%u backend=%s",
	         (unsigned long long)cfg->seed, cfg->profile.name, cfg->jobs,
	         vm_backend_name(cfg->sess.backend));
	plot_log_open(&o->plot, cfg->out, note, o->error, sizeof(o->error));
}

int campaign_outputs_tick(struct campaign_outputs *o, const struct campaign_config *cfg, bool final,
                          char *err, size_t errlen)
{
	uint64_t now = now_ns();
	struct plot_row row;
	json_t *stats;
	int rc = 0;
	uint64_t every = now - o->start_ns < CAMPAIGN_ROW_FIRST_S * 1000000000ull
	                     ? CAMPAIGN_ROW_FIRST_NS
	                     : CAMPAIGN_ROW_NS;

	if (o->error[0] != '\0') {
		snprintf(err, errlen, "%s", o->error);
		return -1;
	}
	if (!final && o->last_row_ns != 0 && now - o->last_row_ns < every)
		return 0;
	o->last_row_ns = now;
	/* stats.json was just written; if it could not be, the campaign is stopping already */
	stats = outdir_stats(cfg->out, err, errlen);
	if (stats == NULL)
		return 0;
	plot_row_from_stats(stats, &row);
	rc = plot_log_append(&o->plot, &row, err, errlen);
	if (rc == 0 && cfg->metrics)
		rc = metrics_write(cfg->out, stats, err, errlen);
	json_decref(stats);
	if (rc == 0 && (final || now - o->last_page_ns >= CAMPAIGN_PAGE_NS)) {
		o->last_page_ns = now;
		rc = page_write(cfg->out, err, errlen);
	}
	return rc;
}
