/* tests/unit/test_hypercall.c - the hypercall table and dispatcher, and port
 * I/O (COM1, the hypercall ports, the empty bus), on a fake struct vm whose
 * guest memory is a malloc'd buffer: no KVM needed.
 */
#include "testutil.h"

#include "kvm_vm.h"

Suite *suite_hypercall(void);

#define MEM_SIZE 0x20000u
#define REC      0x1000u /* where the tests put hypercall records */

static struct vm vm;
static char *cons_buf;
static size_t cons_len;

static void setup(void)
{
	memset(&vm, 0, sizeof(vm));
	vm.mem.size = MEM_SIZE;
	vm.mem.base = calloc(1, MEM_SIZE);
	ck_assert_ptr_nonnull(vm.mem.base);
	vm.cons.out = open_memstream(&cons_buf, &cons_len);
	ck_assert_ptr_nonnull(vm.cons.out);
	vm.cons.prefix = "guest: ";
}

static void teardown(void)
{
	fclose(vm.cons.out);
	free(cons_buf);
	cons_buf = NULL;
	free(vm.mem.base);
}

/* What reached the console so far. */
static const char *console_text(void)
{
	fflush(vm.cons.out);
	return cons_buf != NULL ? cons_buf : "";
}

static void put(uint64_t gpa, const void *rec, size_t len)
{
	ck_assert_uint_le(gpa + len, MEM_SIZE);
	memcpy(vm.mem.base + gpa, rec, len);
}

/* The guest's `outl %eax, %dx` to the port of hypercall nr. */
static enum vm_event hc_out(unsigned nr, uint32_t gpa)
{
	uint8_t data[4];

	memcpy(data, &gpa, 4);
	return io_dispatch(&vm, (uint16_t)(PTS_HC_PORT_BASE + nr), true, 4, data);
}

static void assert_error_mentions(const char *a, const char *b)
{
	ck_assert_msg(strstr(vm.error, a) != NULL, "error '%s' lacks '%s'", vm.error, a);
	if (b != NULL)
		ck_assert_msg(strstr(vm.error, b) != NULL, "error '%s' lacks '%s'", vm.error, b);
}

/* ---- the table ------------------------------------------------------------ */

START_TEST(lookup_every_hypercall)
{
	static const struct {
		unsigned nr;
		const char *name;
		uint32_t size;
	} want[] = {
	    {PTS_HC_EXIT, "exit", sizeof(struct pts_hc_exit)},
	    {PTS_HC_REGISTER, "register", sizeof(struct pts_descriptor)},
	    {PTS_HC_OP_DONE, "op_done", offsetof(struct pts_ring, slots)},
	    {PTS_HC_PANIC, "panic", sizeof(struct pts_hc_panic)},
	    {PTS_HC_NOP, "nop", sizeof(struct pts_hc_nop)},
	};

	ck_assert_uint_eq(sizeof(want) / sizeof(want[0]), PTS_HC_COUNT);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct hypercall *hc = hypercall_lookup(want[i].nr);
		ck_assert_msg(hc != NULL, "hypercall %u has no entry", want[i].nr);
		ck_assert_str_eq(hc->name, want[i].name);
		ck_assert_uint_eq(hc->record_size, want[i].size);
		ck_assert_ptr_nonnull(hc->handler);
	}
}
END_TEST

START_TEST(lookup_out_of_range)
{
	ck_assert_ptr_null(hypercall_lookup(PTS_HC_COUNT));
	ck_assert_ptr_null(hypercall_lookup(PTS_HC_PORT_COUNT - 1));
	ck_assert_ptr_null(hypercall_lookup(PTS_HC_PORT_COUNT));
	ck_assert_ptr_null(hypercall_lookup(0x1000));
	ck_assert_ptr_null(hypercall_lookup(~0u));
}
END_TEST

/* ---- dispatch ------------------------------------------------------------- */

START_TEST(exit_record)
{
	struct pts_hc_exit r = {.status = 7};

	put(REC, &r, sizeof(r));
	ck_assert_int_eq(hypercall_dispatch(&vm, PTS_HC_EXIT, REC), VM_EV_EXIT);
	ck_assert_uint_eq(vm.exit_status, 7);
}
END_TEST

START_TEST(exit_at_last_bytes_of_memory)
{
	struct pts_hc_exit r = {.status = 0};

	vm.exit_status = 99;
	put(MEM_SIZE - sizeof(r), &r, sizeof(r));
	ck_assert_int_eq(hypercall_dispatch(&vm, PTS_HC_EXIT, MEM_SIZE - sizeof(r)), VM_EV_EXIT);
	ck_assert_uint_eq(vm.exit_status, 0);
}
END_TEST

START_TEST(register_record)
{
	struct pts_descriptor d = {.magic = PTS_DESC_MAGIC};

	put(REC, &d, sizeof(d));
	ck_assert_int_eq(hypercall_dispatch(&vm, PTS_HC_REGISTER, REC), VM_EV_REGISTER);
	ck_assert_uint_eq(vm.desc_gpa, REC);
}
END_TEST

/* One registration a guest: a second one (here: during ops) is the guest's
 * error, never an event a caller in the middle of an op takes for the backend's */
START_TEST(second_register_is_guest_error)
{
	struct pts_descriptor d = {.magic = PTS_DESC_MAGIC};

	put(REC, &d, sizeof(d));
	put(2 * REC, &d, sizeof(d));
	ck_assert_int_eq(hypercall_dispatch(&vm, PTS_HC_REGISTER, REC), VM_EV_REGISTER);
	ck_assert_int_eq(hypercall_dispatch(&vm, PTS_HC_REGISTER, 2 * REC), VM_EV_GUEST_ERROR);
	assert_error_mentions("register", "second descriptor");
	ck_assert_uint_eq(vm.desc_gpa, REC);
}
END_TEST

START_TEST(op_done_and_nop)
{
	ck_assert_int_eq(hypercall_dispatch(&vm, PTS_HC_OP_DONE, REC), VM_EV_OP_DONE);
	ck_assert_int_eq(hypercall_dispatch(&vm, PTS_HC_NOP, REC), VM_EV_NONE);
}
END_TEST

/* The guest's strings are copied and terminated, whatever the guest wrote. */
START_TEST(panic_record_unterminated)
{
	struct pts_hc_panic p;

	memset(&p, 'A', sizeof(p));
	p.line = 42;
	p.vector = 14;
	p.rip = 0xffffffff80101234ull;
	put(REC, &p, sizeof(p));
	ck_assert_int_eq(hypercall_dispatch(&vm, PTS_HC_PANIC, REC), VM_EV_PANIC);
	ck_assert_uint_eq(vm.panic.line, 42);
	ck_assert_uint_eq(vm.panic.vector, 14);
	ck_assert_uint_eq(vm.panic.rip, 0xffffffff80101234ull);
	ck_assert_uint_eq(strlen(vm.panic.file), sizeof(p.file) - 1);
	ck_assert_uint_eq(strlen(vm.panic.msg), sizeof(p.msg) - 1);
}
END_TEST

/* The handler sees a copy: the guest changing memory afterwards changes nothing. */
START_TEST(panic_record_is_copied)
{
	struct pts_hc_panic p = {.line = 1, .vector = 0xffffffffu};

	snprintf(p.msg, sizeof(p.msg), "first");
	put(REC, &p, sizeof(p));
	ck_assert_int_eq(hypercall_dispatch(&vm, PTS_HC_PANIC, REC), VM_EV_PANIC);
	memset(vm.mem.base + REC, 'Z', sizeof(p));
	ck_assert_str_eq(vm.panic.msg, "first");
}
END_TEST

START_TEST(record_outside_memory)
{
	vm.exit_status = 99;
	ck_assert_int_eq(hypercall_dispatch(&vm, PTS_HC_EXIT, MEM_SIZE), VM_EV_GUEST_ERROR);
	assert_error_mentions("hypercall exit", "0x20000");
	ck_assert_uint_eq(vm.exit_status, 99);
}
END_TEST

START_TEST(record_straddles_end)
{
	ck_assert_int_eq(hypercall_dispatch(&vm, PTS_HC_EXIT, MEM_SIZE - 4), VM_EV_GUEST_ERROR);
	assert_error_mentions("hypercall exit", "outside guest memory");
	ck_assert_int_eq(hypercall_dispatch(&vm, PTS_HC_REGISTER, MEM_SIZE - 8), VM_EV_GUEST_ERROR);
	assert_error_mentions("hypercall register", NULL);
	ck_assert_int_eq(hypercall_dispatch(&vm, PTS_HC_PANIC, UINT64_MAX - 7), VM_EV_GUEST_ERROR);
	assert_error_mentions("hypercall panic", NULL);
}
END_TEST

START_TEST(record_misaligned)
{
	struct pts_hc_exit r = {.status = 0};

	put(REC + 4, &r, sizeof(r));
	ck_assert_int_eq(hypercall_dispatch(&vm, PTS_HC_EXIT, REC + 4), VM_EV_GUEST_ERROR);
	assert_error_mentions("hypercall exit", "misaligned");
	assert_error_mentions("0x1004", NULL);
}
END_TEST

START_TEST(unknown_number)
{
	ck_assert_int_eq(hypercall_dispatch(&vm, PTS_HC_COUNT, REC), VM_EV_GUEST_ERROR);
	assert_error_mentions("unknown hypercall 5", "0x505");
}
END_TEST

/* ---- the hypercall ports -------------------------------------------------- */

START_TEST(port_out4_dispatches)
{
	struct pts_hc_exit r = {.status = 3};

	put(REC, &r, sizeof(r));
	ck_assert_int_eq(hc_out(PTS_HC_EXIT, REC), VM_EV_EXIT);
	ck_assert_uint_eq(vm.exit_status, 3);
	ck_assert_uint_eq(vm.hypercalls, 1);
	ck_assert_int_eq(hc_out(PTS_HC_NOP, REC), VM_EV_NONE);
	ck_assert_uint_eq(vm.hypercalls, 2);
}
END_TEST

START_TEST(port_unknown_number)
{
	ck_assert_int_eq(hc_out(PTS_HC_PORT_COUNT - 1, REC), VM_EV_GUEST_ERROR);
	assert_error_mentions("unknown hypercall 15", "0x50f");
}
END_TEST

START_TEST(port_in_is_guest_error)
{
	uint8_t data[4] = {0};

	ck_assert_int_eq(io_dispatch(&vm, PTS_HC_PORT_BASE, false, 4, data), VM_EV_GUEST_ERROR);
	assert_error_mentions("read", "0x500");
}
END_TEST

START_TEST(port_out1_is_guest_error)
{
	uint8_t data[4] = {0};

	ck_assert_int_eq(io_dispatch(&vm, PTS_HC_PORT_BASE + PTS_HC_NOP, true, 1, data),
	                 VM_EV_GUEST_ERROR);
	assert_error_mentions("wrote 1 byte", "0x504");
	ck_assert_int_eq(io_dispatch(&vm, PTS_HC_PORT_BASE, true, 2, data), VM_EV_GUEST_ERROR);
	assert_error_mentions("wrote 2 byte", NULL);
	ck_assert_uint_eq(vm.hypercalls, 0);
}
END_TEST

START_TEST(bad_io_size)
{
	uint8_t data[8] = {0};

	ck_assert_int_eq(io_dispatch(&vm, 0x80, true, 3, data), VM_EV_GUEST_ERROR);
	assert_error_mentions("3 bytes", "0x80");
	ck_assert_int_eq(io_dispatch(&vm, PTS_HC_PORT_BASE, true, 8, data), VM_EV_GUEST_ERROR);
}
END_TEST

/* ---- COM1 and the empty bus ----------------------------------------------- */

static uint8_t port_in(uint16_t port, unsigned size)
{
	uint8_t data[4] = {0x11, 0x22, 0x33, 0x44};

	ck_assert_int_eq(io_dispatch(&vm, port, false, size, data), VM_EV_NONE);
	for (unsigned i = 1; i < size; i++)
		ck_assert_uint_eq(data[i], data[0]);
	return data[0];
}

static void com1_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t b = (uint8_t)s[i];
		ck_assert_int_eq(io_dispatch(&vm, PTS_COM1_BASE, true, 1, &b), VM_EV_NONE);
	}
}

START_TEST(com1_lsr_ready)
{
	ck_assert_uint_eq(port_in(PTS_COM1_BASE + 5, 1), 0x60);
}
END_TEST

START_TEST(com1_other_registers_read_zero)
{
	ck_assert_uint_eq(port_in(PTS_COM1_BASE + 0, 1), 0);
	ck_assert_uint_eq(port_in(PTS_COM1_BASE + 1, 1), 0);
	ck_assert_uint_eq(port_in(PTS_COM1_BASE + 7, 1), 0);
}
END_TEST

START_TEST(com1_thr_reaches_console)
{
	com1_write("hello\nworld\r\n", 13);
	ck_assert_str_eq(console_text(), "guest: hello\nguest: world\n");
	ck_assert_uint_eq(vm.cons.tail_len, 13);
	ck_assert_mem_eq(vm.cons.tail, "hello\nworld\r\n", 13);
}
END_TEST

START_TEST(com1_other_register_writes_ignored)
{
	uint8_t b = 'X';

	ck_assert_int_eq(io_dispatch(&vm, PTS_COM1_BASE + 3, true, 1, &b), VM_EV_NONE);
	com1_write("\n", 1);
	ck_assert_str_eq(console_text(), "");
}
END_TEST

START_TEST(com1_partial_line_flushed)
{
	com1_write("no newline", 10);
	ck_assert_str_eq(console_text(), "");
	console_flush(&vm.cons);
	ck_assert_str_eq(console_text(), "guest: no newline\n");
}
END_TEST

/* A guest must not drive the host terminal: escape sequences, bells, DEL,
 * shown as \xNN so that the line still says what the guest wrote. */
START_TEST(control_bytes_sanitised)
{
	static const char evil[] = "a\x1b[2Jb\x07"
	                           "c\x08"
	                           "d\x7f"
	                           "e\tf\x00g\n";

	com1_write(evil, sizeof(evil) - 1);
	ck_assert_str_eq(console_text(), "guest: a\\x1b[2Jb\\x07c\\x08d\\x7fe\tf\\x00g\n");
}
END_TEST

START_TEST(long_line_split)
{
	char line[600];

	memset(line, 'x', sizeof(line));
	com1_write(line, sizeof(line));
	com1_write("\n", 1);
	/* every byte arrives, in lines no longer than the console's buffer */
	const char *t = console_text();
	size_t xs = 0;
	for (const char *c = t; *c; c++)
		xs += *c == 'x';
	ck_assert_uint_eq(xs, sizeof(line));
	ck_assert_uint_eq(tu_count_lines(t), 3);
}
END_TEST

START_TEST(unknown_port_reads_ff)
{
	ck_assert_uint_eq(port_in(0x80, 1), 0xff);
	ck_assert_uint_eq(port_in(0x61, 2), 0xff);
	ck_assert_uint_eq(port_in(0xcf8, 4), 0xff);
	ck_assert_uint_eq(port_in(PTS_HC_PORT_BASE + PTS_HC_PORT_COUNT, 1), 0xff);
	ck_assert_uint_eq(port_in(PTS_COM1_BASE + 8, 1), 0xff);
}
END_TEST

START_TEST(unknown_port_writes_ignored)
{
	uint8_t data[4] = {1, 2, 3, 4};

	ck_assert_int_eq(io_dispatch(&vm, PTS_QEMU_EXIT_PORT, true, 4, data), VM_EV_NONE);
	ck_assert_int_eq(io_dispatch(&vm, 0x80, true, 1, data), VM_EV_NONE);
	ck_assert_str_eq(console_text(), "");
}
END_TEST

Suite *suite_hypercall(void)
{
	Suite *s = suite_create("hypercall");
	TCase *table = tcase_create("table");
	TCase *dispatch = tcase_create("dispatch");
	TCase *ports = tcase_create("ports");

	tcase_add_test(table, lookup_every_hypercall);
	tcase_add_test(table, lookup_out_of_range);
	suite_add_tcase(s, table);

	tcase_add_checked_fixture(dispatch, setup, teardown);
	tcase_add_test(dispatch, exit_record);
	tcase_add_test(dispatch, exit_at_last_bytes_of_memory);
	tcase_add_test(dispatch, register_record);
	tcase_add_test(dispatch, second_register_is_guest_error);
	tcase_add_test(dispatch, op_done_and_nop);
	tcase_add_test(dispatch, panic_record_unterminated);
	tcase_add_test(dispatch, panic_record_is_copied);
	tcase_add_test(dispatch, record_outside_memory);
	tcase_add_test(dispatch, record_straddles_end);
	tcase_add_test(dispatch, record_misaligned);
	tcase_add_test(dispatch, unknown_number);
	suite_add_tcase(s, dispatch);

	tcase_add_checked_fixture(ports, setup, teardown);
	tcase_add_test(ports, port_out4_dispatches);
	tcase_add_test(ports, port_unknown_number);
	tcase_add_test(ports, port_in_is_guest_error);
	tcase_add_test(ports, port_out1_is_guest_error);
	tcase_add_test(ports, bad_io_size);
	tcase_add_test(ports, com1_lsr_ready);
	tcase_add_test(ports, com1_other_registers_read_zero);
	tcase_add_test(ports, com1_thr_reaches_console);
	tcase_add_test(ports, com1_other_register_writes_ignored);
	tcase_add_test(ports, com1_partial_line_flushed);
	tcase_add_test(ports, control_bytes_sanitised);
	tcase_add_test(ports, long_line_split);
	tcase_add_test(ports, unknown_port_reads_ff);
	tcase_add_test(ports, unknown_port_writes_ignored);
	suite_add_tcase(s, ports);
	return s;
}
