/* src/fuzz/campaign_outputs.h - what a campaign writes beside stats.json, made
 * from it: a row of plot_data.csv every few seconds, metrics.prom (with
 * --metrics), and index.html every minute and at the end. */
#ifndef PTSHADOW_CAMPAIGN_OUTPUTS_H
#define PTSHADOW_CAMPAIGN_OUTPUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "campaign.h"
#include "plot.h"

/* a row of plot_data.csv and metrics.prom: every second in the first
 * minute (a short campaign still draws a line), then every 5 s */
#define CAMPAIGN_ROW_NS       5000000000ull
#define CAMPAIGN_ROW_FIRST_NS 1000000000ull
#define CAMPAIGN_ROW_FIRST_S  60
#define CAMPAIGN_PAGE_NS      60000000000ull /* index.html while the campaign runs */

struct campaign_outputs {
	struct plot_log plot;
	char error[512]; /* plot_data.csv could not be started: the first tick says so */
	uint64_t start_ns, last_row_ns, last_page_ns;
};

/* Start this campaign's run in OUT/plot_data.csv; a failure is kept for the
 * first tick to report (as stats.json's first write is where the campaign
 * learns that OUT takes nothing). */
void campaign_outputs_start(struct campaign_outputs *o, const struct campaign_config *cfg);
/* After stats.json was written: what is due (all of it when final).  0, or
 * -1 with err naming the file that could not be written. */
int campaign_outputs_tick(struct campaign_outputs *o, const struct campaign_config *cfg, bool final,
                          char *err, size_t errlen);

#endif /* PTSHADOW_CAMPAIGN_OUTPUTS_H */
