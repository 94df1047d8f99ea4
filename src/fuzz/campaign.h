/* src/fuzz/campaign.h - a fuzz campaign: J jobs (processes, one VM each) that
 * generate ops, run them under the monitor, and write one crash directory
 * per distinct finding into a shared output directory.
 */
#ifndef PTSHADOW_CAMPAIGN_H
#define PTSHADOW_CAMPAIGN_H

#include "fuzz.h"
#include "session.h"

#define CAMPAIGN_MAX_JOBS     64
#define CAMPAIGN_MAX_FINDINGS 256

struct campaign_config {
	struct session_config sess;
	struct fuzz_profile profile;
	const char *out;
	uint64_t seed;
	uint64_t max_ops; /* 0 = no limit (then max_seconds) */
	uint64_t max_seconds;
	unsigned jobs;
	bool keep_going; /* continue after the first finding */
	bool minimize;
	uint64_t seq_len; /* restart the guest after this many ops (0 = only on findings) */
	bool quiet;
};

struct campaign_finding {
	char sig[17];
	char title[160];
	unsigned job;
	uint64_t ops_at_detection; /* ops the finding job had run */
	uint64_t repro_ops, min_ops;
	uint64_t min_ms;
};

struct job_stats {
	uint64_t ops;
	uint64_t findings; /* including repeats */
	uint64_t sessions; /* guest boots */
	uint64_t resets;   /* back to the post-boot snapshot without a boot */
	uint64_t check_ns;
	int done;
	int failed;
	char error[256];
};

struct campaign_shared {
	struct job_stats job[CAMPAIGN_MAX_JOBS];
	uint32_t nfindings;
	struct campaign_finding finding[CAMPAIGN_MAX_FINDINGS];
	volatile int stop; /* a job found something and keep_going is off */
};

/* Runs the campaign to the end; returns the exit status (0 clean, 1 findings). */
int campaign_run(const struct campaign_config *cfg);
/* One job (in its own process); exposed for tests. */
int campaign_job(const struct campaign_config *cfg, struct campaign_shared *sh, unsigned job,
                 uint64_t deadline_ns);
uint64_t campaign_job_seed(uint64_t seed, unsigned job);

#endif /* PTSHADOW_CAMPAIGN_H */
