/* guest/intr.c - device interrupts: the two 8259 PICs, remapped above the
 * exceptions with every line masked but the ones a handler was established
 * for, and the dispatch of their vectors (EOI, spurious IRQ 7 and 15).
 *
 * The kernel runs with interrupts off.  The one place that turns them on is
 * the doorbell's wait (guest/hypercall.c: `sti; hlt; cli`), so a handler
 * runs only there, never in the middle of a pmap operation.
 */
#include "cpu.h"

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xa0
#define PIC2_DATA 0xa1
#define PIC_EOI   0x20
#define OCW3_ISR  0x0b /* the next command-port read returns the in-service register */

static void (*handlers[16])(void);
static uint16_t unmasked;

static void pic_set_mask(void)
{
	outb(PIC1_DATA, (uint8_t)~unmasked);
	outb(PIC2_DATA, (uint8_t)(~unmasked >> 8));
}

/* ICW1..ICW4: edge triggered, cascaded on IRQ 2, 8086 mode; all masked. */
static void pic_init(void)
{
	outb(PIC1_CMD, 0x11);
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, IRQ_VECTOR_BASE);
	outb(PIC2_DATA, IRQ_VECTOR_BASE + 8);
	outb(PIC1_DATA, 1u << 2);
	outb(PIC2_DATA, 2);
	outb(PIC1_DATA, 0x01);
	outb(PIC2_DATA, 0x01);
	pic_set_mask();
}

void intr_establish(unsigned irq, void (*fn)(void))
{
	static bool pic_ready;

	KASSERT(irq < 16 && irq != 2 && handlers[irq] == NULL);
	if (!pic_ready) {
		pic_init();
		pic_ready = true;
	}
	handlers[irq] = fn;
	intr_touch_path(irq);
	intr_dispatch(irq); /* its handler's code, and an EOI nothing is waiting for */
	unmasked |= (uint16_t)(1u << irq);
	if (irq >= 8)
		unmasked |= 1u << 2; /* the cascade */
	pic_set_mask();
}

static bool in_service(unsigned irq)
{
	uint16_t port = irq < 8 ? PIC1_CMD : PIC2_CMD;

	outb(port, OCW3_ISR);
	return (inb(port) >> (irq % 8)) & 1;
}

bool intr_dispatch(unsigned irq)
{
	/* a line that dropped before the CPU took it shows up as IRQ 7 (or 15)
	 * with no bit in service: no handler, no EOI (on the slave, the master
	 * saw a real cascade interrupt and wants its EOI) */
	if ((irq == 7 || irq == 15) && !in_service(irq)) {
		if (irq == 15)
			outb(PIC1_CMD, PIC_EOI);
		return true;
	}
	if (handlers[irq] == NULL)
		return false;
	handlers[irq]();
	if (irq >= 8)
		outb(PIC2_CMD, PIC_EOI);
	outb(PIC1_CMD, PIC_EOI);
	return true;
}
