/* tests/unit/test_backends.c - the same finding on every backend: each
 * in-tree mutant's scenario, run on KVM and on QEMU, is reported at the same
 * op with the same invariant (report.json's op_index and invariant).  Needs
 * both backends; where one is missing the test says so and does not run.
 */
#include <jansson.h>

#include "testutil.h"

Suite *suite_backends(void);

static char mutant_names[64][64];
static unsigned nmutants;

/* the mutants of configs/mutants.list (none if it cannot be read) */
static void load_mutants(void)
{
	char line[512], name[64];
	FILE *f = fopen("configs/mutants.list", "r");

	nmutants = 0;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL && nmutants < 64)
		if (line[0] != '#' && sscanf(line, "%63s", name) == 1)
			snprintf(mutant_names[nmutants++], sizeof(mutant_names[0]), "%s", name);
	if (f != NULL)
		fclose(f);
}

/* Run the mutant's scenario on backend; the first finding's (op, invariant). */
static void finding_on(const char *backend, const char *name, long long *op, char *inv, size_t len)
{
	char elf[256], ops[256], out[600], cmd[1200];
	struct tu_proc p;
	json_t *j;
	json_error_t je;
	FILE *ls;

	snprintf(elf, sizeof(elf), "build/mutants/%s.elf", name);
	snprintf(ops, sizeof(ops), "tests/mutants/%s.ops", name);
	snprintf(out, sizeof(out), "%s/%s-%s", tu_dir, name, backend);
	char *argv[] = {(char *)tu_bin(),
	                "run",
	                "--backend",
	                (char *)backend,
	                "--ops",
	                ops,
	                "--out",
	                out,
	                elf,
	                NULL};
	tu_run(&p, 120, argv);
	ck_assert_msg(p.status == 1, "%s on %s: exit %d\n%s", name, backend, p.status, p.err);
	tu_proc_free(&p);
	snprintf(cmd, sizeof(cmd), "ls -d %s/crashes/*/report.json | head -n 1", out);
	ls = popen(cmd, "r");
	ck_assert_ptr_nonnull(ls);
	ck_assert_msg(fgets(cmd, sizeof(cmd), ls) != NULL, "%s on %s: no report.json", name,
	              backend);
	pclose(ls);
	cmd[strcspn(cmd, "\n")] = '\0';
	j = json_load_file(cmd, 0, &je);
	ck_assert_msg(j != NULL, "%s: %s", cmd, je.text);
	*op = json_integer_value(json_object_get(j, "op_index"));
	snprintf(inv, len, "%s", json_string_value(json_object_get(j, "invariant")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "guest"), "backend")),
	                 backend);
	json_decref(j);
}

START_TEST(same_finding_on_every_backend)
{
	const char *name;
	long long op_kvm, op_qemu;
	char inv_kvm[32], inv_qemu[32];

	load_mutants();
	ck_assert_msg(nmutants > 0, "configs/mutants.list: no mutants (run from the source tree)");
	ck_assert_uint_lt((unsigned)_i, nmutants);
	name = mutant_names[_i];
	if (!tu_have_kvm() || !tu_have_qemu()) {
		char test[128];
		snprintf(test, sizeof(test), "same_finding_on_every_backend %s", name);
		tu_skip(test, !tu_have_kvm()
		                  ? "needs both backends; no /dev/kvm"
		                  : "needs both backends; qemu-system-x86_64 is not installed");
		return;
	}
	finding_on("kvm", name, &op_kvm, inv_kvm, sizeof(inv_kvm));
	finding_on("qemu", name, &op_qemu, inv_qemu, sizeof(inv_qemu));
	ck_assert_msg(op_kvm == op_qemu && strcmp(inv_kvm, inv_qemu) == 0,
	              "%s: kvm finds %s at op %lld, qemu %s at op %lld", name, inv_kvm, op_kvm,
	              inv_qemu, op_qemu);
}
END_TEST

Suite *suite_backends(void)
{
	Suite *s = suite_create("backends");
	TCase *tc = tcase_create("agree");

	tu_tmpdir_fixture(tc);
	tcase_set_timeout(tc, 300);
	load_mutants();
	tcase_add_loop_test(tc, same_finding_on_every_backend, 0, nmutants > 0 ? (int)nmutants : 1);
	suite_add_tcase(s, tc);
	return s;
}
