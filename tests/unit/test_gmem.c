/* tests/unit/test_gmem.c - the checked guest-memory accessor: range, overflow,
 * alignment, typed little-endian reads, the dirty-page hook.
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
	uint32_t w;
	uint8_t b[8];
	ck_assert_int_eq(gmem_read_u64(&mem, 4, &v), GMEM_EALIGN);
	ck_assert_int_eq(gmem_read_u32(&mem, 2, &w), GMEM_EALIGN);
	ck_assert_int_eq(gmem_read_aligned(&mem, 16, b, 8, 3), GMEM_EINVAL);
	ck_assert_int_eq(gmem_read_aligned(&mem, 16, b, 8, 0), GMEM_EINVAL);
	ck_assert_int_eq(gmem_read_aligned(&mem, 4096, b, 8, 4096), GMEM_OK);
}
END_TEST

START_TEST(test_typed_little_endian)
{
	uint64_t v;
	uint32_t w;
	uint16_t h;
	uint8_t c;
	fill();
	ck_assert_int_eq(gmem_read_u64(&mem, 8, &v), GMEM_OK);
	ck_assert_uint_eq(v, 0x0f0e0d0c0b0a0908ull);
	ck_assert_int_eq(gmem_read_u32(&mem, 4, &w), GMEM_OK);
	ck_assert_uint_eq(w, 0x07060504u);
	ck_assert_int_eq(gmem_read_u16(&mem, 2, &h), GMEM_OK);
	ck_assert_uint_eq(h, 0x0302u);
	ck_assert_int_eq(gmem_read_u8(&mem, 9, &c), GMEM_OK);
	ck_assert_uint_eq(c, 9);
	ck_assert_uint_eq(le_field(ram, 4, 4), 0x07060504u);
	ck_assert_uint_eq(le_field(ram, 8, 8), 0x0f0e0d0c0b0a0908ull);
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

Suite *suite_gmem(void)
{
	Suite *s = suite_create("gmem");
	TCase *tc = tcase_create("gmem");
	tcase_add_test(tc, test_read_inside);
	tcase_add_test(tc, test_read_outside);
	tcase_add_test(tc, test_alignment);
	tcase_add_test(tc, test_typed_little_endian);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_dirty_hook);
	suite_add_tcase(s, tc);
	return s;
}
