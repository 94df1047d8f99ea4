/* src/fuzz/campaign_cov.c - coverage in a campaign: the shared map, the
 * jobs' harvests and guides, and what the parent writes of it. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "campaign_cov.h"
#include "cov.h"
#include "util.h"

static bool cov_on(const struct campaign_config *cfg)
{
	return cfg->coverage != COV_OFF && cfg->cov != NULL && cfg->cov->nedges > 0;
}

int campaign_cov_setup(const struct campaign_config *cfg, struct campaign_shared *sh)
{
	sh->cov_map = NULL;
	if (!cov_on(cfg))
		return 0;
	sh->cov_map =
	    mmap(NULL, cfg->cov->nedges, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh->cov_map == MAP_FAILED) {
		sh->cov_map = NULL;
		perror("ptshadow fuzz: coverage map");
		return -1;
	}
	return 0;
}

void campaign_cov_teardown(const struct campaign_config *cfg, struct campaign_shared *sh)
{
	if (sh->cov_map != NULL)
		munmap(sh->cov_map, cfg->cov->nedges);
	sh->cov_map = NULL;
}

void *campaign_cov_json(const struct campaign_config *cfg, const struct campaign_shared *sh)
{
	if (!cov_on(cfg) || sh->cov_map == NULL)
		return NULL;
	return cov_stats_json(cfg->coverage, cfg->cov, sh->cov_map);
}

int campaign_cov_save(const struct campaign_config *cfg, const struct campaign_shared *sh,
                      char *err, size_t errlen)
{
	if (!cov_on(cfg) || sh->cov_map == NULL)
		return 0;
	return cov_save(cfg->out, cfg->cov, sh->cov_map, err, errlen);
}

/* ---- a job ---------------------------------------------------------------- */

int job_cov_init(struct job_cov *jc, const struct campaign_config *cfg, unsigned job)
{
	char dir[PATH_MAX], err[512];

	*jc = (struct job_cov){.cfg = cfg};
	if (!cov_on(cfg))
		return 0;
	jc->seq = calloc(cfg->cov->nedges, 1);
	if (jc->seq == NULL)
		return -1;
	if (cfg->coverage != COV_GUIDE)
		return 0;
	snprintf(dir, sizeof(dir), "%s/corpus", cfg->out);
	jc->guide = guide_new(&cfg->profile, campaign_job_seed(cfg->seed, job),
	                      cfg->sess.arena_pages, cfg->cov->nedges, cfg->seq_len,
	                      mkdir_p(dir, err, sizeof(err)) == 0 ? dir : NULL, job);
	return jc->guide != NULL ? 0 : -1;
}

void job_cov_free(struct job_cov *jc)
{
	guide_free(jc->guide);
	free(jc->seq);
	jc->guide = NULL;
	jc->seq = NULL;
}

void job_cov_begin(struct job_cov *jc)
{
	if (jc->guide != NULL)
		guide_begin(jc->guide);
}

void job_cov_next(struct job_cov *jc, struct fuzz_gen *gen, struct script_op *out)
{
	if (jc->guide != NULL)
		guide_next(jc->guide, out);
	else
		fuzz_gen_next(gen, out);
}

void job_cov_end(struct job_cov *jc, struct campaign_shared *sh, struct session *s,
                 const struct script *sc, bool clean)
{
	char err[256];
	uint32_t n;

	if (jc->seq == NULL || sh->cov_map == NULL)
		return;
	n = jc->cfg->cov->nedges;
	if (cov_harvest(&s->vm.mem, s->vm.desc_gpa, jc->cfg->cov, jc->seq, err, sizeof(err)) != 0) {
		jc->bad_maps++; /* the guest's coverage is its own business: no finding */
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		if (jc->seq[i])
			sh->cov_map[i] = 1; /* the other jobs store 1 too: no lock */
	if (jc->guide != NULL && sc != NULL)
		guide_end(jc->guide, sc, jc->seq, clean);
}

void campaign_cov_summary(const struct campaign_config *cfg, const struct campaign_shared *sh)
{
	uint32_t hit;

	if (!cov_on(cfg) || sh->cov_map == NULL)
		return;
	hit = cov_count(sh->cov_map, cfg->cov->nedges);
	printf(
	    "  coverage   %s: %u of %u pmap edges (%.1f%%); per function: ptshadow coverage %s\n",
	    cov_mode_name(cfg->coverage), hit, cfg->cov->nedges, 100.0 * hit / cfg->cov->nedges,
	    cfg->out);
}
