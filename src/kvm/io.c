/* src/kvm/io.c - the KVM backend's port I/O: a table of port ranges and their handlers (COM1, the
 * hypercall ports).  Unknown ports read as 0xff and ignore writes, like an
 * empty ISA bus.
 */
#include <string.h>

#include "kvm_vm.h"

struct port_range {
	uint16_t first;
	uint16_t count;
	const char *name;
	enum vm_event (*handler)(struct vm *vm, uint16_t port, bool out, unsigned size,
	                         uint8_t *data);
};

#define COM_THR       0
#define COM_LSR       5
#define LSR_THRE_TEMT 0x60

static enum vm_event com1_io(struct vm *vm, uint16_t port, bool out, unsigned size, uint8_t *data)
{
	unsigned reg = port - PTS_COM1_BASE;

	if (out) {
		if (reg == COM_THR)
			console_putc(&vm->cons, (char)data[0]);
		return VM_EV_NONE;
	}
	memset(data, 0, size);
	if (reg == COM_LSR)
		data[0] = LSR_THRE_TEMT;
	return VM_EV_NONE;
}

static enum vm_event hypercall_io(struct vm *vm, uint16_t port, bool out, unsigned size,
                                  uint8_t *data)
{
	uint32_t gpa;

	if (!out || size != 4) {
		snprintf(vm->error, sizeof(vm->error),
		         "guest %s %u byte(s) on hypercall port %#x; hypercalls are 4-byte OUTs",
		         out ? "wrote" : "read", size, port);
		return VM_EV_GUEST_ERROR;
	}
	memcpy(&gpa, data, 4);
	vm->hypercalls++;
	return hypercall_dispatch(vm, port - PTS_HC_PORT_BASE, gpa);
}

static const struct port_range port_table[] = {
    {PTS_COM1_BASE, 8, "com1", com1_io},
    {PTS_HC_PORT_BASE, PTS_HC_PORT_COUNT, "hypercall", hypercall_io},
};

enum vm_event io_dispatch(struct vm *vm, uint16_t port, bool out, unsigned size, uint8_t *data)
{
	if (size != 1 && size != 2 && size != 4) {
		snprintf(vm->error, sizeof(vm->error), "port I/O of %u bytes at %#x", size, port);
		return VM_EV_GUEST_ERROR;
	}
	for (size_t i = 0; i < sizeof(port_table) / sizeof(port_table[0]); i++) {
		const struct port_range *r = &port_table[i];
		if (port >= r->first && port - r->first < r->count)
			return r->handler(vm, port, out, size, data);
	}
	if (!out)
		memset(data, 0xff, size);
	return VM_EV_NONE;
}
