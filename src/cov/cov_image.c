/* src/cov/cov_image.c - the guest image's edges: its PC table (__sancov_pcs)
 * checked against its guards (__sancov_guards), each PC named by function and
 * source line through libdw.  The image is the user's file: every size is
 * checked, and what is allocated follows the edge count, which is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dwarf.h>
#include <elfutils/libdw.h>

#include "cov.h"

#define COV_IMAGE_MAX (256u << 20)

struct load {
	const char *path;
	char *err;
	size_t errlen;
	struct cov_image *img;
	Dwarf_Off *func_off; /* the subprogram DIE of each func, to find it again */
	Dwarf_Die last_cu;   /* the unit the last edge was in */
	bool have_last_cu;
};

static int load_fail(struct load *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int load_fail(struct load *l, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "%s: %s", l->path, msg);
	return -1;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* The whole file, at most COV_IMAGE_MAX bytes (free it); NULL with err. */
static uint8_t *read_image(const char *path, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s", path,
		         fd < 0 ? strerror(errno) : "not a regular file");
		goto fail;
	}
	if (st.st_size <= 0 || (uint64_t)st.st_size > COV_IMAGE_MAX) {
		snprintf(err, errlen, "%s: %lld bytes: not a guest image", path,
		         (long long)st.st_size);
		goto fail;
	}
	buf = malloc((size_t)st.st_size);
	while (buf != NULL && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (buf == NULL || got != (size_t)st.st_size) {
		snprintf(err, errlen, "%s: cannot read it", path);
		goto fail;
	}
	close(fd);
	*len = got;
	return buf;
fail:
	free(buf);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static Elf_Scn *section_named(Elf *elf, const char *name, GElf_Shdr *sh)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		const char *n;
		if (gelf_getshdr(scn, sh) == NULL)
			continue;
		n = elf_strptr(elf, shstrndx, sh->sh_name);
		if (n != NULL && strcmp(n, name) == 0)
			return scn;
	}
	return NULL;
}

/* The file's index in the table, added if new (the table holds at most
 * nedges + 1 files: one an edge and the unknown one). */
static uint32_t file_index(struct load *l, const char *full, const char *comp_dir)
{
	struct cov_image *img = l->img;
	const char *name = full != NULL ? full : "?";
	size_t cl = comp_dir != NULL ? strlen(comp_dir) : 0;

	if (cl > 0 && strncmp(name, comp_dir, cl) == 0 && name[cl] == '/')
		name += cl + 1;
	for (uint32_t i = 0; i < img->nfiles; i++)
		if (strcmp(img->file[i].name, name) == 0)
			return i;
	img->file[img->nfiles].name = strdup(name);
	if (full != NULL && full[0] != '/' && cl > 0) {
		char *p = malloc(cl + strlen(full) + 2);
		if (p != NULL)
			sprintf(p, "%s/%s", comp_dir, full);
		img->file[img->nfiles].path = p;
	} else {
		img->file[img->nfiles].path = strdup(full != NULL ? full : "?");
	}
	return img->nfiles++;
}

static const char *die_string(Dwarf_Die *die, int at)
{
	Dwarf_Attribute a;

	return dwarf_formstring(dwarf_attr_integrate(die, at, &a));
}

/* The unit's function whose code holds pc: an inlined callee's edges
 * belong to its caller, where they are (dwarf_getscopes would skip from an
 * inlined instance to the unit). */
static bool subprogram_of(Dwarf_Die *cu, uint64_t pc, Dwarf_Die *sub)
{
	if (cu == NULL || dwarf_child(cu, sub) != 0)
		return false;
	do {
		if (dwarf_tag(sub) == DW_TAG_subprogram && dwarf_haspc(sub, pc) == 1)
			return true;
	} while (dwarf_siblingof(sub, sub) == 0);
	return false;
}

static uint32_t func_index(struct load *l, Dwarf_Die *cu, uint64_t pc, const char *comp_dir)
{
	struct cov_image *img = l->img;
	Dwarf_Die die, *sub = subprogram_of(cu, pc, &die) ? &die : NULL;
	Dwarf_Off off = sub != NULL ? dwarf_dieoffset(sub) : (Dwarf_Off)-1;
	int line = 0;

	for (uint32_t i = 0; i < img->nfuncs; i++)
		if (l->func_off[i] == off)
			return i;
	struct cov_func *f = &img->func[img->nfuncs];
	const char *name = sub != NULL ? die_string(sub, DW_AT_name) : NULL;
	f->name = strdup(name != NULL ? name : "?");
	f->file = file_index(l, sub != NULL ? dwarf_decl_file(sub) : NULL, comp_dir);
	if (sub != NULL && dwarf_decl_line(sub, &line) == 0 && line > 0)
		f->line = (uint32_t)line;
	l->func_off[img->nfuncs] = off;
	return img->nfuncs++;
}

/* The compilation unit holding pc.  dwarf_addrdie goes by .debug_aranges,
 * which gcc's units have and clang's (the instrumented ones) do not: then
 * each unit's ranges, the one found last first (edges come in PC order). */
static bool cu_of(struct load *l, Dwarf *dw, uint64_t pc, Dwarf_Die *cu)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	if (dw == NULL)
		return false;
	if (dwarf_addrdie(dw, pc, cu) != NULL)
		return true;
	if (l->have_last_cu && dwarf_haspc(&l->last_cu, pc) == 1) {
		*cu = l->last_cu;
		return true;
	}
	for (; dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0; off = next)
		if (dwarf_offdie(dw, off + hsize, cu) != NULL && dwarf_haspc(cu, pc) == 1) {
			l->last_cu = *cu;
			l->have_last_cu = true;
			return true;
		}
	return false;
}

static void name_edge(struct load *l, Dwarf *dw, struct cov_edge *e)
{
	Dwarf_Die cu;
	Dwarf_Line *line;
	const char *comp_dir = NULL;
	int ln = 0;

	if (!cu_of(l, dw, e->pc, &cu)) {
		e->func = func_index(l, NULL, e->pc, NULL);
		e->file = l->img->func[e->func].file;
		return;
	}
	comp_dir = die_string(&cu, DW_AT_comp_dir);
	e->func = func_index(l, &cu, e->pc, comp_dir);
	line = dwarf_getsrc_die(&cu, e->pc);
	if (line != NULL && dwarf_lineno(line, &ln) == 0 && ln > 0) {
		e->line = (uint32_t)ln;
		e->file = file_index(l, dwarf_linesrc(line, NULL, NULL), comp_dir);
	} else {
		e->file = l->img->func[e->func].file;
	}
}

/* Functions in source order (file, line, name): the order of every table. */
static const struct cov_image *sort_img;
static int func_cmp(const void *a, const void *b)
{
	const struct cov_func *x = &sort_img->func[*(const uint32_t *)a];
	const struct cov_func *y = &sort_img->func[*(const uint32_t *)b];
	int c = strcmp(sort_img->file[x->file].name, sort_img->file[y->file].name);

	if (c != 0)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int sort_funcs(struct cov_image *img)
{
	uint32_t *order = calloc(img->nfuncs + 1, sizeof(*order));
	uint32_t *rank = calloc(img->nfuncs + 1, sizeof(*rank));
	struct cov_func *sorted = calloc(img->nfuncs + 1, sizeof(*sorted));

	if (order == NULL || rank == NULL || sorted == NULL) {
		free(order);
		free(rank);
		free(sorted);
		return -1;
	}
	for (uint32_t i = 0; i < img->nfuncs; i++)
		order[i] = i;
	sort_img = img;
	qsort(order, img->nfuncs, sizeof(*order), func_cmp);
	for (uint32_t i = 0; i < img->nfuncs; i++) {
		sorted[i] = img->func[order[i]];
		rank[order[i]] = i;
	}
	for (uint32_t i = 0; i < img->nedges; i++)
		img->edge[i].func = rank[img->edge[i].func];
	free(img->func);
	img->func = sorted;
	free(order);
	free(rank);
	return 0;
}

/* The PC table against the guards: one 16-byte entry and one 4-byte guard an
 * edge.  0 with nedges set (0: no coverage), or -1. */
static int read_pc_table(struct load *l, Elf *elf, Elf_Data **pcs)
{
	GElf_Shdr psh, gsh;
	Elf_Scn *ps = section_named(elf, "__sancov_pcs", &psh);
	Elf_Scn *gs = section_named(elf, "__sancov_guards", &gsh);

	*pcs = NULL;
	if (ps == NULL && gs == NULL)
		return 0;
	if (ps == NULL || gs == NULL)
		return load_fail(l, "has %s but no %s section",
		                 ps ? "__sancov_pcs" : "__sancov_guards",
		                 ps ? "__sancov_guards" : "__sancov_pcs");
	*pcs = elf_getdata(ps, NULL);
	if (psh.sh_type != SHT_PROGBITS || *pcs == NULL || (*pcs)->d_buf == NULL ||
	    (*pcs)->d_size != psh.sh_size || psh.sh_size % 16 != 0)
		return load_fail(l, "__sancov_pcs: not a table of 16-byte entries");
	if (psh.sh_size / 16 > PTS_COV_MAX_EDGES)
		return load_fail(l, "__sancov_pcs: %llu edges, more than %u",
		                 (unsigned long long)(psh.sh_size / 16), PTS_COV_MAX_EDGES);
	if (gsh.sh_size != psh.sh_size / 4)
		return load_fail(l, "__sancov_guards holds %llu guards for %llu PCs",
		                 (unsigned long long)(gsh.sh_size / 4),
		                 (unsigned long long)(psh.sh_size / 16));
	l->img->nedges = (uint32_t)(psh.sh_size / 16);
	l->img->guards_kva = gsh.sh_addr;
	return 0;
}

static int name_edges(struct load *l, Elf *elf, const Elf_Data *pcs)
{
	struct cov_image *img = l->img;
	Dwarf *dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	int rc = 0;

	img->edge = calloc(img->nedges, sizeof(*img->edge));
	img->func = calloc(img->nedges + 1, sizeof(*img->func));
	img->file = calloc(2 * (size_t)img->nedges + 2, sizeof(*img->file));
	l->func_off = calloc(img->nedges + 1, sizeof(*l->func_off));
	if (img->edge == NULL || img->func == NULL || img->file == NULL || l->func_off == NULL) {
		rc = load_fail(l, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < img->nedges; i++) {
		memcpy(&img->edge[i].pc, (const uint8_t *)pcs->d_buf + 16 * (size_t)i, 8);
		name_edge(l, dw, &img->edge[i]);
		img->func[img->edge[i].func].nedges++;
	}
	if (sort_funcs(img) != 0)
		rc = load_fail(l, "out of memory");
out:
	free(l->func_off);
	if (dw != NULL)
		dwarf_end(dw);
	return rc;
}

int cov_image_load(const char *path, struct cov_image *img, char *err, size_t errlen)
{
	struct load l = {.path = path, .err = err, .errlen = errlen, .img = img};
	Elf_Data *pcs;
	size_t len;
	uint8_t *buf;
	Elf *elf;
	int rc;

	memset(img, 0, sizeof(*img));
	if (realpath(path, img->path) == NULL)
		snprintf(img->path, sizeof(img->path), "%s", path);
	buf = read_image(path, &len, err, errlen);
	if (buf == NULL)
		return -1;
	img->hash = fnv1a(buf, len);
	elf_version(EV_CURRENT);
	elf = elf_memory((char *)buf, len);
	if (elf == NULL || elf_kind(elf) != ELF_K_ELF || gelf_getclass(elf) != ELFCLASS64) {
		rc = load_fail(&l, "not an ELF64 file");
	} else {
		rc = read_pc_table(&l, elf, &pcs);
		if (rc == 0 && img->nedges > 0)
			rc = name_edges(&l, elf, pcs);
	}
	if (elf != NULL)
		elf_end(elf);
	free(buf);
	if (rc != 0)
		cov_image_free(img);
	return rc;
}

void cov_image_free(struct cov_image *img)
{
	for (uint32_t i = 0; img->func != NULL && i < img->nfuncs; i++)
		free(img->func[i].name);
	for (uint32_t i = 0; img->file != NULL && i < img->nfiles; i++) {
		free(img->file[i].name);
		free(img->file[i].path);
	}
	free(img->edge);
	free(img->func);
	free(img->file);
	img->edge = NULL;
	img->func = NULL;
	img->file = NULL;
	img->nedges = img->nfuncs = img->nfiles = 0;
}
