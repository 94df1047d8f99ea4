/* tests/unit/test_gpa.c - gpa_checked_ptr, the one door from a guest-physical
 * address to a host pointer: range, last byte, overflow, alignment.
 */
#include "testutil.h"

#include "vm.h"

Suite *suite_gpa(void);

#define SIZE 0x10000u

static uint8_t backing[SIZE];
static const struct guest_mem mem = { .base = backing, .size = SIZE };

START_TEST(in_range)
{
	ck_assert_ptr_eq(gpa_checked_ptr(&mem, 0, 1, 1), backing);
	ck_assert_ptr_eq(gpa_checked_ptr(&mem, 0x1000, 0x100, 8), backing + 0x1000);
	ck_assert_ptr_eq(gpa_checked_ptr(&mem, 0, SIZE, 4096), backing);
}
END_TEST

START_TEST(last_byte)
{
	ck_assert_ptr_eq(gpa_checked_ptr(&mem, SIZE - 1, 1, 1), backing + SIZE - 1);
	ck_assert_ptr_eq(gpa_checked_ptr(&mem, SIZE - 8, 8, 8), backing + SIZE - 8);
}
END_TEST

START_TEST(one_past_end)
{
	ck_assert_ptr_null(gpa_checked_ptr(&mem, SIZE, 1, 1));
	ck_assert_ptr_null(gpa_checked_ptr(&mem, SIZE - 1, 2, 1));
	ck_assert_ptr_null(gpa_checked_ptr(&mem, SIZE - 8, 9, 8));
	ck_assert_ptr_null(gpa_checked_ptr(&mem, 0, SIZE + 1, 1));
}
END_TEST

/* An empty range ending at the end of RAM is inside it; one beyond is not. */
START_TEST(len_zero_at_end)
{
	ck_assert_ptr_eq(gpa_checked_ptr(&mem, SIZE, 0, 1), backing + SIZE);
	ck_assert_ptr_eq(gpa_checked_ptr(&mem, 0x100, 0, 1), backing + 0x100);
	ck_assert_ptr_null(gpa_checked_ptr(&mem, SIZE + 1, 0, 1));
}
END_TEST

START_TEST(far_outside)
{
	ck_assert_ptr_null(gpa_checked_ptr(&mem, 1ull << 32, 8, 8));
	ck_assert_ptr_null(gpa_checked_ptr(&mem, 1ull << 63, 1, 1));
}
END_TEST

/* gpa + len wraps to a small number that would look in range */
START_TEST(overflow)
{
	ck_assert_ptr_null(gpa_checked_ptr(&mem, UINT64_MAX, 1, 1));
	ck_assert_ptr_null(gpa_checked_ptr(&mem, UINT64_MAX, 2, 1));
	ck_assert_ptr_null(gpa_checked_ptr(&mem, UINT64_MAX - 7, 16, 8));
	ck_assert_ptr_null(gpa_checked_ptr(&mem, 0x10, UINT64_MAX, 1));
	ck_assert_ptr_null(gpa_checked_ptr(&mem, 1, UINT64_MAX, 1));
	ck_assert_ptr_null(gpa_checked_ptr(&mem, UINT64_MAX - 0xfff, 0x1010, 1));
}
END_TEST

START_TEST(misaligned)
{
	ck_assert_ptr_null(gpa_checked_ptr(&mem, 0x1004, 8, 8));
	ck_assert_ptr_null(gpa_checked_ptr(&mem, 0x1001, 2, 2));
	ck_assert_ptr_null(gpa_checked_ptr(&mem, 0x1800, 16, 4096));
	ck_assert_ptr_null(gpa_checked_ptr(&mem, 0x1020, 8, 64));
	ck_assert_ptr_eq(gpa_checked_ptr(&mem, 0x1040, 8, 64), backing + 0x1040);
	ck_assert_ptr_eq(gpa_checked_ptr(&mem, 0x1003, 8, 1), backing + 0x1003);
}
END_TEST

START_TEST(bad_align_argument)
{
	ck_assert_ptr_null(gpa_checked_ptr(&mem, 0x1000, 8, 0));
	ck_assert_ptr_null(gpa_checked_ptr(&mem, 0x1000, 8, 3));
	ck_assert_ptr_null(gpa_checked_ptr(&mem, 0x1000, 8, 12));
	ck_assert_ptr_null(gpa_checked_ptr(&mem, 0, 8, UINT64_MAX));
}
END_TEST

START_TEST(null_memory)
{
	const struct guest_mem none = { .base = NULL, .size = SIZE };

	ck_assert_ptr_null(gpa_checked_ptr(NULL, 0, 1, 1));
	ck_assert_ptr_null(gpa_checked_ptr(&none, 0, 1, 1));
}
END_TEST

START_TEST(empty_memory)
{
	const struct guest_mem empty = { .base = backing, .size = 0 };

	ck_assert_ptr_null(gpa_checked_ptr(&empty, 0, 1, 1));
}
END_TEST

/* QEMU's layout: RAM, a hole with nothing mapped, RAM again above it */
START_TEST(hole_is_outside)
{
	const struct guest_mem holed = { .base = backing, .size = SIZE, .hole_start = 0x4000,
					 .hole_end = 0x8000 };

	ck_assert_ptr_eq(gpa_checked_ptr(&holed, 0x3ff8, 8, 8), backing + 0x3ff8);
	ck_assert_ptr_null(gpa_checked_ptr(&holed, 0x3ff8, 9, 1)); /* last byte in the hole */
	ck_assert_ptr_null(gpa_checked_ptr(&holed, 0x4000, 1, 1));
	ck_assert_ptr_null(gpa_checked_ptr(&holed, 0x7fff, 1, 1));
	ck_assert_ptr_null(gpa_checked_ptr(&holed, 0x3000, 0x6000, 1)); /* spans it */
	ck_assert_ptr_eq(gpa_checked_ptr(&holed, 0x8000, 0x1000, 4096), backing + 0x8000);
}
END_TEST

Suite *suite_gpa(void)
{
	Suite *s = suite_create("gpa");
	TCase *tc = tcase_create("checked_ptr");

	tcase_add_test(tc, in_range);
	tcase_add_test(tc, last_byte);
	tcase_add_test(tc, one_past_end);
	tcase_add_test(tc, len_zero_at_end);
	tcase_add_test(tc, far_outside);
	tcase_add_test(tc, overflow);
	tcase_add_test(tc, misaligned);
	tcase_add_test(tc, bad_align_argument);
	tcase_add_test(tc, null_memory);
	tcase_add_test(tc, empty_memory);
	tcase_add_test(tc, hole_is_outside);
	suite_add_tcase(s, tc);
	return s;
}
