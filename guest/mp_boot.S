/* guest/mp_boot.S - the APs' trampoline: real mode to long mode in one page.
 * smp_start_aps (guest/smp.c) copies it to TRAMP_PA (below 1 MiB, where a
 * SIPI can point) and fills in its data: the boot page tables of entry.S
 * (below 4 GiB; they map this page 1:1 and the kernel image at KERNBASE),
 * the stacks and ap_main.  Each AP takes the next CPU index with a lock
 * xadd, so APs that start together never share a stack.
 *
 * Linked in .text at a high address and run from TRAMP_PA: every address in
 * it is TRAMP_PA + (label - mp_tramp_start).
 */
#define TRAMP_PA 0x8000
#define T(x) (TRAMP_PA + ((x) - mp_tramp_start))
#define AP_STACK 16384

	.text
	.code16
	.globl	mp_tramp_start
	.align	16
mp_tramp_start:
	cli
	cld
	movw	%cs, %ax
	movw	%ax, %ds
	lgdtl	tramp_gdt_desc - mp_tramp_start
	movl	%cr0, %eax
	orl	$1, %eax		/* PE */
	movl	%eax, %cr0
	ljmpl	$0x08, $T(tramp32)

	.code32
tramp32:
	movl	$0x10, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%cr4, %eax
	orl	$0x20, %eax		/* PAE */
	movl	%eax, %cr4
	movl	T(mp_tramp_cr3), %eax
	movl	%eax, %cr3
	movl	$0xc0000080, %ecx	/* EFER: LME | NXE (the BSP checked NX) */
	rdmsr
	orl	$0x900, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$0x80010001, %eax	/* PG | WP | PE */
	movl	%eax, %cr0
	ljmpl	$0x18, $T(tramp64)

	.code64
tramp64:
	movl	$0x10, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	$1, %eax
	lock xaddl %eax, T(mp_tramp_next)
	cmpl	T(mp_tramp_max), %eax
	jae	2f			/* more CPUs than cpus=N said: no stack, stay out */
	movl	%eax, %edi		/* ap_main(id) */
	leaq	1(%rax), %rcx
	imulq	$AP_STACK, %rcx
	movq	T(mp_tramp_stacks), %rsp
	addq	%rcx, %rsp		/* top of ap_stacks[id] */
	xorl	%ebp, %ebp
	pushq	$0			/* no return address: ap_main never returns */
	movq	T(mp_tramp_entry), %rax
	jmpq	*%rax
2:	cli
	hlt
	jmp	2b

	.align	16
tramp_gdt:
	.quad	0
	.quad	0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad	0x00cf92000000ffff	/* 0x10: data */
	.quad	0x00af9a000000ffff	/* 0x18: 64-bit code */
tramp_gdt_desc:
	.word	tramp_gdt_desc - tramp_gdt - 1
	.long	T(tramp_gdt)
	.align	8
	.globl	mp_tramp_cr3, mp_tramp_next, mp_tramp_max, mp_tramp_stacks, mp_tramp_entry
mp_tramp_cr3:
	.long	0	/* physical address of the boot PML4 */
mp_tramp_next:
	.long	1	/* the next AP's index */
mp_tramp_max:
	.long	0	/* cpus=N: indexes from N on stay out */
	.long	0
mp_tramp_stacks:
	.quad	0	/* KVA of ap_stacks[0] */
mp_tramp_entry:
	.quad	0	/* KVA of ap_main */
	.globl	mp_tramp_end
mp_tramp_end:
	.section .note.GNU-stack, "", @progbits
