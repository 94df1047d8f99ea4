/* src/vm/loader.c - loads a PVH ELF64 guest image into guest memory.
 * Uses libelf for the headers; every size and offset is checked against the
 * file and against guest memory before a byte is copied.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errf.h"
#include "vm_impl.h"
#include "util.h"

struct load_ctx {
	const char *path;
	const uint8_t *file;
	size_t file_size;
	char *err;
	size_t errlen;
};

static int load_fail(struct load_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int load_fail(struct load_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verrf(c->err, c->errlen, c->path, 0, fmt, ap);
	va_end(ap);
	return -1;
}

/* A file range [off, off + len) that lies inside the file. */
static bool file_range_ok(const struct load_ctx *c, uint64_t off, uint64_t len)
{
	return off <= c->file_size && len <= c->file_size - off;
}

/* the PVH entry note's value, 4 or 8 bytes at off: 1, or -1 */
static int note_entry(struct load_ctx *c, uint64_t off, uint32_t descsz, uint64_t *entry)
{
	uint32_t v;

	if (descsz == 8) {
		memcpy(entry, c->file + off, 8);
		return 1;
	}
	if (descsz != 4)
		return load_fail(c, "PVH entry note has a %u-byte value (want 4 or 8)", descsz);
	memcpy(&v, c->file + off, 4);
	*entry = v;
	return 1;
}

static int note_find_pvh(struct load_ctx *c, const GElf_Phdr *ph, uint64_t *entry)
{
	uint64_t pos = ph->p_offset, end;

	if (!file_range_ok(c, ph->p_offset, ph->p_filesz))
		return load_fail(c, "PT_NOTE segment lies outside the file");
	end = ph->p_offset + ph->p_filesz;
	while (end - pos >= 12) {
		uint32_t namesz, descsz, type;
		uint64_t name_off = pos + 12, desc_off, next;

		memcpy(&namesz, c->file + pos, 4);
		memcpy(&descsz, c->file + pos + 4, 4);
		memcpy(&type, c->file + pos + 8, 4);
		desc_off = name_off + (((uint64_t)namesz + 3) & ~3ull);
		next = desc_off + (((uint64_t)descsz + 3) & ~3ull);
		if (desc_off > end || next > end)
			return load_fail(c, "malformed ELF note at offset %#llx",
			                 (unsigned long long)pos);
		if (type == PTS_XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    memcmp(c->file + name_off, "Xen", 4) == 0)
			return note_entry(c, desc_off, descsz, entry);
		pos = next;
	}
	return 0;
}

static int check_header(struct load_ctx *c, Elf *elf, GElf_Ehdr *eh)
{
	if (elf_kind(elf) != ELF_K_ELF || gelf_getehdr(elf, eh) == NULL)
		return load_fail(c, "not an ELF file");
	if (gelf_getclass(elf) != ELFCLASS64)
		return load_fail(c, "ELF32 image; ptshadow boots ELF64 x86-64 PVH images");
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64)
		return load_fail(c, "not an x86-64 executable (e_machine %u)", eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return load_fail(c, "not an executable (e_type %u)", eh->e_type);
	return 0;
}

/* One PT_LOAD segment i (end: where it ends): in the file, in guest RAM,
 * not in the hole, overlapping no segment before it.  0, or -1. */
static int check_segment(struct load_ctx *c, Elf *elf, size_t i, const GElf_Phdr *ph,
                         const struct gmem *m, uint64_t *end)
{
	GElf_Phdr other;

	if (ph->p_filesz > ph->p_memsz)
		return load_fail(c, "segment %zu: p_filesz %#llx is larger than p_memsz %#llx", i,
		                 (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
	if (!file_range_ok(c, ph->p_offset, ph->p_filesz))
		return load_fail(c, "segment %zu: file range outside the file", i);
	if (__builtin_add_overflow(ph->p_paddr, ph->p_memsz, end))
		return load_fail(c, "segment %zu: p_paddr %#llx + p_memsz %#llx overflows", i,
		                 (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
	if (ph->p_paddr < VM_LOW_RESERVED || *end > m->size)
		return load_fail(
		    c, "segment %zu [%#llx, %#llx) falls outside guest memory [%#llx, %#llx)", i,
		    (unsigned long long)ph->p_paddr,
		    (unsigned long long)(ph->p_paddr + ph->p_memsz),
		    (unsigned long long)VM_LOW_RESERVED, (unsigned long long)m->size);
	if (ph->p_paddr<m->hole_end && * end> m->hole_start)
		return load_fail(
		    c, "segment %zu [%#llx, %#llx) falls in the memory hole [%#llx, %#llx)", i,
		    (unsigned long long)ph->p_paddr, (unsigned long long)*end,
		    (unsigned long long)m->hole_start, (unsigned long long)m->hole_end);
	for (size_t j = 0; j < i; j++) {
		if (gelf_getphdr(elf, (int)j, &other) == NULL || other.p_type != PT_LOAD ||
		    other.p_memsz == 0)
			continue;
		if (ph->p_paddr < other.p_paddr + other.p_memsz && other.p_paddr < *end)
			return load_fail(c, "segments %zu and %zu overlap", j, i);
	}
	return 0;
}

static int check_segments(struct load_ctx *c, Elf *elf, size_t nph, const struct gmem *m,
                          struct elf_image *img)
{
	GElf_Phdr ph;
	int found = 0;

	img->lowest = UINT64_MAX;
	img->highest = 0;
	for (size_t i = 0; i < nph; i++) {
		uint64_t end = 0;

		if (gelf_getphdr(elf, (int)i, &ph) == NULL)
			return load_fail(c, "cannot read program header %zu", i);
		if (ph.p_type == PT_NOTE && !found) {
			found = note_find_pvh(c, &ph, &img->pvh_entry);
			if (found < 0)
				return -1;
		}
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (check_segment(c, elf, i, &ph, m, &end) != 0)
			return -1;
		img->lowest = ph.p_paddr < img->lowest ? ph.p_paddr : img->lowest;
		img->highest = end > img->highest ? end : img->highest;
		img->nsegments++;
	}
	if (img->nsegments == 0)
		return load_fail(c, "no loadable segments");
	if (!found)
		return load_fail(c, "no PVH entry note (Xen XEN_ELFNOTE_PHYS32_ENTRY)");
	if (img->pvh_entry < img->lowest || img->pvh_entry >= img->highest)
		return load_fail(c, "PVH entry %#llx is outside the loaded image",
		                 (unsigned long long)img->pvh_entry);
	return 0;
}

static void copy_segments(struct load_ctx *c, Elf *elf, size_t nph, struct gmem *m)
{
	GElf_Phdr ph;

	for (size_t i = 0; i < nph; i++) {
		uint8_t *dst;

		if (gelf_getphdr(elf, (int)i, &ph) == NULL || ph.p_type != PT_LOAD ||
		    ph.p_memsz == 0)
			continue;
		dst = gmem_ptr(m, ph.p_paddr, ph.p_memsz, 1); /* checked above */
		memcpy(dst, c->file + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
}

/* libelf would not read fd: say why, as the user would put it */
static void not_elf(struct load_ctx *c, int fd)
{
	struct stat st;
	char magic[SELFMAG];

	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		load_fail(c, "is a directory");
	else if (pread(fd, magic, SELFMAG, 0) == SELFMAG && memcmp(magic, ELFMAG, SELFMAG) == 0)
		load_fail(c, "truncated or corrupt ELF header");
	else
		load_fail(c, "not an ELF file");
}

/* The opened image checked (header, segments) and, unless m->base is NULL
 * (only check it), copied into m: 0, or -1 with the message. */
static int load_image(struct load_ctx *c, Elf *elf, struct gmem *m, struct elf_image *img)
{
	GElf_Ehdr eh;
	size_t nph;

	c->file = (const uint8_t *)elf_rawfile(elf, &c->file_size);
	if (c->file == NULL)
		return load_fail(c, "not an ELF file");
	if (check_header(c, elf, &eh) < 0)
		return -1;
	if (elf_getphdrnum(elf, &nph) != 0 || nph == 0)
		return load_fail(c, "no program headers");
	if (check_segments(c, elf, nph, m, img) < 0)
		return -1;
	if (m->base != NULL)
		copy_segments(c, elf, nph, m);
	return 0;
}

int elf_load(const char *path, struct gmem *m, struct elf_image *img, char *err, size_t errlen)
{
	struct load_ctx c = {.path = path, .err = err, .errlen = errlen};
	Elf *elf = NULL;
	int fd, rc = -1;

	memset(img, 0, sizeof(*img));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return load_fail(&c, "libelf: %s", elf_errmsg(-1));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return load_fail(&c, "%s", strerror(errno));
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf == NULL)
		not_elf(&c, fd);
	else
		rc = load_image(&c, elf, m, img);
	if (elf != NULL)
		elf_end(elf);
	close(fd);
	return rc;
}
