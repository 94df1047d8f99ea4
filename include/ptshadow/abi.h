/* include/ptshadow/abi.h - the guest-host ABI of ptshadow: CPUID signature,
 * hypercall ports and records, command ring, TLB ledger, introspection descriptor.
 *
 * The one header both sides include (with optable.h, the op table, which it
 * includes).  Freestanding: fixed-width integer types only, no pointers in a
 * record (guest addresses are uint64_t on both sides), every structure laid
 * out with explicit padding so that guest (gcc -ffreestanding) and host
 * compilers agree byte for byte.  See docs/architecture.md ("Guest-host ABI").
 */
#ifndef PTSHADOW_ABI_H
#define PTSHADOW_ABI_H

#include <stdint.h>

#define PTS_ABI_VERSION                                                                            \
	5u /* 2: SMP (struct pts_smp, pts_tlb_record.cpu); 3: groups (PTS_OPF_PAR, struct          \
	      pts_sched); 4: PTS_TLB_FREE_PTP; 5: lock words in the descriptor, PTS_SCHED_FREE     \
	      (pts_sched.jitter_*), PTS_TLB_SHOOT, PTS_TLB_UNLOCK */
#define PTS_PAGE_SIZE  4096u
#define PTS_PAGE_SHIFT 12u

/* ---------------------------------------------------------------------------
 * Where the guest runs.  CPUID leaf 0x40000000 returns the highest hypervisor
 * leaf in EAX and the 12-byte signature "ptshadow_vmm" in EBX, ECX, EDX.
 * Under QEMU/KVM the guest sees "KVMKVMKVM" or nothing, and falls back to the
 * QEMU devices (isa-debug-exit at port 0xf4).
 */
#define PTS_CPUID_LEAF    0x40000000u
#define PTS_CPUID_SIG_EBX 0x68737470u /* "ptsh" */
#define PTS_CPUID_SIG_ECX 0x776f6461u /* "adow" */
#define PTS_CPUID_SIG_EDX 0x6d6d765fu /* "_vmm" */

/* ---------------------------------------------------------------------------
 * PVH boot (Xen's x86/HVM direct boot ABI, start_info version 1): the loader
 * enters the XEN_ELFNOTE_PHYS32_ENTRY address in 32-bit protected mode with
 * paging off and %ebx = physical address of struct hvm_start_info.
 */
#define PTS_XEN_ELFNOTE_PHYS32_ENTRY 18u
#define PTS_HVM_START_MAGIC          0x336ec578u
#define PTS_HVM_MEMMAP_RAM           1u
#define PTS_HVM_MEMMAP_RESERVED      2u

struct pts_hvm_start_info {
	uint32_t magic;
	uint32_t version; /* 1: memmap fields valid */
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct pts_hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* QEMU isa-debug-exit: the guest writes v, QEMU exits with (v << 1) | 1. */
#define PTS_QEMU_EXIT_PORT    0xf4u
#define PTS_QEMU_EXIT_SUCCESS 0x10u /* qemu exits 33 */
#define PTS_QEMU_EXIT_FAILURE 0x11u /* qemu exits 35 */

/* COM1, 16550-style: transmit holding register and line status register. */
#define PTS_COM1_BASE 0x3f8u

/* ---------------------------------------------------------------------------
 * Hypercalls.  The guest executes `outl %eax, %dx` with DX = PTS_HC_PORT_BASE
 * + number and EAX = the guest-physical address of the call's fixed-size
 * record (below 4 GiB, naturally aligned to 8).  Any other direction or size
 * on these ports is a guest error.
 */
#define PTS_HC_PORT_BASE  0x0500u
#define PTS_HC_PORT_COUNT 16u

enum pts_hypercall {
	PTS_HC_EXIT = 0,     /* struct pts_hc_exit: guest is done */
	PTS_HC_REGISTER = 1, /* struct pts_descriptor: introspection */
	PTS_HC_OP_DONE = 2,  /* struct pts_ring: op(s) completed, or ring empty */
	PTS_HC_PANIC = 3,    /* struct pts_hc_panic: guest kernel panic */
	PTS_HC_NOP = 4,      /* struct pts_hc_nop: round-trip measurement */
	PTS_HC_COUNT
};

struct pts_hc_exit {
	uint32_t status; /* 0 = success */
	uint32_t pad;
};

#define PTS_PANIC_MSG_LEN 240u
struct pts_hc_panic {
	uint32_t line;
	uint32_t vector; /* exception vector, or 0xffffffff for a software panic */
	uint64_t error_code;
	uint64_t rip;
	uint64_t cr2;
	char file[64];
	char msg[PTS_PANIC_MSG_LEN]; /* NUL-terminated (host never trusts that) */
};

struct pts_hc_nop {
	uint64_t seq;
};

/* ---------------------------------------------------------------------------
 * The doorbell: hypercalls where no VMM sees the guest's port I/O (ptshadow's
 * QEMU backend).  ptshadow puts "doorbell=com2" on the command line.  The
 * guest first writes PTS_DB_HELLO and the 8-byte little-endian physical
 * address of its struct pts_doorbell on COM2.  A hypercall then fills nr,
 * record_pa and cr3, increments seq, writes PTS_DB_CALL on COM2 and waits
 * until the host has set ack to seq.  The host handles the call as a
 * port-I/O hypercall, checks, and releases the guest by writing ack.
 *
 * The wait: the guest spins (loads only) for spin_tsc TSC cycles, then, if
 * ack has not come, sleeps: it writes sleeping = seq, makes that store
 * visible (a fence, and a port read, which QEMU serves under a lock), reads
 * ack again, and halts with interrupts on (`sti; hlt`) until COM2's
 * receive interrupt (IRQ 3, vector 0x23 through the 8259) wakes it, and so
 * on until ack = seq.  The host, after writing ack, fences and reads
 * sleeping: if it is seq, it writes one byte (PTS_DB_WAKE) to COM2, which
 * raises the interrupt.  Either the guest sees ack or the host sees
 * sleeping (both store, fence, then load), so a halted guest is always
 * woken; a byte for a guest that did not halt after all only wakes it once
 * more later.  spin_tsc is written by the host once, when the hello
 * arrives; 0 (a host that never wakes the guest) means spin until ack.
 *
 * With command == PTS_DB_PARK instead, the guest reads park_token (a
 * value the host never used before: after a reset the guest's seq starts
 * again from the snapshot's, so seq cannot name a park), loads park_cr3 (the
 * kernel pmap's root), writes parking = token and then parked = token (a TCG
 * plugin logs a store only after it is done: by the time the host sees
 * parked, every earlier store is in the log), writes PTS_DB_PARKED on COM2
 * (the host waits for it in poll) and spins until the host has put the
 * snapshot's RAM back and set resume = token; it then flushes
 * its whole TLB (global entries too) and returns from the call it was
 * waiting in when the snapshot was taken (every call saves its CPU state in
 * RAM, so the snapshot holds it), as if that call had been answered.
 */
/*
 * SMP (ABI 2): every CPU has a doorbell of its own, CPU n's at the hello's
 * address + n * sizeof(struct pts_doorbell).  CPU 0 rings with PTS_DB_CALL;
 * CPU n > 0 with the byte PTS_DB_CALL_CPU(n), and only spins for its ack (the
 * wake-up interrupt goes to CPU 0), and is never parked.  In phase 1 the host
 * serves CPU 0's doorbell; from another CPU it takes a panic record, and
 * reports any other call as a guest error (docs/smp.md).
 */
#define PTS_DB_CALL_CPU(n) (0xd0u + (n))
#define PTS_COM2_BASE      0x2f8u
#define PTS_DB_HELLO       'M'
#define PTS_DB_CALL        'D'
#define PTS_DB_WAKE        'W'         /* host to guest: the call you sleep in is answered */
#define PTS_DB_PARKED      'P'         /* guest to host: parked (after parked = token) */
#define PTS_DB_MAGIC       0x6c6c6264u /* "dbll" */
#define PTS_DB_CONTINUE    0u
#define PTS_DB_PARK        1u

struct pts_doorbell {
	uint32_t magic;
	uint32_t nr;               /* guest: enum pts_hypercall */
	uint64_t record_pa;        /* guest: as the port-I/O hypercall's EAX */
	uint64_t cr3;              /* guest: CR3 at the call */
	volatile uint64_t seq;     /* guest: calls made */
	volatile uint64_t ack;     /* host: the call numbered ack is done */
	volatile uint32_t command; /* host, before ack: PTS_DB_CONTINUE or PTS_DB_PARK */
	uint32_t pad;
	volatile uint64_t parked;     /* guest: parked, on the park named parked */
	volatile uint64_t resume;     /* host: RAM is back, resume (value = the token) */
	uint64_t park_cr3;            /* guest: the kernel pmap's root, for parking */
	volatile uint64_t parking;    /* guest: written just before parked (see db_park) */
	volatile uint64_t park_token; /* host, before a PARK: names this park */
	volatile uint64_t spin_tsc;   /* host, at the hello: cycles to spin before sleeping */
	volatile uint64_t sleeping;   /* guest: the seq of the call it sleeps in */
	uint64_t reserved[2];
};

/* ---------------------------------------------------------------------------
 * Operations.  One record per op, written by the host into the command ring,
 * executed by the guest, result written back into the same record.
 */
/* enum pts_op_kind (PTS_OP_NONE, PTS_OP_CREATE, ...) and enum pts_result
 * (PTS_RES_PENDING, PTS_RES_OK, ...): one row each in the tables of
 * optable.h, numbered in their order. */
#include <ptshadow/optable.h>

/* prot bits */
#define PTS_PROT_READ  0x1u
#define PTS_PROT_WRITE 0x2u
#define PTS_PROT_EXEC  0x4u

/* op flags */
#define PTS_OPF_WIRED   0x1u /* enter: wired mapping */
#define PTS_OPF_CANFAIL 0x2u /* enter: may return ENOMEM */
#define PTS_OPF_WRITE   0x4u /* touch: write access (else read) */
#define PTS_OPF_PAR     0x8u /* ABI 3: runs together with the record before it (a group) */

#define PTS_MAX_PMAPS           128u  /* pmap slots; slot numbers 0..127 */
#define PTS_KENTER_PAGES        1024u /* kenter window: k+0 .. k+0x3ff000 */
#define PTS_DEFAULT_ARENA_PAGES 1024u

/*
 * Address conventions:
 *   pmap   slot number assigned by the host (create names a free slot)
 *   va     user VA (page aligned, < PTS_USER_MAX) for pmap ops;
 *          byte offset into the kenter window for kenter/kremove
 *   end    exclusive end of a range (remove, protect, kremove), 0 = va + page
 *   page   arena page index (pg<N>); page2 the destination of copy
 *   value  fail_alloc: N; extract: page index when result is PTS_RES_PAGE
 *   cpu    the CPU that runs it, < the CPUs up (else PTS_RES_EINVAL); the
 *          op language's `cpuN:` prefix
 */
struct pts_op {
	uint32_t kind; /* enum pts_op_kind */
	uint32_t pmap; /* slot */
	uint64_t va;
	uint64_t end;
	uint64_t page;
	uint64_t page2;
	uint32_t prot;   /* PTS_PROT_* */
	uint32_t flags;  /* PTS_OPF_* */
	uint64_t seq;    /* op index, host-assigned */
	uint32_t result; /* enum pts_result, written by the guest */
	uint32_t cpu;    /* the CPU that runs the op (ABI 2; 0 = the BSP, as before) */
	uint64_t value;
	uint64_t cycles; /* guest TSC cycles spent in the op, written by the guest */
};

#define PTS_USER_MAX 0x0000800000000000ull

/*
 * Command ring.  The host writes slots[head % nslots] and then advances head;
 * the guest executes slots[tail % nslots], writes result, advances tail.
 * When stop_each is set the guest issues PTS_HC_OP_DONE after every op; when
 * the ring is empty it issues PTS_HC_OP_DONE and the host refills it or sets
 * quit.  Indexes only grow.
 */
#define PTS_RING_MAGIC 0x676e6972u /* "ring" */
#define PTS_RING_SLOTS 256u

/*
 * Groups (ABI 3, docs/smp.md "Groups"): records posted together, each after
 * the first with PTS_OPF_PAR, each naming a distinct CPU, at most
 * PTS_GROUP_MAX.  The guest runs them at once on their CPUs; the CPUs pass
 * one token at the preemption points, and at each point where two or more
 * of them could go on (a *step*) the schedule below says which one does.
 * The guest completes the group's records together (tail advances by the
 * group's size) with one op-done.
 *
 * PCT (Burckhardt et al., ASPLOS 2010): the CPU with the highest prio among
 * those that can go on goes; at the steps named in change[0..depth-1) the
 * CPU that reached the point drops to priority i (below every prio[]).
 * LIST: at step i, steps[i] goes if it can, else the first that can.  Past
 * the given steps, and past PTS_SCHED_STEPS in either mode, the CPU that
 * reached the point goes on if it can, else the lowest-numbered that can.
 * The guest writes the CPU let go at each step into trace[] (ntrace steps
 * taken, of which the first PTS_SCHED_STEPS are recorded), so that a LIST
 * of the trace replays the group exactly.
 */
#define PTS_GROUP_MAX 4u
/* the kinds a group may hold: none that creates or destroys a pmap, injects
 * a failure or works on the kernel window or a whole page's contents */
#define PTS_OP_BIT(kind) (1u << PTS_OP_##kind)
#define PTS_GROUP_KINDS                                                                            \
	(PTS_OP_BIT(ACTIVATE) | PTS_OP_BIT(ENTER) | PTS_OP_BIT(REMOVE) | PTS_OP_BIT(PROTECT) |     \
	 PTS_OP_BIT(UNWIRE) | PTS_OP_BIT(EXTRACT) | PTS_OP_BIT(PAGE_PROTECT) |                     \
	 PTS_OP_BIT(CLEAR_MODIFY) | PTS_OP_BIT(CLEAR_REFERENCE) | PTS_OP_BIT(IS_MODIFIED) |        \
	 PTS_OP_BIT(IS_REFERENCED) | PTS_OP_BIT(TOUCH))
#define PTS_SCHED_STEPS 32u
#define PTS_SCHED_DEPTH 8u /* at most depth - 1 change points */
/* FREE (ABI 5, docs/smp.md "Free-running groups"): no token; the group's
 * CPUs start together and run in parallel, and at each preemption point a
 * CPU pauses for a random count below jitter_max (from its own stream,
 * seeded by jitter_seed and its index) one time in four, serving shootdowns
 * as it waits.  Nothing is recorded: ntrace stays 0. */
enum pts_sched_mode {
	PTS_SCHED_DEFAULT = 0,
	PTS_SCHED_PCT = 1,
	PTS_SCHED_LIST = 2,
	PTS_SCHED_FREE = 3
};

struct pts_sched {
	uint32_t mode;                    /* host: enum pts_sched_mode */
	uint32_t nchange;                 /* host, PCT: change points used (< PTS_SCHED_DEPTH) */
	uint32_t nsteps;                  /* host, LIST: steps given (<= PTS_SCHED_STEPS) */
	uint32_t ntrace;                  /* guest: steps taken in the group */
	uint32_t change[PTS_SCHED_DEPTH]; /* host, PCT: step numbers */
	uint8_t prio[8];                  /* host, PCT: each CPU's starting priority (>= depth) */
	uint8_t steps[PTS_SCHED_STEPS];   /* host, LIST: the CPU to let go at each step */
	uint8_t trace[PTS_SCHED_STEPS];   /* guest: the CPU let go at each step */
	uint8_t point[PTS_SCHED_STEPS];   /* guest: the preemption point of each step */
	uint64_t jitter_seed;             /* host, FREE (ABI 5): the pauses' seed */
	uint32_t jitter_max;              /* host, FREE: most pause loops at a point (0: none) */
	uint32_t reserved;
};

struct pts_ring {
	uint32_t magic;
	uint32_t nslots;
	volatile uint64_t head; /* host: ops posted */
	volatile uint64_t tail; /* guest: ops completed */
	volatile uint32_t stop_each;
	volatile uint32_t quit; /* host: guest should exit after tail == head */
	uint64_t tsc_khz;       /* host: guest TSC frequency, 0 if unknown */
	uint64_t reserved[3];
	struct pts_op slots[PTS_RING_SLOTS];
	struct pts_sched sched; /* ABI 3: the schedule of the group being run */
};

/* ---------------------------------------------------------------------------
 * TLB ledger: every TLB invalidation the guest pmap performs goes through one
 * primitive that also appends a record here.  head counts records ever
 * written; record i lives in rec[i % nrecords].  ABI 4: a page-table page
 * going back to the free list leaves a record too (PTS_TLB_FREE_PTP), in the
 * same seq order, so the monitor sees whether every CPU that may cache a walk
 * through it invalidated before it was freed (docs/smp.md, SMP-5).  ABI 5:
 * on SMP the CPU that owes a shootdown records whom it goes to
 * (PTS_TLB_SHOOT), right where it reads the pmap's pm_active, so the
 * monitor sees every CPU that has the pmap's root loaded in that set
 * (docs/smp.md, SMP-6), and the release of a user pmap's lock
 * (PTS_TLB_UNLOCK), so it sees that every target invalidated before another
 * CPU could take the lock (SMP-7).
 */
#define PTS_TLB_MAGIC   0x62646c74u /* "tldb" */
#define PTS_TLB_RECORDS 4096u

enum pts_tlb_kind {
	PTS_TLB_PAGE = 1,       /* invlpg va */
	PTS_TLB_RANGE = 2,      /* invlpg each page of [va, end) */
	PTS_TLB_ALL = 3,        /* CR3 reload: all non-global entries */
	PTS_TLB_ALL_GLOBAL = 4, /* CR4.PGE toggle: everything */
	PTS_TLB_SWITCH = 5,     /* CR3 load of another root (va = new root PA) */
	PTS_TLB_FREE_PTP = 6,   /* ABI 4: no invalidation; the PTP [va, end) (a PA, end =
	                           va + page) was freed, after every record before it */
	PTS_TLB_SHOOT = 7,      /* ABI 5: no invalidation; cpu owes a shootdown for the pmap
	                           whose root PA is va (PTS_TLB_SHOOT_KERNEL: the kernel's
	                           global entries, owed to every CPU up) and sends it to the
	                           CPU set end (bit i = CPU i; the sender's own bit: it
	                           invalidates locally); cr3 is the sender's */
	PTS_TLB_UNLOCK = 8      /* ABI 5: no invalidation; on SMP, cpu drops the lock of the
	                           user pmap whose root PA is va: each shootdown it owed for
	                           that pmap is done by then (docs/smp.md, SMP-7) */
};
#define PTS_TLB_SHOOT_KERNEL 0xffffffffffffffffull /* PTS_TLB_SHOOT's va for the kernel pmap */

struct pts_tlb_record {
	uint64_t seq; /* index of this record (== position) */
	uint32_t kind;
	uint32_t cpu; /* the CPU that invalidated (0 = the BSP; ABI 1: always 0) */
	uint64_t cr3; /* CR3 of that CPU at the time of the invalidation */
	uint64_t va;
	uint64_t end;
};

struct pts_tlb_ledger {
	uint32_t magic;
	uint32_t nrecords;
	volatile uint64_t head;
	struct pts_tlb_record rec[PTS_TLB_RECORDS];
};

/* ---------------------------------------------------------------------------
 * Introspection descriptor, registered with PTS_HC_REGISTER at boot.  All
 * addresses are guest kernel virtual addresses (KVA) unless named *_pa.  The
 * monitor turns a KVA into a guest-physical address through the direct map
 * ([dmap_base, dmap_base + dmap_size) -> [0, dmap_size)), the kernel image
 * mapping ([kernbase + kern_pa, ...) -> kern_pa...), or a walk of the kernel
 * pmap's page table.  Offsets (off_*) are byte offsets inside the structure
 * named by the prefix; the monitor reads every field as a little-endian
 * integer of the width this header states next to it.
 */
#define PTS_DESC_MAGIC 0x63736564u /* "desc" */

/* software PTE bits (AVL bits 9..11) */
#define PTS_PTE_WIRED   (1ull << 9)  /* PG_W */
#define PTS_PTE_MANAGED (1ull << 11) /* PG_PVLIST: pv-tracked mapping */

/* vm_page usage (what the page is), u32 at off_vmp_usage */
enum pts_page_usage {
	PTS_PG_FREE = 0,
	PTS_PG_KERNEL = 1, /* kernel image, boot data, vm_page array, ... */
	PTS_PG_ARENA = 2,  /* managed arena page (pg<N>) */
	PTS_PG_PTP = 3,    /* page-table page (incl. every pmap's PML4) */
	PTS_PG_POOL = 4,   /* pv pool page */
	PTS_PG_RESERVED = 5
};

/* vm_page md flags, u32 at off_vmp_flags (DragonFly 2019) */
#define PTS_PGF_MAPPED    0x1u
#define PTS_PGF_WRITEABLE 0x2u

/* saved attributes, u32 at off_vmp_attrs */
#define PTS_ATTR_MODIFIED   0x1u
#define PTS_ATTR_REFERENCED 0x2u

/* PTP reference-count rules, descriptor field ptp_refcount_rule */
#define PTS_PTP_REF_ONE_PLUS_VALID 1u /* wire_count = 1 + valid entries */

/* PTP hash rules, descriptor field ptp_hash_rule.  A PTP of level L (1 = PT)
 * whose first VA is va sits in bucket PTS_PTP_HASH(va, L, ptp_hash_size). */
#define PTS_PTP_HASH_ANY      0u /* not stated: the monitor only checks membership */
#define PTS_PTP_HASH_VA_LEVEL 1u /* PTS_PTP_HASH below */
#define PTS_PTP_HASH(va, level, nbuckets)                                                          \
	((((uint64_t)(va) >> (PTS_PAGE_SHIFT + 9u * (level))) + (level)) % (nbuckets))

/* resident_count rules, descriptor field resident_rule */
#define PTS_RESIDENT_LEAVES           1u /* valid user leaf PTEs */
#define PTS_RESIDENT_LEAVES_PLUS_PTPS 2u /* ... plus PTPs below the PML4 */

/*
 * Lock words (ABI 5, docs/smp.md "Locks at a stop").  Every lock a pmap op
 * takes is a little-endian word of lock_word_size bytes: lock_free while the
 * lock is free, lock_owner_base + the holder's cpuid while it is held.  At a
 * stop (between ops, every CPU out of the pmap) each one is free.  The
 * global locks sit at locks[enum pts_lock] (0: the guest has no such lock),
 * each pmap's at off_pm_lock, the pv-list locks (hashed by page) in an array.
 */
#define PTS_LOCKS 8u /* slots of the descriptor's locks[] */
enum pts_lock {
	PTS_LOCK_SHOOTDOWN = 0, /* the one shootdown in flight */
	PTS_LOCK_POOL = 1,      /* the pv entry pool */
	PTS_LOCK_VM_PAGE = 2,   /* the free page list */
	PTS_LOCK_PMAP_LIST = 3, /* the pmap list */
	PTS_LOCK_LEDGER = 4,    /* the TLB ledger (a leaf lock) */
	PTS_LOCK_KINDS = 5      /* slots 5..7: not used yet, 0 */
};

struct pts_descriptor {
	uint32_t magic;
	uint32_t abi_version;
	uint32_t size; /* sizeof(struct pts_descriptor) */
	uint32_t page_size;

	/* address-space layout */
	uint64_t user_max;    /* first non-user VA (0x0000800000000000) */
	uint64_t dmap_base;   /* direct map KVA of physical 0 */
	uint64_t dmap_size;   /* bytes covered */
	uint64_t kernbase;    /* KVA of physical 0 in the kernel image window */
	uint64_t kern_pa;     /* kernel image physical start */
	uint64_t kern_size;   /* kernel image bytes (text..bss end) */
	uint64_t kenter_base; /* kenter window KVA */
	uint64_t kenter_size;
	uint64_t pv_kva_base; /* fixed pv pool KVA reservation */
	uint64_t pv_kva_size;
	uint32_t kernel_slot_first; /* PML4 slots shared by every pmap */
	uint32_t kernel_slot_last;  /* inclusive */
	uint64_t pte_wired_bit;     /* PTS_PTE_WIRED */
	uint64_t pte_managed_bit;   /* PTS_PTE_MANAGED */
	uint32_t ptp_refcount_rule; /* PTS_PTP_REF_* */
	uint32_t resident_rule;     /* PTS_RESIDENT_* */

	/* struct vm_page array, one per physical page frame first_pfn.. */
	uint64_t vm_page_array;
	uint64_t vm_page_count;
	uint64_t vm_page_first_pfn;
	uint32_t vm_page_size;
	uint32_t off_vmp_phys_addr;       /* u64 */
	uint32_t off_vmp_usage;           /* u32 enum pts_page_usage */
	uint32_t off_vmp_pv_list;         /* u64 KVA of first pv entry */
	uint32_t off_vmp_attrs;           /* u32 PTS_ATTR_* */
	uint32_t off_vmp_flags;           /* u32 PTS_PGF_* */
	uint32_t off_vmp_pmap_count;      /* u32 */
	uint32_t off_vmp_writeable_count; /* u32 */
	uint32_t off_vmp_wire_count;      /* u32 PTP reference count */
	uint32_t off_vmp_ptp_pmap;        /* u64 KVA of owning pmap (PTPs) */
	uint32_t off_vmp_ptp_va;          /* u64 first VA the PTP maps */
	uint32_t off_vmp_ptp_level;       /* u32 1 = PT, 2 = PD, 3 = PDPT, 4 = PML4 */
	uint32_t off_vmp_ptp_hnext;       /* u64 KVA of next vm_page in hash chain */

	/* managed arena: pg<N> is pfn arena_first_pfn + N */
	uint64_t arena_first_pfn;
	uint64_t arena_npages;

	/* pv entries */
	uint32_t pv_entry_size;
	uint32_t off_pve_pmap; /* u64 KVA of pmap */
	uint32_t off_pve_va;   /* u64 */
	uint32_t off_pve_next; /* u64 KVA of next entry on the page's list */
	uint32_t off_pve_ptp;  /* u64 KVA of the PTP's vm_page (0 for none) */
	uint32_t pad1;

	/* pv entry pool (NetBSD pool(9) style, pages in the pv KVA window) */
	uint64_t pv_pool;             /* KVA of struct pool */
	uint32_t off_pr_partpages;    /* u64 KVA of first pool page header */
	uint32_t off_pr_fullpages;    /* u64 */
	uint32_t off_pr_emptypages;   /* u64 */
	uint32_t off_pr_itemsperpage; /* u32 */
	uint32_t off_pr_nitems;       /* u32 free items in the pool */
	uint32_t off_pr_nout;         /* u32 items allocated */
	uint32_t off_pr_npages;       /* u32 pages held */
	uint32_t off_pr_nidle;        /* u32 empty pages held */
	uint32_t off_pr_minitems;     /* u32 low-water mark (items) */
	uint32_t off_pr_maxpages;     /* u32 high-water mark (idle pages) */
	uint32_t off_ph_next;         /* u64 KVA of next header on the same list */
	uint32_t off_ph_freelist;     /* u64 KVA of first free item on this page */
	uint32_t off_ph_nmissing;     /* u32 items in use on this page */
	uint32_t off_ph_page;         /* u64 KVA of the page itself */
	uint32_t pool_item_offset;    /* first item's offset in its page */
	uint32_t off_item_next;       /* u64 free-list link inside a free item */
	uint32_t pad2;

	/* pmaps */
	uint64_t kernel_pmap; /* KVA */
	uint64_t pmap_list;   /* KVA of a u64 holding the first user pmap */
	uint64_t curpmap;     /* KVA of a u64 holding the active pmap */
	uint32_t pmap_size;
	uint32_t off_pm_next;           /* u64 KVA of next pmap on the list */
	uint32_t off_pm_pml4_pa;        /* u64 physical address of the PML4 */
	uint32_t off_pm_resident_count; /* u64 */
	uint32_t off_pm_wired_count;    /* u64 */
	uint32_t off_pm_slot;           /* u32 host slot number */
	uint32_t off_pm_ptp_hash;       /* u64[ptp_hash_size] bucket heads (vm_page KVA) */
	uint32_t ptp_hash_size;
	uint32_t off_pm_ptp_count; /* u32 PTPs held, PML4 excluded */
	uint32_t off_pm_active;    /* u32 CPU set: bit i = CPU i has the pmap in CR3 (ABI 2) */

	/* ledgers and rings (fixed layouts above) */
	uint64_t tlb_ledger; /* KVA of struct pts_tlb_ledger */
	uint64_t ring_pa;    /* guest-physical address of struct pts_ring */

	/* added in place of reserved[0..1]; 0 means "not stated" */
	uint32_t ptp_hash_rule;    /* PTS_PTP_HASH_* : bucket of a PTP in pm_ptp_hash */
	uint32_t pool_size;        /* sizeof(struct pool), bounds off_pr_* */
	uint32_t pool_header_size; /* sizeof(pool page header), bounds off_ph_* */
	uint32_t pad4;
	uint64_t smp; /* KVA of struct pts_smp (ABI 2; the CPUs, shootdowns) */
	/* added in place of reserved[1]; 0 means "no coverage" (see struct pts_cov) */
	uint64_t cov_pa; /* guest-physical address of struct pts_cov */

	/* lock words (ABI 5; see enum pts_lock) */
	uint32_t lock_word_size;   /* bytes of a lock word: 4 */
	uint32_t lock_free;        /* a free lock's word */
	uint32_t lock_owner_base;  /* a held lock's word: lock_owner_base + the holder's cpuid */
	uint32_t off_pm_lock;      /* lock word of struct pmap (pm_lock) */
	uint64_t pv_locks;         /* KVA of the first pv-list lock's word (0: none) */
	uint32_t pv_lock_count;    /* pv-list locks */
	uint32_t pv_lock_stride;   /* bytes from one pv-list lock's word to the next */
	uint64_t locks[PTS_LOCKS]; /* KVA of each global lock's word, by enum pts_lock */
};

/* ---------------------------------------------------------------------------
 * SMP (ABI 2, docs/smp.md).  The host asks for N CPUs by starting N vCPUs and
 * putting "cpus=N" on the guest's command line (absent: 1).  The guest starts
 * the others itself (LAPIC INIT-SIPI-SIPI), gives each a struct pts_cpu in
 * struct pts_smp, which the descriptor's smp field points at, and says how
 * many came up in ncpus.  CPU 0 is the BSP and serves the ring; an op whose
 * record names another CPU (pts_op.cpu) runs on that one while CPU 0 waits.
 *
 * TLB shootdowns: the sender takes a generation from tlb_gen, writes the
 * request (range, flags) in the sd_* fields, sets tlb_gen_sent of every
 * target, sends IPI PTS_IPI_SHOOTDOWN, invalidates locally, and spins until
 * each target's tlb_gen_acked has reached the generation (a timeout is a
 * guest panic).  A target invalidates, then writes tlb_gen_acked.  So,
 * whenever no shootdown is in flight, tlb_gen_acked == tlb_gen_sent on every
 * CPU, and every ledger record a target made for generation g precedes its
 * ack of g.
 */
#define PTS_MAX_CPUS      8u
#define PTS_SMP_MAGIC     0x30706d73u /* "smp0" */
#define PTS_IPI_SHOOTDOWN 0xf0u       /* vector of the TLB shootdown IPI */
#define PTS_IPI_WAKE      0xf1u       /* vector of "look at your mailbox" */
#define PTS_IPI_SPURIOUS  0xffu       /* the LAPIC's spurious vector */
#define PTS_SD_GLOBAL     0x1u        /* sd_flags: the range holds global (kernel) entries */
#define PTS_SD_ALL        0x2u        /* sd_flags: flush everything (range ignored) */

enum pts_cpu_state {
	PTS_CPU_ABSENT = 0,
	PTS_CPU_STARTING = 1, /* ran the trampoline, not yet on the kernel pmap */
	PTS_CPU_IDLE = 2,     /* parked: halted with interrupts on, woken by IPI */
	PTS_CPU_BUSY = 3      /* running kernel code (the BSP always is) */
};

struct pts_cpu {
	uint32_t cpuid;          /* index, 0..ncpus-1 */
	uint32_t lapic_id;       /* LAPIC ID, the IPI destination */
	volatile uint32_t state; /* enum pts_cpu_state */
	uint32_t pad;
	volatile uint64_t cr3;           /* the root this CPU loaded last (tlb_switch) */
	volatile uint64_t curpmap;       /* KVA of the pmap whose root is in CR3 */
	volatile uint64_t tlb_gen_sent;  /* senders: highest generation addressed to this CPU */
	volatile uint64_t tlb_gen_acked; /* this CPU: highest generation it has invalidated for */
	volatile uint64_t ipis;          /* shootdowns this CPU served */
	/* added in place of reserved[0..1]: the op this CPU began last and the
	 * one it ended last, each as 1 + the ring record's seq (0: none yet).
	 * A host whose guest stopped making progress reads from them which
	 * CPUs are inside their op and which have not begun it (docs/smp.md). */
	volatile uint64_t op_begun;
	volatile uint64_t op_ended;
};

struct pts_smp {
	uint32_t magic;            /* PTS_SMP_MAGIC */
	uint32_t cpu_size;         /* sizeof(struct pts_cpu) */
	uint32_t ncpus_wanted;     /* cpus=N from the command line (1 when absent) */
	volatile uint32_t ncpus;   /* CPUs up, the BSP included: cpu[0..ncpus-1] are valid */
	volatile uint64_t tlb_gen; /* last shootdown generation handed out */
	/* the shootdown in flight (stable while some target has sent > acked) */
	volatile uint64_t sd_sva; /* [sd_sva, sd_eva), page aligned */
	volatile uint64_t sd_eva;
	volatile uint32_t sd_flags;  /* PTS_SD_* */
	volatile uint32_t sd_sender; /* cpuid of the sender */
	uint64_t reserved[2];
	struct pts_cpu cpu[PTS_MAX_CPUS];
};

/* ---------------------------------------------------------------------------
 * Edge coverage of the pmap (docs/architecture.md, "Coverage").  The guest's
 * pmap files are compiled with clang's -fsanitize-coverage=trace-pc-guard,
 * pc-table: every edge calls __sanitizer_cov_trace_pc_guard with the address
 * of its own 32-bit guard in the ELF section __sancov_guards, and the ELF
 * section __sancov_pcs holds, in the same order, one {pc, flags} pair of
 * 64-bit words per edge (flags bit 0: the function's entry block).  Edge i
 * (the guard at __sancov_guards + 4 i) sets map[i] to 1, a byte store and no
 * lock, so several vCPUs may share the map.  The host reads map as it reads
 * the rest of guest RAM; any non-zero byte counts as reached.
 *
 * The descriptor's cov_pa names this header (0: the guest has none).  It
 * has a version of its own: a host that does not speak it ignores coverage,
 * and so does one whose guest image's __sancov_pcs count differs from
 * nedges or whose __sancov_guards address differs from guards_kva.
 */
#define PTS_COV_MAGIC   0x31766f63u /* "cov1" */
#define PTS_COV_VERSION 1u
/* Edges a map may have: a host refuses more (the pmap has a few thousand). */
#define PTS_COV_MAX_EDGES (1u << 20)

struct pts_cov {
	uint32_t magic;
	uint32_t version;
	uint32_t nedges; /* bytes in the map: one an edge */
	uint32_t pad;
	uint64_t map_pa;     /* guest-physical address of map[0] */
	uint64_t guards_kva; /* KVA of the first guard (ELF section __sancov_guards) */
	uint64_t reserved[2];
};

#endif /* PTSHADOW_ABI_H */
