/* guest/cov.c - edge coverage of the pmap: the calls clang's trace-pc-guard
 * puts on every edge of the instrumented files land here and mark one byte
 * an edge in cov_map, which the host reads (struct pts_cov, abi.h).
 *
 * This file is compiled without instrumentation.  The map is sized by the
 * linker (guest/linker.ld): one byte per guard.  A byte is only ever set to
 * 1, so vCPUs racing on it need no lock; it is loaded first so that an edge
 * already reached costs no store (and no dirty page for the host's log).
 */
#include "kernel.h"

extern uint32_t __start___sancov_guards[], __stop___sancov_guards[];
extern uint8_t cov_map[]; /* linker.ld: (guards) / 4 bytes in .bss */

static struct pts_cov cov_header __aligned(64);

void __sanitizer_cov_trace_pc_guard(uint32_t *guard);
void __sanitizer_cov_trace_pc_guard_init(uint32_t *start, uint32_t *stop);
void __sanitizer_cov_pcs_init(const uintptr_t *start, const uintptr_t *end);

/* Called by clang's code on every edge. */
// cppcheck-suppress unusedFunction
__attribute__((optimize("omit-frame-pointer"))) void __sanitizer_cov_trace_pc_guard(uint32_t *guard)
{
	uint8_t *hit = &cov_map[guard - __start___sancov_guards];

	if (*hit == 0)
		*hit = 1;
}

/* Called by the module constructors clang adds, which this kernel never
 * runs (linker.ld discards .init_array): the map needs no numbering, an
 * edge's index is its guard's place in the section, and the PC table is the
 * host's to read from the ELF file. */
// cppcheck-suppress unusedFunction
void __sanitizer_cov_trace_pc_guard_init(uint32_t *start, uint32_t *stop) {}

// cppcheck-suppress unusedFunction
void __sanitizer_cov_pcs_init(const uintptr_t *start, const uintptr_t *end) {}

uint64_t cov_register(void)
{
	uint64_t n = (uint64_t)(__stop___sancov_guards - __start___sancov_guards);

	if (n == 0)
		return 0; /* built without coverage (make COVERAGE=0) */
	cov_header.magic = PTS_COV_MAGIC;
	cov_header.version = PTS_COV_VERSION;
	cov_header.nedges = (uint32_t)n;
	cov_header.map_pa = KVTOPHYS(cov_map);
	cov_header.guards_kva = (uint64_t)__start___sancov_guards;
	return KVTOPHYS(&cov_header);
}
