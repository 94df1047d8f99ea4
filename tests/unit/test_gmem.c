/* tests/unit/test_gmem.c - the one checked guest-memory accessor (the monitor
 * reads through it, the VMM takes its pointers from it): range, last byte,
 * overflow, alignment, the memory hole, little-endian reads, the dirty-page
 * hook.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "gmem.h"

Suite *suite_gmem(void);

static uint8_t ram[8192];
static const struct gmem mem = {.base = ram, .size = sizeof ram};

static void fill(void)
{
	for (size_t i = 0; i < sizeof ram; i++)
		ram[i] = (uint8_t)i;
}

START_TEST(test_read_inside)
{
	uint8_t buf[16];
	fill();
	ck_assert_int_eq(gmem_read(&mem, 100, buf, sizeof buf), GMEM_OK);
	ck_assert_int_eq(buf[0], 100);
	ck_assert_int_eq(gmem_read(&mem, sizeof ram - 16, buf, 16), GMEM_OK);
	ck_assert_int_eq(gmem_read(&mem, sizeof ram, buf, 0), GMEM_OK);
}
END_TEST

START_TEST(test_read_outside)
{
	uint8_t buf[16];
	memset(buf, 0xaa, sizeof buf);
	ck_assert_int_eq(gmem_read(&mem, sizeof ram - 15, buf, 16), GMEM_ERANGE);
	ck_assert_int_eq(gmem_read(&mem, sizeof ram + 1, buf, 0), GMEM_ERANGE);
	ck_assert_int_eq(gmem_read(&mem, UINT64_MAX - 3, buf, 8), GMEM_ERANGE);
	ck_assert_int_eq(gmem_read(&mem, 8, buf, SIZE_MAX), GMEM_ERANGE);
	ck_assert_int_eq(buf[0], 0xaa); /* untouched on error */
	ck_assert(!gmem_contains(&mem, 4096, UINT64_MAX - 100));
	ck_assert(gmem_contains(&mem, 0, sizeof ram));
}
END_TEST

START_TEST(test_alignment)
{
	uint64_t v;
	uint8_t b[8];
	ck_assert_int_eq(gmem_read_u64(&mem, 4, &v), GMEM_EALIGN);
	ck_assert_int_eq(gmem_read_aligned(&mem, 2, b, 4, 4), GMEM_EALIGN);
	ck_assert_int_eq(gmem_read_aligned(&mem, 16, b, 8, 3), GMEM_EINVAL);
	ck_assert_int_eq(gmem_read_aligned(&mem, 16, b, 8, 0), GMEM_EINVAL);
	ck_assert_int_eq(gmem_read_aligned(&mem, 4096, b, 8, 4096), GMEM_OK);
}
END_TEST

START_TEST(test_typed_little_endian)
{
	uint64_t v;
	uint8_t b[8];
	fill();
	ck_assert_int_eq(gmem_read_u64(&mem, 8, &v), GMEM_OK);
	ck_assert_uint_eq(v, 0x0f0e0d0c0b0a0908ull);
	ck_assert_int_eq(gmem_read_aligned(&mem, 4, b, 4, 4), GMEM_OK);
	ck_assert_uint_eq(le_field(b, 0, 4), 0x07060504u);
	ck_assert_int_eq(gmem_read_aligned(&mem, 2, b, 2, 2), GMEM_OK);
	ck_assert_uint_eq(le_field(b, 0, 2), 0x0302u);
	ck_assert_int_eq(gmem_read_aligned(&mem, 9, b, 1, 1), GMEM_OK);
	ck_assert_uint_eq(le_field(b, 0, 1), 9);
	ck_assert_uint_eq(le_field(ram, 4, 4), 0x07060504u);
	ck_assert_uint_eq(le_field(ram, 8, 8), 0x0f0e0d0c0b0a0908ull);
}
END_TEST

/* the reads refuse the hole as the pointers do: a monitor reading a QEMU
 * guest of more than 3 GiB never touches the unmapped range */
START_TEST(test_read_hole)
{
	const struct gmem holed = {
	    .base = ram, .size = sizeof ram, .hole_start = 0x1000, .hole_end = 0x1800};
	uint8_t buf[16];
	uint64_t v;
	fill();
	memset(buf, 0xaa, sizeof buf);
	ck_assert_int_eq(gmem_read(&holed, 0xff8, buf, 8), GMEM_OK);
	ck_assert_int_eq(gmem_read(&holed, 0xff8, buf, 9), GMEM_ERANGE);
	ck_assert_int_eq(gmem_read_u64(&holed, 0x1000, &v), GMEM_ERANGE);
	ck_assert_int_eq(gmem_read_u64(&holed, 0x17f8, &v), GMEM_ERANGE);
	ck_assert_int_eq(gmem_read(&holed, 0x800, buf, 0x1800), GMEM_ERANGE); /* spans it */
	ck_assert_int_eq(gmem_read_u64(&holed, 0x1800, &v), GMEM_OK);
	ck_assert(!gmem_contains(&holed, 0x1400, 1));
	ck_assert(gmem_contains(&holed, 0x1800, sizeof ram - 0x1800));
	ck_assert_int_eq(gmem_check(&holed, 0x1400, 8, 8), GMEM_ERANGE);
}
END_TEST

START_TEST(test_bad_arguments)
{
	uint8_t b[8];
	struct gmem none = {.base = NULL, .size = 100};
	ck_assert_int_eq(gmem_read(&none, 0, b, 8), GMEM_EINVAL);
	ck_assert_int_eq(gmem_read(NULL, 0, b, 8), GMEM_EINVAL);
	ck_assert_int_eq(gmem_read(&mem, 0, NULL, 8), GMEM_EINVAL);
	ck_assert_str_eq(gmem_strerror(GMEM_ERANGE), "outside guest RAM");
}
END_TEST

static bool only_page_one(void *ctx, gpa_t gpa)
{
	(void)ctx;
	return gpa >> 12 == 1;
}

START_TEST(test_dirty_hook)
{
	struct gmem m = mem;
	ck_assert(gmem_page_dirty(&m, 0));
	m.page_dirty = only_page_one;
	ck_assert(!gmem_page_dirty(&m, 0));
	ck_assert(gmem_page_dirty(&m, 4100));
}
END_TEST

/* ---- gmem_ptr: the VMM's pointers into guest RAM ---------------------- */

#define SIZE 0x10000u

static uint8_t backing[SIZE];
static const struct gmem pmem = {.base = backing, .size = SIZE};

START_TEST(ptr_in_range)
{
	ck_assert_ptr_eq(gmem_ptr(&pmem, 0, 1, 1), backing);
	ck_assert_ptr_eq(gmem_ptr(&pmem, 0x1000, 0x100, 8), backing + 0x1000);
	ck_assert_ptr_eq(gmem_ptr(&pmem, 0, SIZE, 4096), backing);
}
END_TEST

START_TEST(ptr_last_byte)
{
	ck_assert_ptr_eq(gmem_ptr(&pmem, SIZE - 1, 1, 1), backing + SIZE - 1);
	ck_assert_ptr_eq(gmem_ptr(&pmem, SIZE - 8, 8, 8), backing + SIZE - 8);
}
END_TEST

START_TEST(ptr_one_past_end)
{
	ck_assert_ptr_null(gmem_ptr(&pmem, SIZE, 1, 1));
	ck_assert_ptr_null(gmem_ptr(&pmem, SIZE - 1, 2, 1));
	ck_assert_ptr_null(gmem_ptr(&pmem, SIZE - 8, 9, 8));
	ck_assert_ptr_null(gmem_ptr(&pmem, 0, SIZE + 1, 1));
}
END_TEST

/* An empty range ending at the end of RAM is inside it; one beyond is not. */
START_TEST(ptr_len_zero_at_end)
{
	ck_assert_ptr_eq(gmem_ptr(&pmem, SIZE, 0, 1), backing + SIZE);
	ck_assert_ptr_eq(gmem_ptr(&pmem, 0x100, 0, 1), backing + 0x100);
	ck_assert_ptr_null(gmem_ptr(&pmem, SIZE + 1, 0, 1));
}
END_TEST

START_TEST(ptr_far_outside)
{
	ck_assert_ptr_null(gmem_ptr(&pmem, 1ull << 32, 8, 8));
	ck_assert_ptr_null(gmem_ptr(&pmem, 1ull << 63, 1, 1));
}
END_TEST

/* gpa + len wraps to a small number that would look in range */
START_TEST(ptr_overflow)
{
	ck_assert_ptr_null(gmem_ptr(&pmem, UINT64_MAX, 1, 1));
	ck_assert_ptr_null(gmem_ptr(&pmem, UINT64_MAX, 2, 1));
	ck_assert_ptr_null(gmem_ptr(&pmem, UINT64_MAX - 7, 16, 8));
	ck_assert_ptr_null(gmem_ptr(&pmem, 0x10, UINT64_MAX, 1));
	ck_assert_ptr_null(gmem_ptr(&pmem, 1, UINT64_MAX, 1));
	ck_assert_ptr_null(gmem_ptr(&pmem, UINT64_MAX - 0xfff, 0x1010, 1));
}
END_TEST

START_TEST(ptr_misaligned)
{
	ck_assert_ptr_null(gmem_ptr(&pmem, 0x1004, 8, 8));
	ck_assert_ptr_null(gmem_ptr(&pmem, 0x1001, 2, 2));
	ck_assert_ptr_null(gmem_ptr(&pmem, 0x1800, 16, 4096));
	ck_assert_ptr_null(gmem_ptr(&pmem, 0x1020, 8, 64));
	ck_assert_ptr_eq(gmem_ptr(&pmem, 0x1040, 8, 64), backing + 0x1040);
	ck_assert_ptr_eq(gmem_ptr(&pmem, 0x1003, 8, 1), backing + 0x1003);
}
END_TEST

START_TEST(ptr_bad_align_argument)
{
	ck_assert_ptr_null(gmem_ptr(&pmem, 0x1000, 8, 0));
	ck_assert_ptr_null(gmem_ptr(&pmem, 0x1000, 8, 3));
	ck_assert_ptr_null(gmem_ptr(&pmem, 0x1000, 8, 12));
	ck_assert_ptr_null(gmem_ptr(&pmem, 0, 8, UINT64_MAX));
}
END_TEST

START_TEST(ptr_null_memory)
{
	const struct gmem none = {.base = NULL, .size = SIZE};

	ck_assert_ptr_null(gmem_ptr(NULL, 0, 1, 1));
	ck_assert_ptr_null(gmem_ptr(&none, 0, 1, 1));
}
END_TEST

START_TEST(ptr_empty_memory)
{
	const struct gmem empty = {.base = backing, .size = 0};

	ck_assert_ptr_null(gmem_ptr(&empty, 0, 1, 1));
}
END_TEST

/* QEMU's layout: RAM, a hole with nothing mapped, RAM again above it */
START_TEST(ptr_hole_is_outside)
{
	const struct gmem holed = {
	    .base = backing, .size = SIZE, .hole_start = 0x4000, .hole_end = 0x8000};

	ck_assert_ptr_eq(gmem_ptr(&holed, 0x3ff8, 8, 8), backing + 0x3ff8);
	ck_assert_ptr_null(gmem_ptr(&holed, 0x3ff8, 9, 1)); /* last byte in the hole */
	ck_assert_ptr_null(gmem_ptr(&holed, 0x4000, 1, 1));
	ck_assert_ptr_null(gmem_ptr(&holed, 0x7fff, 1, 1));
	ck_assert_ptr_null(gmem_ptr(&holed, 0x3000, 0x6000, 1)); /* spans it */
	ck_assert_ptr_eq(gmem_ptr(&holed, 0x8000, 0x1000, 4096), backing + 0x8000);
}
END_TEST

Suite *suite_gmem(void)
{
	Suite *s = suite_create("gmem");
	TCase *tc = tcase_create("gmem");
	tcase_add_test(tc, test_read_inside);
	tcase_add_test(tc, test_read_outside);
	tcase_add_test(tc, test_read_hole);
	tcase_add_test(tc, test_alignment);
	tcase_add_test(tc, test_typed_little_endian);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_dirty_hook);
	suite_add_tcase(s, tc);
	TCase *tp = tcase_create("pointer");
	tcase_add_test(tp, ptr_in_range);
	tcase_add_test(tp, ptr_last_byte);
	tcase_add_test(tp, ptr_one_past_end);
	tcase_add_test(tp, ptr_len_zero_at_end);
	tcase_add_test(tp, ptr_far_outside);
	tcase_add_test(tp, ptr_overflow);
	tcase_add_test(tp, ptr_misaligned);
	tcase_add_test(tp, ptr_bad_align_argument);
	tcase_add_test(tp, ptr_null_memory);
	tcase_add_test(tp, ptr_empty_memory);
	tcase_add_test(tp, ptr_hole_is_outside);
	suite_add_tcase(s, tp);
	return s;
}
