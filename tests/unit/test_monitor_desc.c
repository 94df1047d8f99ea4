/* tests/unit/test_monitor_desc.c - descriptor validation refuses each kind of
 * bad descriptor with one line naming the field; the kernel-VA view
 * translates through the direct map, the image window and the page table.
 */
#include "monitor_tc.h"

#include "desc.h"

Suite *suite_monitor_desc(void);

typedef void (*mutate_fn)(struct pts_descriptor *d);

#define MUT(name, stmt)                                                                            \
	static void name(struct pts_descriptor *d)                                                 \
	{                                                                                          \
		stmt;                                                                              \
	}
MUT(bad_magic, d->magic = 0x12345678)
MUT(bad_version, d->abi_version = 99)
MUT(bad_size, d->size -= 8)
MUT(bad_page_size, d->page_size = 8192)
MUT(off_past_struct, d->off_vmp_flags = d->vm_page_size - 2)
MUT(off_unaligned, d->off_pve_va = 3)
MUT(pmap_off_past, d->off_pm_slot = d->pmap_size)
MUT(hash_too_big, d->ptp_hash_size = 400)
MUT(hash_zero, d->ptp_hash_size = 0)
MUT(pte_bits_same, d->pte_managed_bit = d->pte_wired_bit)
MUT(pte_bit_hw, d->pte_wired_bit = 1ull << 1)
MUT(pte_bit_two, d->pte_wired_bit = 3ull << 9)
MUT(rule_refcount, d->ptp_refcount_rule = 9)
MUT(rule_resident, d->resident_rule = 0)
MUT(rule_hash, d->ptp_hash_rule = 7)
MUT(user_max_zero, d->user_max = 0)
MUT(user_max_high, d->user_max = 1ull << 48)
MUT(slots_reversed, (d->kernel_slot_first = 400, d->kernel_slot_last = 300))
MUT(slots_user, d->kernel_slot_first = 10)
MUT(dmap_user, d->dmap_base = 0x1000)
MUT(dmap_noncanonical, d->dmap_base = 0x0000900000000000ull)
MUT(dmap_wraps, d->dmap_size = ~0ull - 0xfff)
MUT(dmap_bigger_than_ram, d->dmap_size = 1ull << 40)
MUT(kernel_outside_ram, d->kern_pa = 1ull << 40)
MUT(windows_overlap, d->kenter_base = d->pv_kva_base)
MUT(vm_pages_too_many, d->vm_page_count = 1ull << 40)
MUT(vm_page_size_zero, d->vm_page_size = 0)
MUT(arena_outside, d->arena_first_pfn = d->vm_page_count)
MUT(arena_too_big, d->arena_npages = d->vm_page_count + 1)
MUT(pmap_user_kva, d->kernel_pmap = 0x400000)
MUT(ledger_noncanonical, d->tlb_ledger = 0x8000000000000000ull)
MUT(ring_outside, d->ring_pa = 1ull << 40)
MUT(pv_entry_huge, d->pv_entry_size = 4000)
MUT(item_offset_big, d->pool_item_offset = 4090)
MUT(pool_size_big, d->pool_size = 8192)
/* limits on the host work a descriptor can ask for (docs/architecture.md, Limits) */
MUT(kenter_window_huge, d->kenter_size = 256ull << 30)
MUT(kenter_window_past_abi, d->kenter_size = (PTS_KENTER_PAGES + 1ull) * PTS_PAGE_SIZE)
MUT(vm_page_size_page, d->vm_page_size = PTS_PAGE_SIZE)
MUT(vm_page_size_past_limit, d->vm_page_size = DESC_VM_PAGE_SIZE_MAX + 8)
MUT(window_to_top, (d->pv_kva_size = 0 - d->pv_kva_base, d->kenter_base = 0xfffffe0000000000ull))
MUT(pv_entry_overlapping, (d->pv_entry_size = 16, d->off_pve_next = 0, d->off_pve_pmap = 8,
                           d->off_pve_va = 0, d->off_pve_ptp = 8))
/* lock words (ABI 5): a hostile array or word is refused before any read */
MUT(pm_lock_past, d->off_pm_lock = d->pmap_size - 2)
MUT(lock_word_wide, d->lock_word_size = 8)
MUT(lock_free_is_owner, (d->lock_free = 3, d->lock_owner_base = 1))
MUT(lock_owner_wraps, d->lock_owner_base = UINT32_MAX - 2)
MUT(pv_locks_huge_count, d->pv_lock_count = UINT32_MAX)
MUT(pv_locks_past_limit, d->pv_lock_count = DESC_PV_LOCKS_MAX + 1)
MUT(pv_lock_stride_zero, d->pv_lock_stride = 0)
MUT(pv_lock_stride_huge, d->pv_lock_stride = 1u << 20)
MUT(pv_locks_out_of_ram, d->pv_locks = d->dmap_base + d->dmap_size - 8)
MUT(pv_locks_unmapped, d->pv_locks = d->kenter_base)
MUT(pv_locks_noncanonical, d->pv_locks = 0x0000900000000000ull)
MUT(pv_locks_wrap, (d->pv_locks = UINT64_MAX - 3, d->pv_lock_count = 2))
MUT(pv_locks_unaligned, d->pv_locks += 2)
MUT(global_lock_out_of_ram, d->locks[PTS_LOCK_POOL] = d->dmap_base + d->dmap_size)
MUT(global_lock_user, d->locks[PTS_LOCK_SHOOTDOWN] = 0x1000)

static const struct {
	const char *name;
	mutate_fn fn;
	const char *want; /* in the message */
} bad[] = {
    {"magic", bad_magic, "bad magic"},
    {"version", bad_version, "ABI version"},
    {"size", bad_size, "size"},
    {"page size", bad_page_size, "page size"},
    {"offset past struct", off_past_struct, "off_vmp_flags"},
    {"offset unaligned", off_unaligned, "off_pve_va"},
    {"pmap offset past", pmap_off_past, "off_pm_slot"},
    {"hash too big", hash_too_big, "ptp_hash_size"},
    {"hash zero", hash_zero, "ptp_hash_size"},
    {"pte bits same", pte_bits_same, "pte_wired_bit"},
    {"pte bit hw", pte_bit_hw, "pte_wired_bit"},
    {"pte bit two", pte_bit_two, "pte_wired_bit"},
    {"refcount rule", rule_refcount, "ptp_refcount_rule"},
    {"resident rule", rule_resident, "resident_rule"},
    {"hash rule", rule_hash, "ptp_hash_rule"},
    {"user_max zero", user_max_zero, "user_max"},
    {"user_max high", user_max_high, "user_max"},
    {"slots reversed", slots_reversed, "kernel slots"},
    {"slots in user", slots_user, "kernel slots"},
    {"dmap user", dmap_user, "dmap"},
    {"dmap noncanonical", dmap_noncanonical, "dmap"},
    {"dmap wraps", dmap_wraps, "dmap"},
    {"dmap > RAM", dmap_bigger_than_ram, "dmap_size"},
    {"kernel outside RAM", kernel_outside_ram, "kernel image"},
    {"windows overlap", windows_overlap, "overlap"},
    {"vm_page count", vm_pages_too_many, "vm_page array"},
    {"vm_page size", vm_page_size_zero, "vm_page_size"},
    {"arena outside", arena_outside, "arena"},
    {"arena too big", arena_too_big, "arena"},
    {"pmap user kva", pmap_user_kva, "kernel_pmap"},
    {"ledger", ledger_noncanonical, "tlb_ledger"},
    {"ring", ring_outside, "ring_pa"},
    {"pv entry size", pv_entry_huge, "pv_entry_size"},
    {"item offset", item_offset_big, "pool_item_offset"},
    {"pool size", pool_size_big, "pool_size"},
    {"kenter window of 256 GiB", kenter_window_huge, "kenter_size"},
    {"kenter window past the ABI's", kenter_window_past_abi, "kenter_size"},
    {"vm_page of a page", vm_page_size_page, "vm_page_size"},
    {"vm_page past the limit", vm_page_size_past_limit, "vm_page_size"},
    {"pv entry fields overlap", pv_entry_overlapping, "pv_entry_size"},
    {"pv window to the top of the address space over kenter", window_to_top, "overlap"},
    {"pm_lock past the pmap", pm_lock_past, "off_pm_lock"},
    {"8-byte lock words", lock_word_wide, "lock_word_size"},
    {"free word names a CPU", lock_free_is_owner, "lock_free"},
    {"owner base wraps", lock_owner_wraps, "lock_free"},
    {"pv locks: count 2^32-1", pv_locks_huge_count, "pv_lock_count"},
    {"pv locks: past the limit", pv_locks_past_limit, "pv_lock_count"},
    {"pv locks: stride 0", pv_lock_stride_zero, "pv_lock_stride"},
    {"pv locks: stride 1 MiB", pv_lock_stride_huge, "pv_lock_stride"},
    {"pv locks: past the end of RAM", pv_locks_out_of_ram, "pv_locks"},
    {"pv locks: in the kenter window", pv_locks_unmapped, "pv_locks"},
    {"pv locks: noncanonical", pv_locks_noncanonical, "pv_locks"},
    {"pv locks: wrap the address space", pv_locks_wrap, "pv_locks"},
    {"pv locks: unaligned", pv_locks_unaligned, "pv_locks"},
    {"pool lock past the end of RAM", global_lock_out_of_ram, "locks[1]"},
    {"shootdown lock a user address", global_lock_user, "locks[0]"},
};
#define NBAD ((int)(sizeof bad / sizeof bad[0]))

static struct monitor *create(struct synth *s, gpa_t at, char *err, size_t len)
{
	return monitor_create(&s->gmem, at, NULL, err, len);
}

START_TEST(test_valid_accepted)
{
	struct synth *s = synth_new();
	char err[256] = "";
	struct monitor *m = create(s, s->desc_pa, err, sizeof err);
	ck_assert_msg(m != NULL, "%s", err);
	ck_assert_uint_eq(tc_monitor_descriptor(m)->arena_npages, SYNTH_ARENA_PAGES);
	monitor_destroy(m);
	synth_free(s);
}
END_TEST

START_TEST(test_bad_refused)
{
	struct synth *s = synth_new();
	struct pts_descriptor d = s->desc;
	char err[256] = "";
	bad[_i].fn(&d);
	memcpy(s->mem + s->desc_pa, &d, sizeof d);
	struct monitor *m = create(s, s->desc_pa, err, sizeof err);
	ck_assert_msg(m == NULL, "%s accepted", bad[_i].name);
	ck_assert_msg(strncmp(err, "descriptor: ", 12) == 0, "%s: %s", bad[_i].name, err);
	ck_assert_msg(strstr(err, bad[_i].want) != NULL, "%s: '%s' lacks '%s'", bad[_i].name, err,
	              bad[_i].want);
	ck_assert_msg(strchr(err, '\n') == NULL, "%s: more than one line", bad[_i].name);
	synth_free(s);
}
END_TEST

/* each limit's own value is accepted; a window larger than RAM only bounds the lists by RAM */
START_TEST(test_limits_accepted)
{
	struct synth *s = synth_new();
	struct pts_descriptor d = s->desc;
	char err[256] = "";
	d.kenter_size = DESC_KENTER_SIZE_MAX;
	d.vm_page_size = DESC_VM_PAGE_SIZE_MAX;
	d.pv_entry_size = DESC_PV_ENTRY_SIZE_MIN;
	d.pv_kva_size = 1ull << 40;
	d.pv_lock_count = DESC_PV_LOCKS_MAX; /* 4096 words 4 bytes apart, in the direct map */
	d.pv_lock_stride = 4;
	d.pv_locks = d.dmap_base + d.dmap_size - 4ull * DESC_PV_LOCKS_MAX;
	ck_assert_msg(desc_validate(&d, &s->gmem, err, sizeof err) == 0, "%s", err);
	d.pv_lock_count = 0; /* no pv-list locks: nothing to read */
	d.pv_locks = 0;
	d.locks[PTS_LOCK_LEDGER] = 0; /* a lock the guest does not have */
	ck_assert_msg(desc_validate(&d, &s->gmem, err, sizeof err) == 0, "%s", err);
	uint64_t ram_pages = SYNTH_RAM / PTS_PAGE_SIZE,
	         per_page = (PTS_PAGE_SIZE - d.pool_item_offset) / d.pv_entry_size;
	ck_assert_msg(desc_max_pool_pages(&d, &s->gmem) == ram_pages + 1,
	              "pv_kva_size 1 TiB: %llu pool pages followed",
	              (unsigned long long)desc_max_pool_pages(&d, &s->gmem));
	ck_assert_msg(desc_max_pv(&d, &s->gmem) == ram_pages * per_page + 1,
	              "pv_kva_size 1 TiB: %llu pv entries followed",
	              (unsigned long long)desc_max_pv(&d, &s->gmem));
	d.pv_kva_size = 16 * PTS_PAGE_SIZE; /* a window smaller than RAM bounds them itself */
	ck_assert_uint_eq(desc_max_pool_pages(&d, &s->gmem), 17);
	synth_free(s);
}
END_TEST

START_TEST(test_bad_address)
{
	struct synth *s = synth_new();
	char err[256];
	ck_assert_ptr_null(create(s, SYNTH_RAM - 8, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "cannot read"));
	ck_assert_ptr_null(create(s, s->desc_pa + 4, err, sizeof err));
	ck_assert_ptr_null(create(s, UINT64_MAX - 16, err, sizeof err));
	synth_free(s);
}
END_TEST

START_TEST(test_bad_check_spec)
{
	struct synth *s = synth_new();
	struct monitor_config cfg = {.check_spec = "-TLB,-NOPE-7"};
	char err[256];
	ck_assert_ptr_null(monitor_create(&s->gmem, s->desc_pa, &cfg, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "NOPE-7"));
	synth_free(s);
}
END_TEST

START_TEST(test_kva_view)
{
	struct tc t;
	tc_start(&t);
	const struct pts_descriptor *d = &t.s->desc;
	struct kview kv;
	gpa_t pa;
	kview_init(&kv, d, &t.s->gmem);
	kv.kernel_root = synth_r64(t.s, synth_pmap_pa(t.s, SYNTH_KERNEL_SLOT) + SYN_PM_PML4);
	ck_assert_int_eq(kva_to_gpa(&kv, d->dmap_base + 0x12345, &pa), 0);
	ck_assert_uint_eq(pa, 0x12345);
	ck_assert_int_eq(kva_to_gpa(&kv, d->kernbase + d->kern_pa + 8, &pa), 0);
	ck_assert_uint_eq(pa, d->kern_pa + 8);
	ck_assert_int_eq(kva_to_gpa(&kv, d->pv_kva_base + 72, &pa), 0); /* walked */
	ck_assert_uint_eq(pa, synth_kva_pa(t.s, d->pv_kva_base + 72));
	ck_assert_int_eq(kva_to_gpa(&kv, d->pv_kva_base + 0x100000, &pa), GMEM_ERANGE);
	ck_assert_int_eq(kva_to_gpa(&kv, 0x400000, &pa), GMEM_ERANGE);
	ck_assert_int_eq(kva_to_gpa(&kv, 0x0000900000000000ull, &pa), GMEM_ERANGE);
	uint64_t v;
	ck_assert_int_eq(kva_read_u64(&kv, d->dmap_base + SYNTH_RAM - 4, &v), GMEM_EALIGN);
	uint8_t buf[16];
	ck_assert_int_ne(kva_read(&kv, d->dmap_base + SYNTH_RAM - 8, buf, 16),
	                 0); /* runs off the dmap */
	kview_free(&kv);
	tc_end(&t);
}
END_TEST

Suite *suite_monitor_desc(void)
{
	Suite *s = suite_create("monitor_desc");
	TCase *tc = tcase_create("descriptor");
	tcase_add_test(tc, test_valid_accepted);
	tcase_add_loop_test(tc, test_bad_refused, 0, NBAD);
	tcase_add_test(tc, test_limits_accepted);
	tcase_add_test(tc, test_bad_address);
	tcase_add_test(tc, test_bad_check_spec);
	tcase_add_test(tc, test_kva_view);
	suite_add_tcase(s, tc);
	return s;
}
