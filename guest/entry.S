/* guest/entry.S - the PVH entry point (32-bit protected mode, paging off),
 * the early page tables and the switch to long mode, the exception stubs and
 * the one faulting access primitive (cpu_touch) the pmap's touch op uses.
 */
#define KERNBASE 0xffffffff80000000
#define PA(x) ((x) - KERNBASE)
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define BOOT_PT_PAGES 7 /* PML4, PDPT(low), PD x4, PDPT(high) */
/* struct pts_doorbell offsets; guest/hypercall.c asserts them */
#define DB_PARKED 48
#define DB_RESUME 56
#define DB_PARK_CR3 64
#define DB_PARKING 72
#define COM2_THR 0x2f8
#define COM2_LSR 0x2fd
#define LSR_THRE 0x20
#define DB_PARKED_BYTE 0x50	/* 'P', PTS_DB_PARKED */
#define PCPU_ONFAULT_RIP 8	/* guest/smp.h asserts it */

/* The PVH entry note: name "Xen", 4-byte physical entry address. */
	.section .note.Xen, "a", @note
	.align 4
	.long 4                         /* namesz */
	.long 4                         /* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.align 4
	.long pvh_start32
	.align 4

/*
 * PVH: 32-bit flat protected mode, paging off, interrupts off,
 * %ebx = physical address of struct hvm_start_info.
 */
	.section .boot.text, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	movl	%ebx, %esi
	movl	$PA(boot_stack_top), %esp

	/* Zero the boot page tables (.bss may not be cleared by the loader). */
	movl	$PA(boot_pt), %edi
	movl	$(BOOT_PT_PAGES * 4096 / 4), %ecx
	xorl	%eax, %eax
	rep stosl

	movl	$PA(boot_pt), %edi
	/* PML4[0] (identity) and PML4[256] (direct map) -> PDPT(low) */
	leal	(4096 + 3)(%edi), %eax
	movl	%eax, 0(%edi)
	movl	%eax, (256 * 8)(%edi)
	/* PML4[511] -> PDPT(high) */
	leal	(6 * 4096 + 3)(%edi), %eax
	movl	%eax, (511 * 8)(%edi)
	/* PDPT(low)[0..3] -> PD 0..3: the first 4 GiB */
	leal	(2 * 4096 + 3)(%edi), %eax
	movl	%eax, (4096 + 0)(%edi)
	addl	$4096, %eax
	movl	%eax, (4096 + 8)(%edi)
	addl	$4096, %eax
	movl	%eax, (4096 + 16)(%edi)
	addl	$4096, %eax
	movl	%eax, (4096 + 24)(%edi)
	/* PDPT(high)[510..511] -> PD 0..1: KERNBASE maps physical 0..2 GiB */
	leal	(2 * 4096 + 3)(%edi), %eax
	movl	%eax, (6 * 4096 + 510 * 8)(%edi)
	addl	$4096, %eax
	movl	%eax, (6 * 4096 + 511 * 8)(%edi)
	/* PD entries: 2048 x 2 MiB, present | writable | PS */
	leal	(2 * 4096)(%edi), %ebx
	xorl	%ecx, %ecx
1:	movl	%ecx, %eax
	shll	$21, %eax
	orl	$0x83, %eax
	movl	%eax, (%ebx, %ecx, 8)
	movl	%ecx, %eax
	shrl	$11, %eax
	movl	%eax, 4(%ebx, %ecx, 8)
	incl	%ecx
	cmpl	$2048, %ecx
	jb	1b

	/* CR4.PAE, CR3, EFER.LME (+ NXE when the CPU has NX) */
	movl	%cr4, %eax
	orl	$0x20, %eax
	movl	%eax, %cr4
	movl	%edi, %cr3
	movl	$0x80000001, %eax
	cpuid
	movl	%edx, %ebp
	movl	$0xc0000080, %ecx
	rdmsr
	orl	$0x100, %eax
	btl	$20, %ebp
	jnc	2f
	orl	$0x800, %eax
2:	wrmsr
	/* CR0: PG | WP | PE */
	movl	%cr0, %eax
	orl	$0x80010001, %eax
	movl	%eax, %cr0
	lgdt	boot_gdt_desc
	ljmp	$0x08, $boot64

	.code64
boot64:
	movl	$0x10, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	xorl	%eax, %eax
	movl	%eax, %fs
	movl	%eax, %gs
	movabsq	$boot_stack_top, %rsp
	xorl	%ebp, %ebp
	movl	%esi, %edi		/* kmain(start_info_pa) */
	movabsq	$kmain, %rax
	callq	*%rax
3:	cli
	hlt
	jmp	3b

	.section .boot.data, "aw"
	.align 16
boot_gdt:
	.quad	0
	.quad	0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad	0x00cf92000000ffff	/* 0x10: data */
boot_gdt_desc:
	.word	boot_gdt_desc - boot_gdt - 1
	.long	boot_gdt

/* ------------------------------------------------------------------------- */
	.text
	.code64
/*
 * Exception and interrupt stubs: 256 of them, 16 bytes apart, each pushing an
 * error code (0 when the CPU does not push one) and its vector.
 */
	.globl	isr_stubs
	.align	16
isr_stubs:
	.set	vec, 0
	.rept	256
	.align	16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	isr_common
	.set	vec, vec + 1
	.endr

isr_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, %rdi
	cld
	call	trap
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp
	iretq

/*
 * int cpu_touch(uint64_t va, int write, uint8_t value)
 * One byte read or written at va; 0 if the MMU allowed it, 1 if it faulted
 * (the page-fault handler resumes at the onfault address).
 */
	.globl	cpu_touch
cpu_touch:
	leaq	2f(%rip), %rax
	movq	%rax, %gs:PCPU_ONFAULT_RIP
	testl	%esi, %esi
	jnz	1f
	movb	(%rdi), %al
	jmp	3f
1:	movb	%dl, (%rdi)
3:	movq	$0, %gs:PCPU_ONFAULT_RIP
	xorl	%eax, %eax
	ret
2:	movq	$0, %gs:PCPU_ONFAULT_RIP
	movl	$1, %eax
	ret

/*
 * The doorbell's resume point (guest/hypercall.c, include/ptshadow/abi.h).
 *
 * int resume_save(struct resume_ctx *c)
 * Saves the callee-saved registers, the stack, CR3 and RFLAGS; returns 0,
 * and 1 when db_park later resumes there.
 *
 * void db_park(struct pts_doorbell *db, uint64_t token, struct resume_ctx *c)
 * Runs from registers only: the host is putting the snapshot's RAM back
 * under it, this stack included.  Loads db->park_cr3 (the kernel pmap's
 * root, which maps this code and db the same way before and after), says
 * parked (in db, then a byte on COM2), spins until the host says resume,
 * flushes the whole TLB (CR4.PGE off and on: global entries too) and jumps
 * to the saved context.
 */
	.globl	resume_save
resume_save:
	movq	%rbx, 0(%rdi)
	movq	%rbp, 8(%rdi)
	movq	%r12, 16(%rdi)
	movq	%r13, 24(%rdi)
	movq	%r14, 32(%rdi)
	movq	%r15, 40(%rdi)
	leaq	8(%rsp), %rax
	movq	%rax, 48(%rdi)		/* rsp after our return */
	movq	(%rsp), %rax
	movq	%rax, 56(%rdi)		/* return address */
	movq	%cr3, %rax
	movq	%rax, 64(%rdi)
	pushfq
	popq	%rax
	movq	%rax, 72(%rdi)
	xorl	%eax, %eax
	ret

	.globl	db_park
db_park:
	movq	DB_PARK_CR3(%rdi), %rax
	movq	%rax, %cr3
	/* Two stores: a TCG plugin logs a store after it is done, so when the
	 * host sees `parked`, everything up to `parking` (same page) is logged. */
	movq	%rsi, DB_PARKING(%rdi)
	movq	%rsi, DB_PARKED(%rdi)
	movq	%rdx, %r8		/* the port is in %dx */
	movl	$COM2_LSR, %edx
2:	inb	%dx, %al
	testb	$LSR_THRE, %al
	jz	2b
	movl	$COM2_THR, %edx
	movb	$DB_PARKED_BYTE, %al
	outb	%al, %dx
	movq	%r8, %rdx
1:	cmpq	DB_RESUME(%rdi), %rsi	/* no pause: see doorbell_call */
	jne	1b
	movq	%cr4, %rax
	movq	%rax, %rcx
	andq	$~0x80, %rcx
	movq	%rcx, %cr4
	movq	%rax, %cr4
	movq	64(%rdx), %rax
	movq	%rax, %cr3
	movq	72(%rdx), %rax
	pushq	%rax
	popfq
	movq	0(%rdx), %rbx
	movq	8(%rdx), %rbp
	movq	16(%rdx), %r12
	movq	24(%rdx), %r13
	movq	32(%rdx), %r14
	movq	40(%rdx), %r15
	movq	48(%rdx), %rsp
	movl	$1, %eax
	jmpq	*56(%rdx)

/* ------------------------------------------------------------------------- */
	.bss
	.align	4096
	.globl	boot_pt
boot_pt:
	.skip	BOOT_PT_PAGES * 4096
	.align	16
boot_stack:
	.skip	64 * 1024
	.globl	boot_stack_top
boot_stack_top:
	.section .note.GNU-stack, "", @progbits
