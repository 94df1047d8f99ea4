/* src/ops/ops_group.h - the parser's side of `par {` ... `}` blocks
 * (src/ops/ops_group.c), for src/ops/ops.c only.
 */
#ifndef PTSHADOW_OPS_GROUP_H
#define PTSHADOW_OPS_GROUP_H

#include "ops.h"

struct group_parse {
	bool open;       /* inside a block */
	unsigned line;   /* its `par {` line */
	size_t first;    /* its first op's index */
	uint32_t number; /* blocks opened so far: the open one's group number */
};

/* where a message goes and which line it names */
struct group_error {
	char *err;
	size_t errlen;
	unsigned line;
};

/* A `par {` or `}` line: 1 (taken), 0 (not such a line), -1 (error). */
int group_line(struct group_parse *g, struct script *s, const char *text,
               const struct ops_limits *lim, struct group_error *e);
/* An op parsed inside an open block gets its group (0, or -1: refused). */
int group_add(struct group_parse *g, const struct script *s, struct script_op *sop,
              struct group_error *e);
/* At the end of the text: an open block is an error naming its line. */
int group_end(const struct group_parse *g, const struct script *s, char *err, size_t errlen);

#endif /* PTSHADOW_OPS_GROUP_H */
