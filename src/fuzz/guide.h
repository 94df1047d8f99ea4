/* src/fuzz/guide.h - coverage guidance (`fuzz --coverage guide`): a job's
 * corpus of op sequences that reached pmap edges the job had not reached
 * before, and new sequences made by mutating them (splice, insert, delete,
 * change an op's arguments, repeat a run of ops), as AFL and syzkaller do.
 *
 * Every op comes from the generator (src/fuzz/fuzz_gen.c): inserted and
 * changed ops are drawn by it, and every op taken from the corpus is passed
 * through fuzz_gen_observe, which drops those no longer valid where they
 * land (a pmap that is not alive there).  A job's guide draws from its own
 * random stream and learns from its own coverage only, so a seed gives the
 * same ops whatever the other jobs do.
 */
#ifndef PTSHADOW_GUIDE_H
#define PTSHADOW_GUIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "fuzz.h"

#define GUIDE_MAX_CORPUS 128 /* entries a job keeps; a new one then replaces one at random */

struct guide;

/* seq_len: ops a sequence (0: 1000).  corpus_dir: where each new entry is
 * written as <job>-<n>.ops (NULL: nowhere).  NULL when out of memory. */
struct guide *guide_new(const struct fuzz_profile *p, uint64_t seed, uint64_t arena_pages,
                        uint32_t nedges, uint64_t seq_len, const char *corpus_dir, unsigned job);
void guide_free(struct guide *g);
/* A new sequence from the post-boot state: a fresh one, or a corpus entry mutated. */
void guide_begin(struct guide *g);
void guide_next(struct guide *g, struct script_op *out);
/* The sequence ended (sc: its ops; map: the edges reached, guest boot
 * included; clean: it ended without a finding).  A clean sequence that
 * reached edges new to the job joins the corpus.  The number of new edges. */
uint32_t guide_end(struct guide *g, const struct script *sc, const uint8_t *map, bool clean);

#endif /* PTSHADOW_GUIDE_H */
