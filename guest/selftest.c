/* guest/selftest.c - a hostile console on purpose, so the host's handling of
 * it can be tested: binary and escape bytes on the console at boot
 * (selftest=binconsole), a panic record whose file and message hold them,
 * after the first op (selftest=escpanic), and BYTES of console lines after
 * every op (flood=BYTES).
 */
#include "cpu.h"

/* what a terminal would obey: clear screen, set title, CSI in its 8-bit form */
#define HOSTILE                                                                                    \
	"\x1b[2J\x1b]0;owned\x07\x9b"                                                              \
	"31m"

static struct pts_hc_panic hostile_panic __aligned(8);
static uint64_t flood_bytes;
static bool escpanic, ready;

void selftest_console_boot(void)
{
	flood_bytes = cmdline_u64("flood", 0);
	escpanic = cmdline_is("selftest", "escpanic");
	ready = true;
	if (!cmdline_is("selftest", "binconsole"))
		return;
	cons_puts("binconsole: " HOSTILE "\n");
	for (unsigned b = 0; b < 256; b++)
		cons_putc((char)b);
	cons_putc('\n');
}

static void flood(uint64_t bytes)
{
	for (uint64_t i = 0; i < bytes; i++)
		cons_putc(i % 64 == 63 ? '\n' : (char)('a' + i % 64 % 26));
}

/* A panic record as a hostile guest would write it: not through panic(). */
static __noreturn void hostile_panic_now(void)
{
	strncpy_s(hostile_panic.file, HOSTILE "evil.c", sizeof(hostile_panic.file));
	strncpy_s(hostile_panic.msg, "message " HOSTILE " and bytes \xff\xfe\x80\x01 end",
	          sizeof(hostile_panic.msg));
	hostile_panic.line = 7;
	hostile_panic.vector = 0xffffffffu;
	hc_raw(PTS_HC_PANIC, KVTOPHYS(&hostile_panic));
	for (;;)
		__asm__ volatile("cli; hlt");
}

void selftest_after_op(void)
{
	if (!ready)
		return;
	if (flood_bytes > 0)
		flood(flood_bytes);
	if (escpanic)
		hostile_panic_now();
}
