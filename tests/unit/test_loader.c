/* tests/unit/test_loader.c - elf_load: the real guest image loads byte-exact,
 * and every kind of bad image (built by hand in a temp directory) is refused
 * with a message that names the file and the problem, leaving memory alone.
 */
#include "testutil.h"

#include "vm_impl.h"

Suite *suite_loader(void);

#define MEM_SIZE (16ull << 20)
#define FILL     0xaa

static struct gmem mem;
static struct elf_image img;
static char err[512];

static void setup(void)
{
	mem.size = MEM_SIZE;
	mem.base = malloc(MEM_SIZE);
	ck_assert_ptr_nonnull(mem.base);
	memset(mem.base, FILL, MEM_SIZE);
	err[0] = '\0';
}

static void teardown(void)
{
	free(mem.base);
	mem.base = NULL;
}

/* The first address in [from, to) whose byte is not v, or to. */
static uint64_t first_not(uint64_t from, uint64_t to, uint8_t v)
{
	while (from < to && mem.base[from] == v)
		from++;
	return from;
}

static bool mem_untouched(void)
{
	return first_not(0, mem.size, FILL) == mem.size;
}

/* elf_load must fail, say "<path>: ...<needle>...", and not write memory. */
static void expect_fail(const char *path, const char *needle)
{
	char prefix[600];

	ck_assert_int_eq(elf_load(path, &mem, &img, err, sizeof(err)), -1);
	if (getenv("TU_VERBOSE") != NULL)
		fprintf(stderr, "loader: %s\n", err);
	snprintf(prefix, sizeof(prefix), "%s: ", path);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
	              "message does not start with '%s': %s", prefix, err);
	ck_assert_msg(strstr(err + strlen(prefix), needle) != NULL, "message lacks '%s': %s",
	              needle, err);
	ck_assert_msg(strchr(err, '\n') == NULL, "message is not one line: %s", err);
	ck_assert_msg(mem_untouched(), "a refused image changed guest memory");
}

static const char *write_elf(const struct tu_elf *e)
{
	const char *p = tu_path("guest.elf");

	tu_elf_write(e, p);
	return p;
}

static void expect_elf_fail(const struct tu_elf *e, const char *needle)
{
	expect_fail(write_elf(e), needle);
}

static void expect_elf_ok(const struct tu_elf *e)
{
	const char *p = write_elf(e);

	ck_assert_msg(elf_load(p, &mem, &img, err, sizeof(err)) == 0, "refused: %s", err);
}

/* ---- the real guest ----------------------------------------------------- */

/* Reads guest.elf without libelf and checks memory against it. */
START_TEST(guest_image_loads_byte_exact)
{
	const char *path = tu_guest();
	size_t len;
	uint8_t *f;
	const Elf64_Ehdr *eh;
	uint64_t lowest = UINT64_MAX, highest = 0, note_entry = 0;
	unsigned nload = 0;
	bool have_note = false;

	if (access(path, R_OK) != 0) {
		tu_skip("guest_image_loads_byte_exact", "no guest image (make build/guest.elf)");
		ck_abort_msg("%s: %s (build the guest first)", path, strerror(errno));
	}
	f = (uint8_t *)tu_read_file(path, &len);
	ck_assert_msg(elf_load(path, &mem, &img, err, sizeof(err)) == 0, "refused: %s", err);

	eh = (const Elf64_Ehdr *)f;
	ck_assert_uint_ge(len, sizeof(*eh));
	ck_assert_uint_le(eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), len);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(f + eh->e_phoff) + i;

		if (ph->p_type == PT_NOTE) {
			for (uint64_t pos = ph->p_offset;
			     pos + 12 <= ph->p_offset + ph->p_filesz;) {
				const Elf64_Nhdr *nh = (const Elf64_Nhdr *)(f + pos);
				uint64_t desc = pos + 12 + ((nh->n_namesz + 3) & ~3u);
				if (nh->n_type == PTS_XEN_ELFNOTE_PHYS32_ENTRY &&
				    memcmp(f + pos + 12, "Xen", 4) == 0) {
					uint32_t v;
					memcpy(&v, f + desc, 4);
					note_entry = v;
					have_note = true;
				}
				pos = desc + ((nh->n_descsz + 3) & ~3u);
			}
		}
		if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
			continue;
		nload++;
		ck_assert_uint_le(ph->p_offset + ph->p_filesz, len);
		ck_assert_msg(memcmp(mem.base + ph->p_paddr, f + ph->p_offset, ph->p_filesz) == 0,
		              "segment %u at %#lx differs from the file", i, ph->p_paddr);
		uint64_t b = ph->p_filesz;
		while (b < ph->p_memsz && mem.base[ph->p_paddr + b] == 0)
			b++;
		ck_assert_msg(b == ph->p_memsz, "bss byte %#lx of segment %u is not zero",
		              ph->p_paddr + b, i);
		lowest = ph->p_paddr < lowest ? ph->p_paddr : lowest;
		highest = ph->p_paddr + ph->p_memsz > highest ? ph->p_paddr + ph->p_memsz : highest;
	}
	ck_assert_msg(have_note, "%s has no PVH note", path);
	ck_assert_uint_eq(img.pvh_entry, note_entry);
	ck_assert_uint_eq(img.lowest, lowest);
	ck_assert_uint_eq(img.highest, highest);
	ck_assert_uint_eq(img.nsegments, nload);
	ck_assert_uint_ge(nload, 2); /* the guest has a bss: some segment has memsz > filesz */
	/* nothing written outside the image */
	ck_assert_msg(first_not(0, lowest, FILL) == lowest, "a byte below the image was written");
	ck_assert_msg(first_not(highest, mem.size, FILL) == mem.size,
	              "a byte above the image was written");
	free(f);
}
END_TEST

/* ---- the hand-built image and its boundaries ----------------------------- */

START_TEST(minimal_image_loads)
{
	struct tu_elf e;

	tu_elf_init(&e);
	expect_elf_ok(&e);
	ck_assert_uint_eq(img.pvh_entry, TU_SEG_PADDR + 0x10);
	ck_assert_uint_eq(img.lowest, TU_SEG_PADDR);
	ck_assert_uint_eq(img.highest, TU_SEG_PADDR + TU_SEG_MEMSZ);
	ck_assert_uint_eq(img.nsegments, 1);
	for (size_t i = 0; i < TU_SEG_FILESZ; i++)
		if (mem.base[TU_SEG_PADDR + i] != tu_pattern(i))
			ck_abort_msg("file byte %zu not copied", i);
	ck_assert_uint_eq(first_not(TU_SEG_PADDR + TU_SEG_FILESZ, TU_SEG_PADDR + TU_SEG_MEMSZ, 0),
	                  TU_SEG_PADDR + TU_SEG_MEMSZ);
	ck_assert_uint_eq(mem.base[TU_SEG_PADDR - 1], FILL);
	ck_assert_uint_eq(mem.base[TU_SEG_PADDR + TU_SEG_MEMSZ], FILL);
}
END_TEST

START_TEST(note_with_8_byte_entry_loads)
{
	struct tu_elf e;
	uint64_t entry = TU_SEG_PADDR + 0x20;

	tu_elf_init(&e);
	e.nh.n_descsz = 8;
	e.ph[0].p_filesz = e.ph[0].p_memsz = 12 + 4 + 8;
	memcpy(e.desc, &entry, 8);
	expect_elf_ok(&e);
	ck_assert_uint_eq(img.pvh_entry, entry);
}
END_TEST

START_TEST(adjacent_segments_load)
{
	struct tu_elf e;

	tu_elf_init(&e);
	tu_elf_add_load(&e, TU_SEG_PADDR + TU_SEG_MEMSZ, 0x1000);
	expect_elf_ok(&e);
	ck_assert_uint_eq(img.nsegments, 2);
	ck_assert_uint_eq(img.highest, TU_SEG_PADDR + TU_SEG_MEMSZ + 0x1000);
	ck_assert_uint_eq(mem.base[TU_SEG_PADDR + TU_SEG_MEMSZ + 1], tu_pattern(1));
}
END_TEST

START_TEST(segment_ending_at_memory_end_loads)
{
	struct tu_elf e;
	uint64_t at = MEM_SIZE - TU_SEG_MEMSZ;
	uint32_t entry = (uint32_t)at;

	tu_elf_init(&e);
	e.ph[1].p_paddr = at;
	memcpy(e.desc, &entry, 4);
	expect_elf_ok(&e);
	ck_assert_uint_eq(img.highest, MEM_SIZE);
	ck_assert_uint_eq(mem.base[MEM_SIZE - 1], 0);
}
END_TEST

START_TEST(entry_at_last_byte_loads)
{
	struct tu_elf e;
	uint32_t entry = (uint32_t)(TU_SEG_PADDR + TU_SEG_MEMSZ - 1);

	tu_elf_init(&e);
	memcpy(e.desc, &entry, 4);
	expect_elf_ok(&e);
	ck_assert_uint_eq(img.pvh_entry, entry);
}
END_TEST

/* ---- files that are not ELF64 x86-64 executables ------------------------- */

START_TEST(missing_file)
{
	expect_fail(tu_path("no-such.elf"), "No such file");
}
END_TEST

START_TEST(directory)
{
	expect_fail(tu_dir, "directory");
}
END_TEST

START_TEST(text_file)
{
	const char *p = tu_path("notes.txt");
	static const char text[] = "this is not a kernel\nbut a text file of some length\n";

	tu_write_file(p, text, sizeof(text) - 1);
	expect_fail(p, "not an ELF");
}
END_TEST

START_TEST(empty_file)
{
	const char *p = tu_path("empty.elf");

	tu_write_file(p, "", 0);
	expect_fail(p, "not an ELF");
}
END_TEST

START_TEST(truncated_elf_header)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.file_size = 40; /* magic and class intact, header cut short */
	expect_elf_fail(&e, "truncated or corrupt ELF header");
}
END_TEST

START_TEST(elf32)
{
	const char *p = tu_path("guest32.elf");

	tu_elf32_write(p);
	expect_fail(p, "ELF32");
}
END_TEST

START_TEST(aarch64)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.eh.e_machine = EM_AARCH64;
	expect_elf_fail(&e, "not an x86-64");
}
END_TEST

START_TEST(big_endian)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.eh.e_ident[EI_DATA] = ELFDATA2MSB;
	expect_elf_fail(&e, "x86-64");
}
END_TEST

START_TEST(shared_object)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.eh.e_type = ET_DYN;
	expect_elf_fail(&e, "not an executable");
}
END_TEST

START_TEST(no_program_headers)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.eh.e_phnum = 0;
	e.eh.e_phoff = 0;
	expect_elf_fail(&e, "no program headers");
}
END_TEST

START_TEST(program_headers_past_end_of_file)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.eh.e_phoff = TU_FILE_SIZE - sizeof(Elf64_Phdr); /* the second one runs off the end */
	expect_elf_fail(&e, "program header");
}
END_TEST

START_TEST(no_loadable_segment)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.ph[1].p_type = PT_NULL;
	expect_elf_fail(&e, "no loadable segments");
}
END_TEST

/* ---- the PVH note --------------------------------------------------------- */

START_TEST(no_note_segment)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.ph[0].p_type = PT_NULL;
	expect_elf_fail(&e, "no PVH entry note");
}
END_TEST

START_TEST(note_of_another_type)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.nh.n_type = 1; /* XEN_ELFNOTE_INFO */
	expect_elf_fail(&e, "no PVH entry note");
}
END_TEST

START_TEST(note_of_another_owner)
{
	struct tu_elf e;

	tu_elf_init(&e);
	memcpy(e.name, "GNU", 4);
	expect_elf_fail(&e, "no PVH entry note");
}
END_TEST

START_TEST(note_bad_desc_size)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.nh.n_descsz = 2;
	expect_elf_fail(&e, "2-byte value");
}
END_TEST

START_TEST(note_desc_runs_past_segment)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.nh.n_descsz = 0xfffffff0u;
	expect_elf_fail(&e, "malformed ELF note");
}
END_TEST

START_TEST(note_segment_outside_file)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.ph[0].p_offset = UINT64_MAX - 8;
	expect_elf_fail(&e, "PT_NOTE segment lies outside the file");
}
END_TEST

/* ---- segments --------------------------------------------------------------- */

START_TEST(segments_overlap)
{
	struct tu_elf e;

	tu_elf_init(&e);
	tu_elf_add_load(&e, TU_SEG_PADDR + TU_SEG_MEMSZ - 0x1000, 0x2000);
	expect_elf_fail(&e, "segments 1 and 2 overlap");
}
END_TEST

START_TEST(segment_inside_another)
{
	struct tu_elf e;

	tu_elf_init(&e);
	tu_elf_add_load(&e, TU_SEG_PADDR + 0x800, 0x400);
	expect_elf_fail(&e, "overlap");
}
END_TEST

START_TEST(segment_below_1mib)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.ph[1].p_paddr = TU_SEG_PADDR - 0x1000;
	expect_elf_fail(
	    &e, "segment 1 [0xff000, 0x101000) falls outside guest memory [0x100000, 0x1000000)");
}
END_TEST

START_TEST(segment_past_end_of_memory)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.ph[1].p_paddr = MEM_SIZE - TU_SEG_MEMSZ + 0x1000;
	expect_elf_fail(&e, "falls outside guest memory");
}
END_TEST

START_TEST(segment_wholly_past_end_of_memory)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.ph[1].p_paddr = 1ull << 40;
	expect_elf_fail(&e, "falls outside guest memory");
}
END_TEST

START_TEST(segment_paddr_plus_memsz_overflows)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.ph[1].p_paddr = UINT64_MAX - 0xfff;
	expect_elf_fail(&e, "p_paddr 0xfffffffffffff000 + p_memsz 0x2000 overflows");
}
END_TEST

START_TEST(segment_memsz_huge)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.ph[1].p_memsz = UINT64_MAX;
	expect_elf_fail(&e, "overflows");
}
END_TEST

START_TEST(segment_file_range_past_end_of_file)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.ph[1].p_filesz = TU_SEG_FILESZ + 1;
	expect_elf_fail(&e, "segment 1: file range outside the file");
}
END_TEST

START_TEST(segment_offset_overflows)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.ph[1].p_offset = UINT64_MAX - 0x10;
	expect_elf_fail(&e, "outside the file");
}
END_TEST

START_TEST(file_truncated_inside_segment)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.file_size = TU_SEG_OFF + 0x10;
	expect_elf_fail(&e, "outside the file");
}
END_TEST

START_TEST(segment_filesz_above_memsz)
{
	struct tu_elf e;

	tu_elf_init(&e);
	e.ph[1].p_memsz = TU_SEG_FILESZ - 1;
	expect_elf_fail(&e, "p_filesz");
}
END_TEST

START_TEST(entry_outside_image)
{
	struct tu_elf e;
	uint32_t entry = 0x200000;

	tu_elf_init(&e);
	memcpy(e.desc, &entry, 4);
	expect_elf_fail(&e, "PVH entry 0x200000 is outside the loaded image");
}
END_TEST

START_TEST(entry_one_past_image)
{
	struct tu_elf e;
	uint32_t entry = (uint32_t)(TU_SEG_PADDR + TU_SEG_MEMSZ);

	tu_elf_init(&e);
	memcpy(e.desc, &entry, 4);
	expect_elf_fail(&e, "outside the loaded image");
}
END_TEST

START_TEST(entry_below_image)
{
	struct tu_elf e;
	uint32_t entry = 0x1000;

	tu_elf_init(&e);
	memcpy(e.desc, &entry, 4);
	expect_elf_fail(&e, "outside the loaded image");
}
END_TEST

Suite *suite_loader(void)
{
	Suite *s = suite_create("loader");
	TCase *good = tcase_create("good");
	TCase *file = tcase_create("file");
	TCase *note = tcase_create("note");
	TCase *seg = tcase_create("segments");

	tcase_add_checked_fixture(good, setup, teardown);
	tu_tmpdir_fixture(good);
	tcase_add_test(good, guest_image_loads_byte_exact);
	tcase_add_test(good, minimal_image_loads);
	tcase_add_test(good, note_with_8_byte_entry_loads);
	tcase_add_test(good, adjacent_segments_load);
	tcase_add_test(good, segment_ending_at_memory_end_loads);
	tcase_add_test(good, entry_at_last_byte_loads);
	suite_add_tcase(s, good);

	tcase_add_checked_fixture(file, setup, teardown);
	tu_tmpdir_fixture(file);
	tcase_add_test(file, missing_file);
	tcase_add_test(file, directory);
	tcase_add_test(file, text_file);
	tcase_add_test(file, empty_file);
	tcase_add_test(file, truncated_elf_header);
	tcase_add_test(file, elf32);
	tcase_add_test(file, aarch64);
	tcase_add_test(file, big_endian);
	tcase_add_test(file, shared_object);
	tcase_add_test(file, no_program_headers);
	tcase_add_test(file, program_headers_past_end_of_file);
	tcase_add_test(file, no_loadable_segment);
	suite_add_tcase(s, file);

	tcase_add_checked_fixture(note, setup, teardown);
	tu_tmpdir_fixture(note);
	tcase_add_test(note, no_note_segment);
	tcase_add_test(note, note_of_another_type);
	tcase_add_test(note, note_of_another_owner);
	tcase_add_test(note, note_bad_desc_size);
	tcase_add_test(note, note_desc_runs_past_segment);
	tcase_add_test(note, note_segment_outside_file);
	suite_add_tcase(s, note);

	tcase_add_checked_fixture(seg, setup, teardown);
	tu_tmpdir_fixture(seg);
	tcase_add_test(seg, segments_overlap);
	tcase_add_test(seg, segment_inside_another);
	tcase_add_test(seg, segment_below_1mib);
	tcase_add_test(seg, segment_past_end_of_memory);
	tcase_add_test(seg, segment_wholly_past_end_of_memory);
	tcase_add_test(seg, segment_paddr_plus_memsz_overflows);
	tcase_add_test(seg, segment_memsz_huge);
	tcase_add_test(seg, segment_file_range_past_end_of_file);
	tcase_add_test(seg, segment_offset_overflows);
	tcase_add_test(seg, file_truncated_inside_segment);
	tcase_add_test(seg, segment_filesz_above_memsz);
	tcase_add_test(seg, entry_outside_image);
	tcase_add_test(seg, entry_one_past_image);
	tcase_add_test(seg, entry_below_image);
	suite_add_tcase(s, seg);
	return s;
}
