/* src/fuzz/campaign_cov.h - coverage in a campaign (`fuzz --coverage`): each
 * job reads the guest's map at the end of every sequence into one map the
 * jobs share (OR: byte stores of 1), and in guide mode feeds its guide; the
 * parent puts the shared map in stats.json and OUT/coverage.bin.
 */
#ifndef PTSHADOW_CAMPAIGN_COV_H
#define PTSHADOW_CAMPAIGN_COV_H

#include "campaign.h"
#include "guide.h"

/* parent, before the jobs: the shared map (cfg->cov NULL or without
 * edges: nothing).  0 or -1 (out of memory, said on stderr). */
int campaign_cov_setup(const struct campaign_config *cfg, struct campaign_shared *sh);
void campaign_cov_teardown(const struct campaign_config *cfg, struct campaign_shared *sh);
/* stats.json's "coverage" object, or NULL when coverage is off */
void *campaign_cov_json(const struct campaign_config *cfg, const struct campaign_shared *sh);
/* OUT/coverage.bin (nothing when off); 0 or -1 with err */
int campaign_cov_save(const struct campaign_config *cfg, const struct campaign_shared *sh,
                      char *err, size_t errlen);

/* the summary's line (nothing when off) */
void campaign_cov_summary(const struct campaign_config *cfg, const struct campaign_shared *sh);

/* One job's side. */
struct job_cov {
	const struct campaign_config *cfg;
	uint8_t *seq;        /* the guest's map at the end of a sequence */
	struct guide *guide; /* guide mode */
	uint64_t bad_maps;   /* sequences whose map the guest got wrong */
};

/* 0, or -1 (out of memory: the job fails with that) */
int job_cov_init(struct job_cov *jc, const struct campaign_config *cfg, unsigned job);
void job_cov_free(struct job_cov *jc);
/* a new sequence starts from the post-boot state */
void job_cov_begin(struct job_cov *jc);
/* the next op: the guide's in guide mode, else the generator's */
void job_cov_next(struct job_cov *jc, struct fuzz_gen *gen, struct script_op *out);
/* the sequence sc ends on s (before its reset or end); clean: no finding */
void job_cov_end(struct job_cov *jc, struct campaign_shared *sh, struct session *s,
                 const struct script *sc, bool clean);

#endif /* PTSHADOW_CAMPAIGN_COV_H */
