/* lib/bug.h - an internal error: a part of ptshadow met a row of a table
 * it is driven by (an op kind of PTS_OP_TABLE, an argument code) that it has
 * no rule for.  No guest memory and no user input leads here, only a change
 * that forgot a place; so it says where and aborts, and a test sees it.
 */
#ifndef PTSHADOW_LIB_BUG_H
#define PTSHADOW_LIB_BUG_H

#include <stdio.h>
#include <stdlib.h>

#define PTS_BUG(...)                                                                               \
	(fprintf(stderr, "ptshadow: internal error at %s:%d: ", __FILE__, __LINE__),               \
	 fprintf(stderr, __VA_ARGS__), fputc('\n', stderr), abort())

#endif /* PTSHADOW_LIB_BUG_H */
