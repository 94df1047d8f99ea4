/* src/vm/hypercall.c - the hypercall table.  Each entry names its fixed-size
 * record; the dispatcher validates the record's guest-physical address
 * through the checked accessor and copies the record out before the handler
 * sees it.
 */
#include <string.h>

#include "vm_impl.h"

static enum vm_event hc_exit(struct vm *vm, uint64_t gpa, const void *record)
{
	const struct pts_hc_exit *r = record;

	vm->exit_status = r->status;
	return VM_EV_EXIT;
}

/* Once: the monitor reads the pmap through the first descriptor for the
 * guest's life (resets included), and a second one is no event a caller
 * expects in the middle of an op. */
static enum vm_event hc_register(struct vm *vm, uint64_t gpa, const void *record)
{
	if (vm->desc_gpa != 0) {
		snprintf(
		    vm->error, sizeof(vm->error),
		    "hypercall register: a second descriptor (at %#llx; the first is at %#llx)",
		    (unsigned long long)gpa, (unsigned long long)vm->desc_gpa);
		return VM_EV_GUEST_ERROR;
	}
	vm->desc_gpa = gpa;
	return VM_EV_REGISTER;
}

static enum vm_event hc_op_done(struct vm *vm, uint64_t gpa, const void *record)
{
	console_end_op(&vm->cons); /* an op's console budget ends with the op */
	return VM_EV_OP_DONE;
}

static enum vm_event hc_panic(struct vm *vm, uint64_t gpa, const void *record)
{
	memcpy(&vm->panic, record, sizeof(vm->panic));
	vm->panic.file[sizeof(vm->panic.file) - 1] = '\0';
	vm->panic.msg[sizeof(vm->panic.msg) - 1] = '\0';
	return VM_EV_PANIC;
}

static enum vm_event hc_nop(struct vm *vm, uint64_t gpa, const void *record)
{
	return VM_EV_NONE;
}

static const struct hypercall hypercall_table[PTS_HC_COUNT] = {
    [PTS_HC_EXIT] = {"exit", sizeof(struct pts_hc_exit), hc_exit},
    [PTS_HC_REGISTER] = {"register", sizeof(struct pts_descriptor), hc_register},
    [PTS_HC_OP_DONE] = {"op_done", offsetof(struct pts_ring, slots), hc_op_done},
    [PTS_HC_PANIC] = {"panic", sizeof(struct pts_hc_panic), hc_panic},
    [PTS_HC_NOP] = {"nop", sizeof(struct pts_hc_nop), hc_nop},
};

const struct hypercall *hypercall_lookup(unsigned nr)
{
	if (nr >= PTS_HC_COUNT || hypercall_table[nr].handler == NULL)
		return NULL;
	return &hypercall_table[nr];
}

enum vm_event hypercall_dispatch(struct vm *vm, unsigned nr, uint64_t gpa)
{
	const struct hypercall *hc = hypercall_lookup(nr);
	uint8_t record[sizeof(struct pts_descriptor) > sizeof(struct pts_hc_panic)
	                   ? sizeof(struct pts_descriptor)
	                   : sizeof(struct pts_hc_panic)];

	if (hc == NULL) {
		snprintf(vm->error, sizeof(vm->error), "unknown hypercall %u (port %#x)", nr,
		         PTS_HC_PORT_BASE + nr);
		return VM_EV_GUEST_ERROR;
	}
	if (hc->record_size > sizeof(record) ||
	    gmem_read_aligned(&vm->mem, gpa, record, hc->record_size, 8) != GMEM_OK) {
		snprintf(vm->error, sizeof(vm->error),
		         "hypercall %s: record at guest-physical %#llx (%u bytes) is outside guest "
		         "memory or misaligned",
		         hc->name, (unsigned long long)gpa, hc->record_size);
		return VM_EV_GUEST_ERROR;
	}
	return hc->handler(vm, gpa, record);
}
