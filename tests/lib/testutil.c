/* tests/lib/testutil.c - helpers shared by the VMM tests: temp directories,
 * hand-built ELF images, running the ptshadow binary (see testutil.h).
 */
#include "testutil.h"

#include "clock.h"

char tu_dir[64];

const char *tu_bin(void)
{
	const char *p = getenv("PTSHADOW_BIN");
	return p != NULL && *p != '\0' ? p : "build/ptshadow";
}

const char *tu_guest(void)
{
	const char *p = getenv("PTSHADOW_GUEST");
	return p != NULL && *p != '\0' ? p : "build/guest.elf";
}

bool tu_have_kvm(void)
{
	return access("/dev/kvm", R_OK | W_OK) == 0;
}

bool tu_have_qemu(void)
{
	const char *env = getenv("PATH");
	char dirs[4096], path[4200], *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s", env != NULL ? env : "/usr/bin:/bin");
	for (char *d = strtok_r(dirs, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/qemu-system-x86_64", d);
		if (access(path, X_OK) == 0)
			return true;
	}
	return false;
}

const char *tu_backend(void)
{
	const char *b = getenv("PTSHADOW_BACKEND");
	return b != NULL && *b != '\0' ? b : "auto";
}

void tu_skip(const char *test, const char *why)
{
	const char *log = getenv("PTSHADOW_NOTRUN_LOG");

	fprintf(stderr, "NOT RUN %s: %s\n", test, why);
	if (log != NULL && *log != '\0') {
		int fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0600);
		if (fd >= 0) {
			dprintf(fd, "%s\t%s\n", test, why);
			close(fd);
		}
	}
}

bool tu_need_backend(const char *test)
{
	const char *b = tu_backend(), *req = getenv("PTSHADOW_REQUIRE_BACKENDS");
	bool kvm = strcmp(b, "kvm") == 0 || (strcmp(b, "auto") == 0 && tu_have_kvm());
	bool ok = kvm ? tu_have_kvm() : tu_have_qemu();
	char name[256];

	if (ok)
		return true;
	ck_assert_msg(req == NULL || strstr(req, kvm ? "kvm" : "qemu") == NULL,
	              "%s [%s]: should have run (PTSHADOW_REQUIRE_BACKENDS=%s), but %s", test, b,
	              req, kvm ? "/dev/kvm is missing" : "qemu-system-x86_64 is not on PATH");
	snprintf(name, sizeof(name), "%s [%s]", test, b);
	tu_skip(name, kvm ? "no /dev/kvm" : "qemu-system-x86_64 is not installed");
	return false;
}

bool tu_need_qemu_cpus(const char *test)
{
	char name[128];

	if (strcmp(tu_backend(), "kvm") == 0 || strcmp(tu_backend(), "libvirt") == 0) {
		snprintf(name, sizeof(name), "%s [%s]", test, tu_backend());
		tu_skip(name,
		        "runs compared op for op on two CPUs need one interleaving: QEMU's "
		        "single-threaded TCG (the qemu pass); here the vCPUs run in parallel");
		return false;
	}
	if (!tu_have_qemu()) {
		tu_skip(test, "qemu-system-x86_64 is not installed");
		return false;
	}
	return true;
}

/* path and everything below it; a file system a test mounted there (and
 * left behind when a check failed) is unmounted first */
static void remove_tree(const char *path, int depth)
{
	DIR *d;
	struct dirent *e;
	char p[1024];

	if (unlink(path) == 0 || depth > 8)
		return;
	umount2(path, MNT_DETACH); /* EINVAL when it is no mount point: harmless */
	d = opendir(path);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		remove_tree(p, depth + 1);
	}
	if (d != NULL)
		closedir(d);
	rmdir(path);
}

void tu_tmpdir_teardown(void)
{
	if (tu_dir[0] == '\0')
		return;
	remove_tree(tu_dir, 0);
	tu_dir[0] = '\0';
}

bool tu_mount_tmpfs(const char *dir, const char *size, const char *test)
{
	char opts[64], why[300];

	if (geteuid() != 0) {
		tu_skip(test, "needs root to mount a small tmpfs (a full disk)");
		return false;
	}
	snprintf(opts, sizeof(opts), "size=%s", size);
	if ((mkdir(dir, 0755) != 0 && errno != EEXIST) ||
	    mount("tmpfs", dir, "tmpfs", 0, opts) != 0) {
		snprintf(why, sizeof(why), "cannot mount a tmpfs on %s: %s", dir, strerror(errno));
		tu_skip(test, why);
		return false;
	}
	return true;
}

void tu_fill_fs(const char *dir, unsigned pages_left)
{
	char path[600], page[4096];
	struct statvfs v;
	int fd;

	memset(page, 'f', sizeof(page));
	snprintf(path, sizeof(path), "%s/filler", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(statvfs(dir, &v), 0);
	for (uint64_t n = (uint64_t)v.f_bavail * v.f_bsize / 4096; n > pages_left; n--)
		ck_assert_int_eq(write(fd, page, sizeof(page)), (ssize_t)sizeof(page));
	close(fd);
}

long tu_unsafe_byte(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f)
			return (long)i;
	}
	return -1;
}

void tu_tmpdir_setup(void)
{
	snprintf(tu_dir, sizeof(tu_dir), "/tmp/ptshadow-test-XXXXXX");
	ck_assert_msg(mkdtemp(tu_dir) != NULL, "mkdtemp: %s", strerror(errno));
}

void tu_tmpdir_fixture(TCase *tc)
{
	tcase_add_unchecked_fixture(tc, tu_tmpdir_setup, tu_tmpdir_teardown);
}

const char *tu_path(const char *name)
{
	static char buf[4][512];
	static unsigned next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", tu_dir, name);
	return p;
}

void tu_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, r;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	do {
		if (cap - n < 4096) {
			cap = cap * 2 + 8192;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

uint8_t tu_pattern(size_t i)
{
	return (uint8_t)(i * 7u + 0x5a);
}

void tu_elf_init(struct tu_elf *e)
{
	uint32_t entry = (uint32_t)TU_SEG_PADDR + 0x10;

	memset(e, 0, sizeof(*e));
	memcpy(e->eh.e_ident, ELFMAG, SELFMAG);
	e->eh.e_ident[EI_CLASS] = ELFCLASS64;
	e->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	e->eh.e_ident[EI_VERSION] = EV_CURRENT;
	e->eh.e_type = ET_EXEC;
	e->eh.e_machine = EM_X86_64;
	e->eh.e_version = EV_CURRENT;
	e->eh.e_entry = TU_SEG_PADDR;
	e->eh.e_phoff = sizeof(Elf64_Ehdr);
	e->eh.e_ehsize = sizeof(Elf64_Ehdr);
	e->eh.e_phentsize = sizeof(Elf64_Phdr);
	e->eh.e_phnum = 2;

	e->ph[0] = (Elf64_Phdr){.p_type = PT_NOTE,
	                        .p_flags = PF_R,
	                        .p_offset = TU_NOTE_OFF,
	                        .p_vaddr = 0,
	                        .p_paddr = 0,
	                        .p_filesz = 12 + 4 + 4,
	                        .p_memsz = 12 + 4 + 4,
	                        .p_align = 4};
	e->ph[1] = (Elf64_Phdr){.p_type = PT_LOAD,
	                        .p_flags = PF_R | PF_W | PF_X,
	                        .p_offset = TU_SEG_OFF,
	                        .p_vaddr = TU_SEG_PADDR,
	                        .p_paddr = TU_SEG_PADDR,
	                        .p_filesz = TU_SEG_FILESZ,
	                        .p_memsz = TU_SEG_MEMSZ,
	                        .p_align = 0x1000};
	e->nh = (Elf64_Nhdr){.n_namesz = 4, .n_descsz = 4, .n_type = PTS_XEN_ELFNOTE_PHYS32_ENTRY};
	memcpy(e->name, "Xen", 4);
	memcpy(e->desc, &entry, 4);
	e->file_size = TU_FILE_SIZE;
}

void tu_elf_add_load(struct tu_elf *e, uint64_t paddr, uint64_t memsz)
{
	ck_assert_uint_lt(e->eh.e_phnum, TU_ELF_MAX_PH);
	e->ph[e->eh.e_phnum++] = (Elf64_Phdr){.p_type = PT_LOAD,
	                                      .p_flags = PF_R,
	                                      .p_offset = TU_SEG_OFF,
	                                      .p_vaddr = paddr,
	                                      .p_paddr = paddr,
	                                      .p_filesz = TU_SEG_FILESZ,
	                                      .p_memsz = memsz,
	                                      .p_align = 0x1000};
}

void tu_elf_write(const struct tu_elf *e, const char *path)
{
	uint8_t *img = calloc(1, TU_FILE_SIZE);
	uint8_t *p;

	ck_assert_ptr_nonnull(img);
	ck_assert_uint_le(e->file_size, TU_FILE_SIZE);
	memcpy(img, &e->eh, sizeof(e->eh));
	memcpy(img + sizeof(e->eh), e->ph, sizeof(e->ph));
	p = img + TU_NOTE_OFF;
	memcpy(p, &e->nh, sizeof(e->nh));
	memcpy(p + sizeof(e->nh), e->name, sizeof(e->name));
	memcpy(p + sizeof(e->nh) + sizeof(e->name), e->desc, sizeof(e->desc));
	for (size_t i = 0; i < TU_SEG_FILESZ; i++)
		img[TU_SEG_OFF + i] = tu_pattern(i);
	tu_write_file(path, img, e->file_size);
	free(img);
}

void tu_elf32_write(const char *path)
{
	struct {
		Elf32_Ehdr eh;
		Elf32_Phdr ph;
		uint8_t text[16];
	} img;

	memset(&img, 0, sizeof(img));
	memcpy(img.eh.e_ident, ELFMAG, SELFMAG);
	img.eh.e_ident[EI_CLASS] = ELFCLASS32;
	img.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img.eh.e_ident[EI_VERSION] = EV_CURRENT;
	img.eh.e_type = ET_EXEC;
	img.eh.e_machine = EM_386;
	img.eh.e_version = EV_CURRENT;
	img.eh.e_entry = 0x100000;
	img.eh.e_phoff = sizeof(Elf32_Ehdr);
	img.eh.e_ehsize = sizeof(Elf32_Ehdr);
	img.eh.e_phentsize = sizeof(Elf32_Phdr);
	img.eh.e_phnum = 1;
	img.ph = (Elf32_Phdr){.p_type = PT_LOAD,
	                      .p_offset = offsetof(__typeof__(img), text),
	                      .p_vaddr = 0x100000,
	                      .p_paddr = 0x100000,
	                      .p_filesz = 16,
	                      .p_memsz = 16,
	                      .p_flags = PF_R | PF_X,
	                      .p_align = 4};
	memset(img.text, 0xf4, sizeof(img.text)); /* hlt */
	tu_write_file(path, &img, sizeof(img));
}

double tu_now(void)
{
	return (double)now_ns() / 1e9;
}

void tu_run_signal(struct tu_proc *p, unsigned timeout_s, double signal_at, int sig,
                   char *const argv[])
{
	char out_path[600], err_path[600];
	double t0 = tu_now(), deadline = t0 + timeout_s;
	bool signalled = false;
	pid_t pid;
	int st;

	memset(p, 0, sizeof(*p));
	snprintf(out_path, sizeof(out_path), "%s/.stdout", tu_dir);
	snprintf(err_path, sizeof(err_path), "%s/.stderr", tu_dir);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		setpgid(0, 0);
		execvp(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		ck_assert_int_eq(r, 0);
		if (sig != 0 && !signalled && tu_now() > t0 + signal_at) {
			kill(pid, sig);
			signalled = true;
		}
		if (tu_now() > deadline) {
			p->timed_out = true;
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(2000);
	}
	p->secs = tu_now() - t0;
	p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	p->out = tu_read_file(out_path, &p->out_len);
	p->err = tu_read_file(err_path, &p->err_len);
	unlink(out_path);
	unlink(err_path);
}

void tu_run(struct tu_proc *p, unsigned timeout_s, char *const argv[])
{
	tu_run_signal(p, timeout_s, 0, 0, argv);
}

void tu_proc_free(struct tu_proc *p)
{
	free(p->out);
	free(p->err);
	p->out = p->err = NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *tu_run_findings(const char *err)
{
	char **v = NULL, *out;
	size_t n = 0, len = 1;
	for (const char *l = err; *l != '\0';) {
		const char *nl = strchr(l, '\n'), *colon;
		char id[32];
		unsigned line;
		if (strncmp(l, "ptshadow run: ", 14) == 0 &&
		    (colon = strstr(l + 14, ".ops:")) != NULL &&
		    sscanf(colon + 5, "%u: %31s", &line, id) == 2) {
			v = realloc(v, (n + 1) * sizeof(*v));
			ck_assert_ptr_nonnull(v);
			ck_assert_int_gt(asprintf(&v[n], "%u %s", line, id), 0);
			len += strlen(v[n++]) + 1;
		}
		l = nl != NULL ? nl + 1 : l + strlen(l);
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_str);
	out = calloc(1, len);
	ck_assert_ptr_nonnull(out);
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
			strcat(strcat(out, v[i]), "\n");
		free(v[i]);
	}
	free(v);
	return out;
}

bool tu_has_line_starting(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *l = text; l != NULL && *l != '\0';) {
		const char *nl = strchr(l, '\n');
		if (strncmp(l, prefix, n) == 0)
			return true;
		l = nl != NULL ? nl + 1 : NULL;
	}
	return false;
}

unsigned tu_count_lines(const char *text)
{
	unsigned n = 0;

	for (const char *c = text; *c != '\0'; c++)
		n += *c == '\n';
	return n;
}

unsigned tu_crash_dirs(const char *out, char *report, size_t len)
{
	char path[600];
	struct dirent *e;
	unsigned n = 0;
	DIR *d;

	if (report != NULL && len > 0)
		report[0] = '\0';
	snprintf(path, sizeof(path), "%s/crashes", out);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n++ == 0 && report != NULL)
			snprintf(report, len, "%s/%s/report.json", path, e->d_name);
	}
	closedir(d);
	return n;
}
