/* monitor/invariant.c - the invariant table.  Adding an invariant is adding
 * one entry here and one function in an inv_*.c file; ids are never reused.
 */
#include "invariant.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check_ctx.h"

static const struct invariant table[] = {
    /* pv <-> PTE */
    {"PV-1", "pv-for-pte", "PV",
     "Every valid managed leaf PTE (PG_PVLIST) of a user pmap has exactly one pv entry naming its "
     "(pmap, va) on the list of the page its frame points to.",
     inv_pv_for_pte},
    {"PV-2", "pte-for-pv", "PV",
     "Every pv entry on a page's list has a valid managed leaf PTE behind it: its pmap maps its "
     "va, "
     "and the frame of that PTE is the page whose list holds the entry.",
     inv_pte_for_pv},
    {"PV-3", "pv-ptp", "PV",
     "A pv entry's PTP back-pointer names the vm_page of the page-table page that holds its PTE, "
     "as found by the walk.",
     inv_pv_ptp},
    {"PV-4", "managed-bit", "PV",
     "The managed bit is set exactly on user leaf PTEs of arena pages; kernel and kenter mappings "
     "never carry it, and only arena pages have pv lists.",
     inv_managed_bit},
    {"PV-5", "pv-lists-sane", "PV",
     "pv lists are readable, acyclic and bounded; no pv entry is on two lists or twice on one, and "
     "no (pmap, va) appears twice on a list.",
     inv_pv_lists},
    {"PV-6", "pv-pmap-live", "PV",
     "Every pv entry names a live user pmap on the pmap list: after destroy no entry names the "
     "dead pmap.",
     inv_pv_pmap_live},
    /* counters */
    {"CNT-1", "resident-count", "CNT",
     "A user pmap's resident_count equals its valid user leaf PTEs, plus its PTPs below the PML4 "
     "when resident_rule is LEAVES_PLUS_PTPS.",
     inv_resident_count},
    {"CNT-2", "wired-count", "CNT",
     "A user pmap's wired_count equals its valid leaf PTEs with the wired bit.", inv_wired_count},
    {"CNT-3", "ptp-count", "CNT", "A user pmap's pm_ptp_count equals its PTPs below the PML4.",
     inv_ptp_count},
    {"CNT-4", "pmap-count", "CNT",
     "A page's md.pmap_count equals the number of managed PTEs (in all pmaps) that map it.",
     inv_pmap_count},
    {"CNT-5", "writeable-count", "CNT",
     "A page's md.writeable_count equals the number of its managed PTEs with PG_RW.",
     inv_writeable_count},
    {"CNT-6", "page-flags", "CNT",
     "PGF_MAPPED is set whenever pmap_count > 0 and PGF_WRITEABLE whenever writeable_count > 0 "
     "(they over-approximate and may stay set).",
     inv_page_flags},
    /* page-table pages */
    {"PTP-1", "ptp-refcount", "PTP",
     "A user PTP's wire_count is 1 + its valid entries (levels 1-3; the PML4 and the kernel pmap's "
     "tables are not counted).",
     inv_ptp_refcount},
    {"PTP-2", "ptp-one-parent", "PTP",
     "Each page-table page is reached from exactly one parent entry in its pmap: no cycle, no "
     "table entered twice, no table entry pointing outside guest RAM.",
     inv_ptp_one_parent},
    {"PTP-3", "ptp-not-shared", "PTP",
     "No page-table page (root included) belongs to two pmaps, apart from the kernel slots that "
     "every PML4 shares by copying the kernel pmap's entries.",
     inv_ptp_not_shared},
    {"PTP-4", "ptp-empty-freed", "PTP",
     "A user PTP below the PML4 with no valid entry has been unlinked and freed.",
     inv_ptp_empty_freed},
    {"PTP-5", "ptp-hash", "PTP",
     "Every user PTP below the PML4 is on its pmap's PTP hash, in the bucket of its (va, level), "
     "with ptp_pmap, ptp_va and ptp_level right; every page on the hash is such a live PTP.",
     inv_ptp_hash},
    {"PTP-6", "ptp-usage", "PTP",
     "Every page reached as a page table is a vm_page of usage PTP (not free, arena, pool or "
     "kernel), and every page of usage PTP is reached by the walk: no PTP leaks at the end of an "
     "op.",
     inv_ptp_usage},
    /* attributes */
    {"ATTR-1", "attr-harvest", "ATTR",
     "When a managed PTE is removed or its frame replaced, its A and D bits are merged into the "
     "saved attributes (REFERENCED, MODIFIED) of the page it mapped; in a group, not the bit a "
     "clear_reference (A) or clear_modify (D) of that page in it clears, which the end state "
     "cannot show (MODEL-3 judges the page's bits against every order).",
     inv_attr_harvest},
    {"ATTR-2", "d-needs-a", "ATTR",
     "D never appears without A: a PTE the op changed has D only if it has A, or kept its D from "
     "before with A cleared by clear_reference.",
     inv_attr_d_needs_a},
    {"ATTR-3", "reserved-bits", "ATTR",
     "No valid entry has reserved bits: bits 52-62 other than the pmap's software bits, PS in a "
     "PML4E, non-zero low frame bits of a PS leaf.",
     inv_attr_reserved},
    {"ATTR-4", "new-pte-clean", "ATTR",
     "A PTE written for a new mapping has A and D clear, and no PTE has D without RW when it is "
     "created.",
     inv_attr_new_pte},
    {"ATTR-5", "pte-encoding", "ATTR",
     "Leaf PTEs follow semantics.md: user leaves V|US|(RW)|(NX) without G, PWT or PCD; kenter "
     "leaves V|G|(RW)|(NX) without US; user intermediate entries V|RW|US without NX.",
     inv_attr_encoding},
    {"ATTR-6", "invalid-is-zero", "ATTR",
     "In a user pmap's tables an entry without P is 0: the pmap stores 0 when it removes a mapping "
     "and "
     "the MMU never writes a non-present entry, so a non-zero one is stale or half written (the "
     "pmap "
     "skips runs of zero entries relying on it).",
     inv_attr_invalid_zero},
    /* protection */
    {"PROT-1", "never-grants", "PROT",
     "No op other than enter and kenter grants a right: a PTE that keeps its frame never gains "
     "RW or US and never loses NX.",
     inv_prot_never_grants},
    {"PROT-2", "page-protect", "PROT",
     "After page_protect(r|rx) no managed mapping of the page is writable (nor executable for r); "
     "after page_protect(none) the page has no managed mapping and an empty pv list.",
     inv_prot_page_protect},
    {"PROT-3", "protect-range", "PROT",
     "After protect P VA END PROT every mapping of P in [VA, END) has rights within PROT.",
     inv_prot_protect_range},
    /* address space */
    {"AS-1", "user-bit", "AS",
     "US=1 only on entries that map below user_max; nothing in the kernel half is user-accessible.",
     inv_as_user_bit},
    {"AS-2", "kernel-slots", "AS",
     "The kernel PML4 slots of every user pmap are identical to the kernel pmap's, and user pmaps "
     "map nothing else there; the kernel pmap maps nothing below user_max.",
     inv_as_kernel_slots},
    {"AS-3", "direct-map", "AS",
     "The direct map maps dmap_base + x to physical x for all of [0, dmap_size), NX and "
     "supervisor-only.",
     inv_as_dmap},
    {"AS-4", "user-targets", "AS",
     "User leaves map only arena pages: never a page-table page, a pv pool page, a kernel page or "
     "a free page.",
     inv_as_user_targets},
    {"AS-5", "structures", "AS",
     "The pmap list, pmaps, vm_page array and curpmap are readable; slots and roots are distinct; "
     "each vm_page's phys_addr is its own frame; curpmap is a live pmap.",
     inv_as_structures},
    /* TLB */
    {"TLB-1", "downgrade-invalidated", "TLB",
     "Every downgrade (valid->invalid, RW->RO, frame change, X->NX, A->0, D->0) of a cached PTE "
     "(old A set) in an active pmap, or of a global PTE, has a covering invalidation in the ledger "
     "records of the op: PAGE, RANGE, ALL (non-global), ALL_GLOBAL or SWITCH.",
     inv_tlb_downgrade},
    {"TLB-2", "ptp-unlink-invalidated", "TLB",
     "A PTP unlinked from an active pmap has an invalidation within its VA span (or a full flush) "
     "in the same op, so it is freed only after the TLB forgot it.",
     inv_tlb_ptp_unlink},
    {"TLB-3", "ledger-sane", "TLB",
     "The TLB ledger is readable, its head never goes back nor past unread records (a wrapped "
     "ledger is a violation), each record's seq is its index and its kind is known.",
     inv_tlb_ledger},
    {"TLB-4", "touch-agrees", "TLB",
     "The hardware agrees with the model: a touch succeeds exactly when the model's mapping allows "
     "the access.",
     inv_tlb_touch},
    /* SMP (more than one CPU up) */
    {"SMP-1", "pm-active", "SMP",
     "pm_active of every user pmap is exactly the set of CPUs whose curpmap it is; each CPU's "
     "curpmap is a live pmap whose root is that CPU's CR3, the root its last ledger SWITCH "
     "loaded; the kernel pmap's pm_active holds every CPU up.",
     inv_smp_pm_active},
    {"SMP-2", "shootdown-at-rest", "SMP",
     "struct pts_smp is readable and well formed, and at a stop no shootdown is in flight: every "
     "CPU up is idle or busy with tlb_gen_acked = tlb_gen_sent <= tlb_gen; tlb_gen, the acks and "
     "the ipis counts never go back.",
     inv_smp_at_rest},
    {"SMP-3", "cpu-invalidated", "SMP",
     "When an op returns no CPU still holds a translation it took away: every downgrade of a "
     "cached PTE (A set) of a pmap whose root a CPU had in CR3 before or after the op, of a "
     "global PTE (every CPU), and every PTP unlinked from such a pmap, has a covering "
     "invalidation in that CPU's own ledger records of the op.",
     inv_smp_cpu_invalidated},
    {"SMP-4", "ledger-cpus", "SMP",
     "Every ledger record of an op names a CPU that is up, and a CPU that served a shootdown in "
     "the op (its ipis count rose) has ledger records of its own in it: an ack follows an "
     "invalidation.",
     inv_smp_ledger_cpus},
    /* before SMP-5: a shootdown that skips a CPU is the cause, a PTP freed under
     * that CPU the consequence; a run stops at the first finding */
    {"SMP-6", "shootdown-reaches-cr3", "SMP",
     "A shootdown reaches every CPU that runs on its pmap: at each SHOOT ledger record (the "
     "sender's CPU set, read from pm_active right after the PTE change), every CPU other than "
     "the sender whose root, replayed through the ledger's SWITCH records from the op's start, "
     "is the shot pmap's is in the set, and for the kernel pmap every CPU up is (checked on one "
     "CPU too).",
     inv_smp_shoot_reaches},
    {"SMP-5", "ptp-freed-after-invalidated", "SMP",
     "A page-table page is freed only after every CPU that may cache a walk through it forgot it: "
     "for each PTP the op freed (a FREE_PTP ledger record) and unlinked, every CPU whose root "
     "was its pmap's when the op began (every CPU for the kernel's) has a record of its own "
     "covering the span the PTP mapped, a full flush or a CR3 load, before the free's record "
     "(checked on one CPU too).",
     inv_smp_ptp_free},
    {"SMP-7", "invalidated-before-unlock", "SMP",
     "A CPU drops a user pmap's lock only after each CPU its shootdowns for that pmap went to "
     "has invalidated: for every UNLOCK ledger record (SMP only), each CPU in the sets of the "
     "same CPU's SHOOT records of that root since its last unlock has an invalidation record "
     "of its own (a CR3 load included) after the SHOOT and before the UNLOCK.",
     inv_smp_unlock_after_invalidate},
    /* locks (on one CPU too) */
    {"LOCK-1", "locks-free", "LOCK",
     "At a stop (between ops) every lock a pmap op takes is free: each live pmap's pm_lock "
     "(the kernel pmap's too), every pv-list lock, the shootdown, pv pool, free page list, pmap "
     "list and TLB ledger locks, read through the descriptor's lock words (ABI 5).  A held lock "
     "is named with its word and the CPU that holds it; the op that returned holding it is the "
     "finding's.",
     inv_locks_free},
    /* pv pool */
    {"POOL-1", "page-accounting", "POOL",
     "On every pool page, free-list length + nmissing = itemsperpage.", inv_pool_page_count},
    {"POOL-2", "page-lists", "POOL",
     "Pool pages are on the list of their state: empty pages nmissing 0, full pages nmissing = "
     "itemsperpage, partial ones in between; the lists are acyclic and bounded.",
     inv_pool_lists},
    {"POOL-3", "items", "POOL",
     "Free items sit at item boundaries of their own page; no item is both free and on a pv list; "
     "no item is on two free lists.",
     inv_pool_items},
    {"POOL-4", "pool-kva", "POOL",
     "Pool pages lie inside the pv KVA window, page aligned, mapped by the kernel pmap to pages of "
     "usage POOL; their headers are readable.",
     inv_pool_kva},
    {"POOL-5", "pool-totals", "POOL",
     "The pool's nitems, nout, npages and nidle equal the sums over its pages.", inv_pool_totals},
    {"POOL-6", "high-water", "POOL",
     "Idle (empty) pages held never exceed the high-water mark maxpages.", inv_pool_high_water},
    {"POOL-7", "no-leak", "POOL",
     "Allocated = reachable: nout equals the pv entries reachable from vm_page lists, and every pv "
     "entry lies in a pool page.",
     inv_pool_no_leak},
    /* model agreement */
    {"MODEL-1", "mappings", "MODEL",
     "The mappings the walker finds (per pmap slot and va: page, prot, wired; the kenter window: "
     "page, prot) and the set of live pmaps equal the reference model's.",
     inv_model_mappings},
    {"MODEL-2", "results", "MODEL",
     "Op results agree with the model: extract, is_modified and is_referenced answers, ok for "
     "valid ops, einval for invalid ones.",
     inv_model_results},
    {"MODEL-3", "mod-ref", "MODEL",
     "A page's modified (ATTR_MODIFIED or a managed PTE with D) and referenced (ATTR_REFERENCED or "
     "a managed PTE with A) state agrees with the model's prediction where it is known.",
     inv_model_attrs},
    {"MODEL-4", "contents", "MODEL",
     "After zero PG the page reads as zeros; after copy SRC DST, DST equals SRC.",
     inv_model_contents},
    {"MODEL-5", "failure-atomic", "MODEL",
     "enter canfail returns enomem only while a `fail alloc` is armed and the failing allocation "
     "is one it makes (and succeeds when it is not); an op that fails (enomem, einval) leaves "
     "every "
     "PTE, pmap counter, page's md state and the pool's nout as before.",
     inv_model_enomem},
};

size_t invariant_count(void)
{
	return sizeof table / sizeof table[0];
}

const struct invariant *invariant_at(size_t i)
{
	return i < invariant_count() ? &table[i] : NULL;
}

const struct invariant *invariant_find(const char *id)
{
	for (size_t i = 0; i < invariant_count(); i++)
		if (strcasecmp(table[i].id, id) == 0)
			return &table[i];
	return NULL;
}

int invariant_index(const struct invariant *inv)
{
	if (inv < table || inv >= table + invariant_count())
		return -1;
	return (int)(inv - table);
}

void inv_set_all(struct inv_set *s, bool on)
{
	for (size_t i = 0; i < INV_MAX; i++)
		s->on[i] = on && i < invariant_count();
}

static bool is_family(const char *name, size_t len)
{
	for (size_t i = 0; i < invariant_count(); i++)
		if (strlen(table[i].family) == len && strncasecmp(table[i].family, name, len) == 0)
			return true;
	return false;
}

static int apply_item(struct inv_set *s, const char *item, size_t len, char *err, size_t errlen)
{
	bool on = true;
	if (len > 0 && (item[0] == '+' || item[0] == '-')) {
		on = item[0] == '+';
		item++, len--;
	}
	if (len > 0 && item[len - 1] == '-') /* "TLB-" names the family */
		len--;
	char id[32];
	if (len == 0 || len >= sizeof id) {
		snprintf(err, errlen, "--check: empty or overlong item");
		return -1;
	}
	memcpy(id, item, len);
	id[len] = '\0';
	if (strcasecmp(id, "all") == 0 || strcasecmp(id, "none") == 0) {
		inv_set_all(s, on == (strcasecmp(id, "all") == 0));
		return 0;
	}
	const struct invariant *inv = invariant_find(id);
	if (inv != NULL) {
		s->on[invariant_index(inv)] = on;
		return 0;
	}
	if (!is_family(id, len)) {
		snprintf(err, errlen,
		         "--check: unknown invariant or family '%s' (see `ptshadow invariants`)",
		         id);
		return -1;
	}
	for (size_t i = 0; i < invariant_count(); i++)
		if (strcasecmp(table[i].family, id) == 0)
			s->on[i] = on;
	return 0;
}

int inv_set_parse(struct inv_set *s, const char *spec, char *err, size_t errlen)
{
	const char *p = spec ? spec : "";
	while (*p != '\0') {
		size_t len = strcspn(p, ", \t");
		if (len > 0 && apply_item(s, p, len, err, errlen) != 0)
			return -1;
		p += len;
		p += strspn(p, ", \t");
	}
	return 0;
}

/* ---- printing */

static void wrap(FILE *out, const char *text, const char *indent, size_t width)
{
	size_t col = 0;
	while (*text != '\0') {
		size_t w = strcspn(text, " ");
		if (col > 0 && col + 1 + w > width) {
			fprintf(out, "\n%s", indent);
			col = 0;
		} else if (col > 0) {
			fputc(' ', out);
			col++;
		} else {
			fputs(indent, out);
		}
		fwrite(text, 1, w, out);
		col += w;
		text += w;
		text += strspn(text, " ");
	}
	fputc('\n', out);
}

void invariants_print_text(FILE *out)
{
	for (size_t i = 0; i < invariant_count(); i++) {
		fprintf(out, "%-8s %s\n", table[i].id, table[i].name);
		wrap(out, table[i].meaning, "         ", 72);
	}
}

void invariants_print_markdown(FILE *out)
{
	const char *family = "";
	fprintf(out, "# Invariants\n\n"
	             "Generated by `ptshadow invariants --markdown` from the table in "
	             "`monitor/invariant.c`; do not edit.\n"
	             "Switch checks off with `--check`, e.g. `--check -TLB,-POOL-3`.\n");
	for (size_t i = 0; i < invariant_count(); i++) {
		if (strcmp(family, table[i].family) != 0) {
			family = table[i].family;
			fprintf(out, "\n## %s\n\n| id | name | meaning |\n|---|---|---|\n", family);
		}
		fprintf(out, "| `%s` | %s | %s |\n", table[i].id, table[i].name, table[i].meaning);
	}
}
