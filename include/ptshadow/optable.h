/* include/ptshadow/optable.h - the op kinds and results of the op language,
 * declared once: each kind's name, arguments, usage and possible results.
 *
 * abi.h includes this header; enum pts_op_kind and enum pts_result are made
 * from the tables below, so a row's place is its ABI number.  Every other
 * copy of a name is an expansion of these tables: the host's parser and
 * printer (src/ops/ops_format.c), `ptshadow ops --markdown` (the list in
 * docs/op-language.md, `make docs`), the guest's executor (guest/ops.c) and
 * the monitor's reports.  The argument codes drive the parser, the printer,
 * the guest's checks of a record and the fuzz generator's choices
 * (src/fuzz/fuzz_gen.c).
 *
 * Adding an op kind is:
 *   - a row at the end of PTS_OP_TABLE;
 *   - its handler in guest/ops.c (op_handlers: without one the guest does
 *     not compile);
 *   - its rule in monitor/model.c: when a record is valid and what it does.
 *     The model keeps its own validity rules, written from the semantics and
 *     not from the argument codes, so that it stays a reference independent
 *     of the parser and the guest; what it changes is what the incremental
 *     check's scope looks at (monitor/scope.c), so the scope needs nothing;
 *   - its semantics in docs/semantics.md, under "## Operations";
 *   - its weight in configs/fuzz/default.ini (the campaign of every kind);
 *   - and, for the monitor's own suites, its case in the synthetic guest
 *     (tests/lib/synth_pmap.c).
 * A place without it fails loudly (monitor/bug.h), and
 * tests/unit/test_optable.c runs every row through each of them.
 */
#ifndef PTSHADOW_OPTABLE_H
#define PTSHADOW_OPTABLE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Results, in ABI order: X(RESULT, word).  The word is how the op language
 * writes the result; PTS_RES_PAGE is written with the page's number after
 * it (pg7).  pending and einval are results no script may expect.
 */
#define PTS_RESULT_TABLE(X)                                                                        \
	X(PENDING, "pending") /* not yet executed */                                               \
	X(OK, "ok")                                                                                \
	X(ENOMEM, "enomem")                                                                        \
	X(TRUE, "true")                                                                            \
	X(FALSE, "false")                                                                          \
	X(FAULT, "fault")                                                                          \
	X(NONE, "none")                                                                            \
	X(PAGE, "pg")       /* extract: value = arena page index */                                \
	X(EINVAL, "einval") /* the guest refused a malformed record */

/* A set of results: PTS_RES_BIT(OK) | PTS_RES_BIT(ENOMEM). */
#define PTS_RES_BIT(result) (1u << PTS_RES_##result)

/*
 * Op kinds, in ABI order (kind 0 is PTS_OP_NONE): X(KIND, name, args,
 * synopsis, results, note).  name is the op's first token; its usage is
 * name and synopsis; results the set it may give; note a line for
 * docs/op-language.md.  args has one code a token, '[' starting the optional
 * ones:
 *   C  pmap name, to be created (the guest: a free slot)
 *   P  pmap name, alive (the guest: a live pmap)
 *   V  user VA                       E  END of a user range (> VA)
 *   K  k+OFF in the kenter window    L  k+END of a window range (> OFF)
 *   G  page pg<N>                    H  second page (copy's destination)
 *   R  prot r|rw|rx|rwx              Q  page_protect prot r|rx|none
 *   A  access r|w                    F  any of the flags wired, canfail
 *   a  the word alloc                N  count, decimal >= 1
 */
#define PTS_OP_TABLE(X)                                                                            \
	X(CREATE, "create", "C", "P", PTS_RES_BIT(OK), "the name must not be alive")               \
	X(DESTROY, "destroy", "P", "P", PTS_RES_BIT(OK), "")                                       \
	X(ACTIVATE, "activate", "P", "P", PTS_RES_BIT(OK), "")                                     \
	X(ENTER, "enter", "PVGR[F", "P VA PG PROT [wired] [canfail]",                              \
	  PTS_RES_BIT(OK) | PTS_RES_BIT(ENOMEM),                                                   \
	  "flags in any order, each at most once; `enomem` only with `canfail`")                   \
	X(REMOVE, "remove", "PV[E", "P VA [END]", PTS_RES_BIT(OK), "without `END`: one page")      \
	X(PROTECT, "protect", "PVER", "P VA END PROT", PTS_RES_BIT(OK), "")                        \
	X(UNWIRE, "unwire", "PV", "P VA", PTS_RES_BIT(OK), "")                                     \
	X(EXTRACT, "extract", "PV", "P VA", PTS_RES_BIT(NONE) | PTS_RES_BIT(PAGE), "")             \
	X(PAGE_PROTECT, "page_protect", "GQ", "PG r|rx|none", PTS_RES_BIT(OK), "")                 \
	X(CLEAR_MODIFY, "clear_modify", "G", "PG", PTS_RES_BIT(OK), "")                            \
	X(CLEAR_REFERENCE, "clear_reference", "G", "PG", PTS_RES_BIT(OK), "")                      \
	X(IS_MODIFIED, "is_modified", "G", "PG", PTS_RES_BIT(TRUE) | PTS_RES_BIT(FALSE), "")       \
	X(IS_REFERENCED, "is_referenced", "G", "PG", PTS_RES_BIT(TRUE) | PTS_RES_BIT(FALSE), "")   \
	X(TOUCH, "touch", "PVA", "P VA r|w", PTS_RES_BIT(OK) | PTS_RES_BIT(FAULT),                 \
	  "an access from the guest in P's address space")                                         \
	X(KENTER, "kenter", "KGR", "k+OFF PG PROT", PTS_RES_BIT(OK), "")                           \
	X(KREMOVE, "kremove", "K[L", "k+OFF [k+END]", PTS_RES_BIT(OK),                             \
	  "without `k+END`: one page")                                                             \
	X(ZERO, "zero", "G", "PG", PTS_RES_BIT(OK), "")                                            \
	X(COPY, "copy", "GH", "PG PG", PTS_RES_BIT(OK), "source, then destination")                \
	X(COLLECT, "collect", "P", "P", PTS_RES_BIT(OK), "")                                       \
	X(FAIL_ALLOC, "fail", "aN", "alloc N", PTS_RES_BIT(OK),                                    \
	  "the N-th counted allocation from now fails")

#define PTS_RESULT_ENUM(result, word) PTS_RES_##result,
enum pts_result { PTS_RESULT_TABLE(PTS_RESULT_ENUM) PTS_RES_COUNT };
#undef PTS_RESULT_ENUM

#define PTS_OP_ENUM(kind, ...) PTS_OP_##kind,
enum pts_op_kind { PTS_OP_NONE = 0, PTS_OP_TABLE(PTS_OP_ENUM) PTS_OP_COUNT };
#undef PTS_OP_ENUM

/* The numbers are ABI: a new kind or result goes at the end of its table. */
_Static_assert(PTS_OP_CREATE == 1 && PTS_OP_DESTROY == 2 && PTS_OP_ACTIVATE == 3 &&
                   PTS_OP_ENTER == 4 && PTS_OP_REMOVE == 5 && PTS_OP_PROTECT == 6 &&
                   PTS_OP_UNWIRE == 7 && PTS_OP_EXTRACT == 8 && PTS_OP_PAGE_PROTECT == 9 &&
                   PTS_OP_CLEAR_MODIFY == 10 && PTS_OP_CLEAR_REFERENCE == 11 &&
                   PTS_OP_IS_MODIFIED == 12 && PTS_OP_IS_REFERENCED == 13 && PTS_OP_TOUCH == 14 &&
                   PTS_OP_KENTER == 15 && PTS_OP_KREMOVE == 16 && PTS_OP_ZERO == 17 &&
                   PTS_OP_COPY == 18 && PTS_OP_COLLECT == 19 && PTS_OP_FAIL_ALLOC == 20,
               "op kind numbers are ABI: new kinds go at the end of PTS_OP_TABLE");
_Static_assert(PTS_RES_PENDING == 0 && PTS_RES_OK == 1 && PTS_RES_ENOMEM == 2 &&
                   PTS_RES_TRUE == 3 && PTS_RES_FALSE == 4 && PTS_RES_FAULT == 5 &&
                   PTS_RES_NONE == 6 && PTS_RES_PAGE == 7 && PTS_RES_EINVAL == 8,
               "result numbers are ABI: new results go at the end of PTS_RESULT_TABLE");
_Static_assert(PTS_RES_COUNT <= 32, "a set of results is a uint32_t");

/* The op's name ("enter", "fail"); NULL for PTS_OP_NONE and unknown kinds. */
static inline const char *pts_op_name(uint32_t kind)
{
	switch (kind) {
#define PTS_OP_NAME(kind, name, ...)                                                               \
	case PTS_OP_##kind:                                                                        \
		return name;
		PTS_OP_TABLE(PTS_OP_NAME)
#undef PTS_OP_NAME
	default:
		return NULL; /* not in the table */
	}
}

/* The op's argument codes ("PVGR[F"); NULL for PTS_OP_NONE and unknown kinds. */
static inline const char *pts_op_args(uint32_t kind)
{
	switch (kind) {
#define PTS_OP_ARGS(kind, name, args, ...)                                                         \
	case PTS_OP_##kind:                                                                        \
		return args;
		PTS_OP_TABLE(PTS_OP_ARGS)
#undef PTS_OP_ARGS
	default:
		return NULL; /* not in the table */
	}
}

/* The results the op may give, a set of PTS_RES_BIT; 0 for unknown kinds. */
static inline uint32_t pts_op_results(uint32_t kind)
{
	switch (kind) {
#define PTS_OP_RESULTS(kind, name, args, synopsis, results, ...)                                   \
	case PTS_OP_##kind:                                                                        \
		return results;
		PTS_OP_TABLE(PTS_OP_RESULTS)
#undef PTS_OP_RESULTS
	default:
		return 0; /* not in the table */
	}
}

/* The result's word ("ok", "pg"); NULL for unknown results. */
static inline const char *pts_result_name(uint32_t result)
{
	switch (result) {
#define PTS_RESULT_NAME(result, word)                                                              \
	case PTS_RES_##result:                                                                     \
		return word;
		PTS_RESULT_TABLE(PTS_RESULT_NAME)
#undef PTS_RESULT_NAME
	default:
		return NULL; /* not in the table */
	}
}

#endif /* PTSHADOW_OPTABLE_H */
