/* src/qemu/qemu_snapshot.c - resets on the QEMU backend: the guest parks
 * itself on the kernel's page tables while ptshadow puts RAM back, then
 * returns from the call it made at the snapshot (include/ptshadow/abi.h,
 * docs/performance.md); and the RAM copy of a snapshot, by the kernel.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "qemu_vm.h"

#define PARK_NS 5000000000ull /* the guest parks within this much of QEMU's time */

/* The guest did not park by the deadline: its fault, unless QEMU is what
 * stood still (no answer: the host's failure; a late one: wait on) */
static int park_late(struct vm *vm, uint64_t *deadline, uint64_t *forgiven)
{
	uint64_t took;

	if (qemu_answers(vm, &took) != 0) {
		vm->event = VM_EV_KVM_ERROR;
		return -1;
	}
	if (qemu_machine_stopped(vm) != VM_EV_NONE) { /* a triple fault, not a late park */
		vm->event = VM_EV_SHUTDOWN;
		return -1;
	}
	if (took > QEMU_STALL_NS && *forgiven < (uint64_t)QEMU(vm)->qmp_wait_ms * 1000000) {
		*forgiven += took - QEMU_STALL_NS;
		*deadline += took - QEMU_STALL_NS;
		return 0;
	}
	snprintf(vm->error, sizeof(vm->error), "the guest did not park within 5 s");
	vm->event = VM_EV_GUEST_ERROR;
	return -1;
}

/* Wait (bounded, in poll) until the guest says it is parked on the park
 * named token: parked = token in the doorbell, then PTS_DB_PARKED on COM2.
 * Any other byte is a call or a death instead; on failure vm->event says
 * whose it is. */
static int wait_parked(struct vm *vm, uint64_t token)
{
	struct pts_doorbell *db = qemu_doorbell(vm);
	uint64_t deadline = now_ns() + PARK_NS, forgiven = 0;

	for (;;) {
		struct pollfd p = {QEMU(vm)->db_fd, POLLIN, 0};
		uint64_t now = now_ns();
		ssize_t r;
		uint8_t b;
		if (now > deadline && park_late(vm, &deadline, &forgiven) != 0)
			return -1;
		now = now_ns();
		if (poll(&p, 1, now < deadline ? (int)((deadline - now) / 1000000 + 1) : 0) <= 0)
			continue;
		r = (p.revents & POLLIN) ? read(QEMU(vm)->db_fd, &b, 1) : 0;
		if (r == 0) { /* the doorbell closed: QEMU went */
			vm->event = qemu_gone(vm);
			return -1;
		}
		if (r != 1 || b != PTS_DB_PARKED) {
			snprintf(vm->error, sizeof(vm->error),
			         "the guest did not park (it called instead)");
			vm->event = VM_EV_GUEST_ERROR;
			return -1;
		}
		if (__atomic_load_n(&db->parked, __ATOMIC_ACQUIRE) == token)
			return 0;
	}
}

int qemu_snap_stop(struct vm *vm, bool restore)
{
	struct qemu_vm *q = QEMU(vm);

	if (!q->waiting || qemu_doorbell(vm) == NULL) {
		snprintf(vm->error, sizeof(vm->error),
		         "the guest is not stopped at a doorbell call");
		return -1;
	}
	if (!restore) /* taking a snapshot: the guest just spins */
		return 0;
	q->park_tokens++;
	__atomic_store_n(&qemu_doorbell(vm)->park_token, q->park_tokens, __ATOMIC_RELEASE);
	qemu_release(vm, PTS_DB_PARK);
	if (wait_parked(vm, q->park_tokens) != 0)
		return -1;
	qemu_vpages_log(vm, false);
	q->parked = true;
	q->parked_seq = q->park_tokens;
	return 0;
}

/* The guest saved its CPU state in RAM when it made the call it waits in:
 * the RAM copy is the whole snapshot. */
int qemu_snap_save(struct vm *vm)
{
	QEMU(vm)->snap_ready = true;
	return 0;
}

int qemu_snap_load(struct vm *vm)
{
	struct qemu_vm *q = QEMU(vm);
	struct pts_doorbell *db = qemu_doorbell(vm);

	if (!q->parked || db == NULL) {
		snprintf(vm->error, sizeof(vm->error), "the guest is not parked");
		return -1;
	}
	/* RAM is the snapshot's again (the doorbell too): let the guest return
	 * from the call it waited in at the snapshot, and run it to its next
	 * call (its ring's OP_DONE), so that a reset ends with the guest stopped
	 * at its ring, and the time of a reset counts all of it */
	qemu_vpages_log(vm, true);
	qemu_walk_cache_forget(q); /* the tables went back with the RAM */
	q->parked = false;
	q->waiting = false;
	__atomic_store_n(&db->resume, q->parked_seq, __ATOMIC_RELEASE);
	vm_deadline_arm(vm); /* the reset is ours: the guest's time starts now */
	vm->event = qemu_run(vm);
	if (vm->event != VM_EV_OP_DONE) {
		if (vm->error[0] == '\0')
			snprintf(vm->error, sizeof(vm->error),
			         "the guest did not come back to its ring");
		return -1;
	}
	return 0;
}

/* Copy the memfd's [off, off + len) to dst by the kernel, only where it
 * holds data (SEEK_DATA): pages nobody wrote are holes, zero in dst already. */
static int copy_extents(int fd, uint8_t *dst, uint64_t off, uint64_t len)
{
	uint64_t pos = off, end = off + len;

	while (pos < end) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA), hole;
		if (data < 0 || (uint64_t)data >= end)
			return data < 0 && errno != ENXIO ? -1 : 0;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return -1;
		if ((uint64_t)hole > end)
			hole = (off_t)end;
		for (uint64_t at = (uint64_t)data; at < (uint64_t)hole;) {
			ssize_t n = pread(fd, dst + (at - off), (uint64_t)hole - at, (off_t)at);
			if (n <= 0)
				return -1;
			at += (uint64_t)n;
		}
		pos = (uint64_t)hole;
	}
	return 0;
}

/* The memfd read into dst (fresh, zero) by the kernel: no page faults on
 * the RAM mapping, and the pages QEMU never wrote are not read at all. */
int qemu_ram_copy(struct vm *vm, uint8_t *dst)
{
	struct qemu_vm *q = QEMU(vm);

	if (copy_extents(q->ram_fd, dst, 0, q->lowmem) != 0)
		return -1;
	if (q->ram_bytes > q->lowmem && copy_extents(q->ram_fd, dst + QEMU_HIGHMEM_BASE - q->lowmem,
	                                             q->lowmem, q->ram_bytes - q->lowmem) != 0)
		return -1;
	return 0;
}
