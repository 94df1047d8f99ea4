/* src/cli/bench_cpus.c - a part of `ptshadow bench`: checked ops/s of a fuzz
 * campaign on two guest CPUs against the same campaign on one, in the same
 * run (docs/performance.md, "Two CPUs"): what the dirty log per vCPU buys.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "clock.h"
#include "cli.h"

#define CPUS_OPS 20000 /* ops a campaign: a few seconds on QEMU TCG here */

/* A campaign of one job on `cpus` CPUs into dir, checked as fuzz checks by
 * default: 0, or -1 */
static int cpus_config(struct campaign_config *c, const struct session_config *sess,
                       enum vm_backend_kind be, uint64_t seed, unsigned cpus)
{
	char err[256];

	c->sess = *sess;
	c->sess.backend = be;
	c->sess.cpus = cpus;
	c->sess.ring = c->sess.stop_each = c->sess.monitor = c->sess.snapshot = true;
	c->sess.incremental = true;
	c->sess.full_every = 1000;
	c->sess.console = NULL;
	c->seed = seed;
	c->max_ops = CPUS_OPS;
	c->jobs = 1;
	c->seq_len = 1000;
	c->quiet = true;
	return fuzz_profile_load("default", &c->profile, err, sizeof(err));
}

/* its checked ops/s (boot included), or 0 when it failed or was cut short */
static double cpus_campaign(const struct session_config *sess, enum vm_backend_kind be,
                            uint64_t seed, unsigned cpus)
{
	struct campaign_config c = {.out = NULL};
	char dir[] = "/tmp/ptshadow-bench-cpus-XXXXXX", cmd[128];
	double rate = 0;
	uint64_t t0;
	int rc;

	if (mkdtemp(dir) == NULL)
		return 0;
	if (cpus_config(&c, sess, be, seed, cpus) == 0) {
		c.out = dir;
		t0 = now_ns();
		rc = campaign_run_quiet(&c);
		if ((rc == EXIT_CLEAN || rc == EXIT_FINDING) && !vm_interrupted)
			rate = CPUS_OPS / ((now_ns() - t0) / 1e9);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "ptshadow bench: could not remove %s\n", dir);
	return rate;
}

void bench_cpus(const struct session_config *sess, enum vm_backend_kind be, uint64_t seed,
                json_t *out)
{
	const char *name = vm_backend_name(be);
	double rate[2] = {0, 0};

	if (vm_backend_cpus_max(be) < 2) {
		printf("  %s: 2 CPUs vs 1 not measured (the %s backend runs one vCPU)\n", name,
		       name);
		return;
	}
	fprintf(stderr, "bench %s: fuzz, %u ops on 1 CPU, then on 2\n", name, CPUS_OPS);
	for (unsigned k = 0; k < 2 && (k == 0 || rate[0] > 0); k++)
		rate[k] = cpus_campaign(sess, be, seed, k + 1);
	if (rate[0] <= 0 || rate[1] <= 0) {
		printf("  %s: 2 CPUs vs 1 not measured (a campaign failed)\n", name);
		return;
	}
	printf("  %s: 2 CPUs give %.2fx the checked ops/s of 1 (%.0f against %.0f ops/s, fuzz, "
	       "%u ops, seed %llu, 1 job, boots included)\n",
	       name, rate[1] / rate[0], rate[1], rate[0], CPUS_OPS, (unsigned long long)seed);
	json_object_set_new(out, name,
	                    json_pack("{s:f, s:f, s:f}", "cpus1_ops_per_s", rate[0],
	                              "cpus2_ops_per_s", rate[1], "ratio", rate[1] / rate[0]));
}
