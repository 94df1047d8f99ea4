/* guest/console.c - the COM1 console and a small printf.
 * Output goes to the 16550 transmit register; under ptshadow each byte is a
 * port exit, so the kernel prints little.
 */
#include "cpu.h"
#include "smp.h"

#define COM_THR  0
#define COM_IER  1
#define COM_LCR  3
#define COM_LSR  5
#define LSR_THRE 0x20

void cons_init(void);

void cons_init(void)
{
	outb(PTS_COM1_BASE + COM_IER, 0x00);
	outb(PTS_COM1_BASE + COM_LCR, 0x03); /* 8N1 */
}

void cons_putc(char c)
{
	for (int spin = 0; spin < 100000; spin++)
		if (inb(PTS_COM1_BASE + COM_LSR) & LSR_THRE)
			break;
	outb(PTS_COM1_BASE + COM_THR, (uint8_t)c);
}

void cons_puts(const char *s)
{
	while (*s != '\0')
		cons_putc(*s++);
}

struct outbuf {
	char *buf;
	size_t len, pos;
};

static void out_c(struct outbuf *o, char c)
{
	if (o->pos + 1 < o->len)
		o->buf[o->pos] = c;
	o->pos++;
}

static void out_num(struct outbuf *o, uint64_t v, unsigned base, bool neg, int width, char pad,
                    bool upper, const char *prefix)
{
	char tmp[24];
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0, plen = prefix ? (int)strlen(prefix) : 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v != 0);
	width -= n + plen + (neg ? 1 : 0);
	if (pad == ' ')
		while (width-- > 0)
			out_c(o, ' ');
	if (neg)
		out_c(o, '-');
	for (int i = 0; i < plen; i++)
		out_c(o, prefix[i]);
	if (pad == '0')
		while (width-- > 0)
			out_c(o, '0');
	while (n > 0)
		out_c(o, tmp[--n]);
}

int kvsnprintf(char *buf, size_t len, const char *fmt, va_list ap)
{
	struct outbuf o = {buf, len, 0};

	for (; *fmt != '\0'; fmt++) {
		bool alt = false, left = false;
		char pad = ' ';
		int width = 0, lng = 0;

		if (*fmt != '%') {
			out_c(&o, *fmt);
			continue;
		}
		for (fmt++;; fmt++) {
			if (*fmt == '#')
				alt = true;
			else if (*fmt == '0')
				pad = '0';
			else if (*fmt == '-')
				left = true;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			out_num(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, width, pad,
			        false, NULL);
			break;
		}
		case 'u':
			out_num(&o, lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, false,
			        width, pad, false, NULL);
			break;
		case 'x':
		case 'X':
			out_num(&o, lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, false,
			        width, pad, *fmt == 'X', alt ? "0x" : NULL);
			break;
		case 'p':
			out_num(&o, (uint64_t)va_arg(ap, void *), 16, false, width, pad, false,
			        "0x");
			break;
		case 'c':
			out_c(&o, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int n;
			if (s == NULL)
				s = "(null)";
			n = (int)strlen(s);
			if (!left)
				while (width-- > n)
					out_c(&o, ' ');
			while (*s != '\0')
				out_c(&o, *s++);
			if (left)
				while (width-- > n)
					out_c(&o, ' ');
			break;
		}
		case '%':
			out_c(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			out_c(&o, '%');
			out_c(&o, *fmt);
			break;
		}
	}
	if (len > 0)
		buf[o.pos < len ? o.pos : len - 1] = '\0';
	return (int)o.pos;
}

int ksnprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n;
}

static struct spinlock cons_lock;

int kprintf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	bool locked;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* cut short: keep the line's end, or the host joins it to the next line */
	if ((size_t)n >= sizeof(buf) && fmt[0] != '\0' && fmt[strlen(fmt) - 1] == '\n')
		buf[sizeof(buf) - 2] = '\n';
	/* on SMP a line at a time (a CPU that panics while printing keeps it) */
	locked = smp_info.ncpus > 1 && !spin_owned(&cons_lock);
	if (locked)
		spin_lock_leaf(&cons_lock);
	cons_puts(buf);
	if (locked)
		spin_unlock(&cons_lock);
	return n;
}
