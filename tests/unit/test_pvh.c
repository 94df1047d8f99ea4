/* tests/unit/test_pvh.c - pvh_setup: the hvm_start_info, memory map and
 * command line the guest finds at boot, and the inputs it refuses.
 */
#include "testutil.h"

#include "vm_impl.h"

Suite *suite_pvh(void);

#define MEM_SIZE (4ull << 20)
#define FILL     0xaa

static struct gmem mem;
static char err[512];
static uint64_t si_gpa;

static void setup(void)
{
	mem.size = MEM_SIZE;
	mem.base = malloc(MEM_SIZE);
	ck_assert_ptr_nonnull(mem.base);
	memset(mem.base, FILL, MEM_SIZE);
	err[0] = '\0';
	si_gpa = 0;
}

static void teardown(void)
{
	free(mem.base);
	mem.base = NULL;
}

/* Copies, as the guest would read them (never a cast of guest memory). */
static struct pts_hvm_start_info start_info(void)
{
	struct pts_hvm_start_info si;

	ck_assert_uint_le(si_gpa + sizeof(si), mem.size);
	memcpy(&si, mem.base + si_gpa, sizeof(si));
	return si;
}

static struct pts_hvm_memmap_entry memmap(uint64_t gpa, unsigned i)
{
	struct pts_hvm_memmap_entry e;

	ck_assert_uint_le(gpa + (i + 1) * sizeof(e), mem.size);
	memcpy(&e, mem.base + gpa + i * sizeof(e), sizeof(e));
	return e;
}

static void setup_ok(const char *cmdline)
{
	ck_assert_msg(pvh_setup(&mem, cmdline, &si_gpa, err, sizeof(err)) == 0, "refused: %s", err);
}

START_TEST(start_info_header)
{
	struct pts_hvm_start_info si;

	setup_ok("console=com1");
	ck_assert_uint_eq(si_gpa, VM_START_INFO_GPA);
	si = start_info();
	ck_assert_uint_eq(si.magic, PTS_HVM_START_MAGIC);
	ck_assert_uint_eq(si.version, 1);
	ck_assert_uint_eq(si.flags, 0);
	ck_assert_uint_eq(si.nr_modules, 0);
	ck_assert_uint_eq(si.modlist_paddr, 0);
	ck_assert_uint_eq(si.rsdp_paddr, 0);
	ck_assert_uint_eq(si.reserved, 0);
	ck_assert_uint_eq(si_gpa % 8, 0);
	/* boot data lives below 1 MiB, where the memory map says "reserved" */
	ck_assert_uint_lt(si.memmap_paddr, VM_LOW_RESERVED);
	ck_assert_uint_lt(si.cmdline_paddr, VM_LOW_RESERVED);
}
END_TEST

START_TEST(memory_map)
{
	struct pts_hvm_start_info si;
	struct pts_hvm_memmap_entry low, ram;

	setup_ok(NULL);
	si = start_info();
	ck_assert_uint_eq(si.memmap_entries, 2);
	ck_assert_uint_eq(si.memmap_paddr % 8, 0);
	low = memmap(si.memmap_paddr, 0);
	ram = memmap(si.memmap_paddr, 1);
	ck_assert_uint_eq(low.addr, 0);
	ck_assert_uint_eq(low.size, 0x100000);
	ck_assert_uint_eq(low.type, PTS_HVM_MEMMAP_RESERVED);
	ck_assert_uint_eq(ram.addr, 0x100000);
	ck_assert_uint_eq(ram.size, MEM_SIZE - 0x100000);
	ck_assert_uint_eq(ram.type, PTS_HVM_MEMMAP_RAM);
	ck_assert_uint_eq(low.reserved, 0);
	ck_assert_uint_eq(ram.reserved, 0);
}
END_TEST

/* The boot data must not overlap itself. */
START_TEST(boot_data_disjoint)
{
	struct pts_hvm_start_info si;

	setup_ok("x");
	si = start_info();
	ck_assert_uint_ge(si.memmap_paddr, si_gpa + sizeof(si));
	ck_assert_uint_ge(si.cmdline_paddr,
	                  si.memmap_paddr +
	                      si.memmap_entries * sizeof(struct pts_hvm_memmap_entry));
	ck_assert_uint_le(si.cmdline_paddr + VM_CMDLINE_MAX, VM_LOW_RESERVED);
}
END_TEST

START_TEST(cmdline_copied)
{
	static const char cl[] = "arena=1024 ring selftest=panic";
	struct pts_hvm_start_info si;

	setup_ok(cl);
	si = start_info();
	ck_assert_uint_eq(si.cmdline_paddr, VM_CMDLINE_GPA);
	ck_assert_mem_eq(mem.base + si.cmdline_paddr, cl, sizeof(cl)); /* with its NUL */
}
END_TEST

START_TEST(cmdline_null_is_empty)
{
	struct pts_hvm_start_info si;

	setup_ok(NULL);
	si = start_info();
	ck_assert_uint_eq(mem.base[si.cmdline_paddr], '\0');
}
END_TEST

START_TEST(cmdline_longest_accepted)
{
	char *cl = malloc(VM_CMDLINE_MAX);
	struct pts_hvm_start_info si;

	ck_assert_ptr_nonnull(cl);
	memset(cl, 'c', VM_CMDLINE_MAX - 1);
	cl[VM_CMDLINE_MAX - 1] = '\0';
	setup_ok(cl);
	si = start_info();
	ck_assert_mem_eq(mem.base + si.cmdline_paddr, cl, VM_CMDLINE_MAX);
	/* nothing past the command line's page */
	ck_assert_uint_eq(mem.base[si.cmdline_paddr + VM_CMDLINE_MAX], FILL);
	free(cl);
}
END_TEST

START_TEST(cmdline_too_long)
{
	char *cl = malloc(VM_CMDLINE_MAX + 1);

	ck_assert_ptr_nonnull(cl);
	memset(cl, 'c', VM_CMDLINE_MAX);
	cl[VM_CMDLINE_MAX] = '\0';
	ck_assert_int_eq(pvh_setup(&mem, cl, &si_gpa, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "--cmdline") != NULL, "message does not name --cmdline: %s", err);
	ck_assert_msg(strstr(err, "4096") != NULL && strstr(err, "4095") != NULL,
	              "message does not give the length and the limit: %s", err);
	ck_assert_uint_eq(mem.base[VM_START_INFO_GPA], FILL); /* nothing written */
	ck_assert_uint_eq(mem.base[VM_CMDLINE_GPA], FILL);
	free(cl);
}
END_TEST

START_TEST(memory_too_small)
{
	static const uint64_t sizes[] = {0x1000, VM_CMDLINE_GPA + VM_CMDLINE_MAX - 1,
	                                 VM_CMDLINE_GPA + VM_CMDLINE_MAX, VM_LOW_RESERVED};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct gmem small = {.base = mem.base, .size = sizes[i]};
		err[0] = '\0';
		ck_assert_msg(pvh_setup(&small, "x", &si_gpa, err, sizeof(err)) == -1,
		              "accepted %#lx bytes of memory", sizes[i]);
		ck_assert_msg(strstr(err, "too small") != NULL, "size %#lx: message '%s'", sizes[i],
		              err);
	}
	ck_assert_uint_eq(mem.base[VM_START_INFO_GPA], FILL);
}
END_TEST

START_TEST(smallest_memory_accepted)
{
	struct gmem small = {.base = mem.base, .size = VM_LOW_RESERVED + 0x1000};
	struct pts_hvm_memmap_entry ram;

	ck_assert_msg(pvh_setup(&small, "x", &si_gpa, err, sizeof(err)) == 0, "refused: %s", err);
	ram = memmap(VM_MEMMAP_GPA, 1);
	ck_assert_uint_eq(ram.size, 0x1000);
}
END_TEST

Suite *suite_pvh(void)
{
	Suite *s = suite_create("pvh");
	TCase *tc = tcase_create("setup");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, start_info_header);
	tcase_add_test(tc, memory_map);
	tcase_add_test(tc, boot_data_disjoint);
	tcase_add_test(tc, cmdline_copied);
	tcase_add_test(tc, cmdline_null_is_empty);
	tcase_add_test(tc, cmdline_longest_accepted);
	tcase_add_test(tc, cmdline_too_long);
	tcase_add_test(tc, memory_too_small);
	tcase_add_test(tc, smallest_memory_accepted);
	suite_add_tcase(s, tc);
	return s;
}
