/* src/qemu/plugin/qemu_plugin_api.h - our declarations of the part of the QEMU 7.2 TCG
 * plugin ABI (qemu_plugin_version 1) that ptsdirty.so uses; Debian packages no header.
 *
 * Written from QEMU 7.2's include/qemu/qemu-plugin.h and plugins/loader.c.
 * The functions are exported by the qemu-system-* binary and resolved when it
 * dlopen()s the plugin.  The enum values are ABI: they cross into QEMU as ints.
 *   QEMU_PLUGIN_CB_NO_REGS = 0, _R_REGS = 1, _RW_REGS = 2
 *   QEMU_PLUGIN_MEM_R = 1, _W = 2, _RW = 3 (a bit mask: R | W)
 * QEMU 7.2 loads a plugin whose qemu_plugin_version is in [0, 1]
 * (QEMU_PLUGIN_MIN_VERSION 0, QEMU_PLUGIN_VERSION 1) and refuses any other.
 */
#ifndef PTSDIRTY_QEMU_PLUGIN_API_H
#define PTSDIRTY_QEMU_PLUGIN_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
#define QEMU_PLUGIN_LOCAL  __attribute__((visibility("hidden")))

/* The API level this plugin is written against; QEMU reads the exported int. */
#define QEMU_PLUGIN_VERSION 1
extern QEMU_PLUGIN_EXPORT int qemu_plugin_version;

typedef uint64_t qemu_plugin_id_t;

/* Valid only during qemu_plugin_install(). */
typedef struct qemu_info_t {
	const char *target_name; /* "x86_64" */
	struct {
		int min;
		int cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus;
			int max_vcpus;
		} system;
	};
} qemu_info_t;

/* The one symbol every plugin exports; argv stays valid while the plugin is loaded.
 * A non-zero return makes QEMU refuse the plugin (and exit). */
QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                           char **argv);

struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_plugin_hwaddr;

enum qemu_plugin_cb_flags {
	QEMU_PLUGIN_CB_NO_REGS = 0,
	QEMU_PLUGIN_CB_R_REGS = 1,
	QEMU_PLUGIN_CB_RW_REGS = 2,
};

enum qemu_plugin_mem_rw {
	QEMU_PLUGIN_MEM_R = 1,
	QEMU_PLUGIN_MEM_W = 2,
	QEMU_PLUGIN_MEM_RW = 3,
};

/* Opaque: access size, sign, endianness, direction and mmu index packed in 32 bits. */
typedef uint32_t qemu_plugin_meminfo_t;

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_mem_cb_t)(unsigned int vcpu_index, qemu_plugin_meminfo_t info,
                                          uint64_t vaddr, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_mem_cb_t cb,
                                      enum qemu_plugin_cb_flags flags, enum qemu_plugin_mem_rw rw,
                                      void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);

unsigned int qemu_plugin_mem_size_shift(qemu_plugin_meminfo_t info);
/* The access's real direction.  Check it: 7.2 also calls MEM_W callbacks for loads. */
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t info);

/* System emulation only (NULL under linux-user); valid during the callback only. */
struct qemu_plugin_hwaddr *qemu_plugin_get_hwaddr(qemu_plugin_meminfo_t info, uint64_t vaddr);
bool qemu_plugin_hwaddr_is_io(const struct qemu_plugin_hwaddr *haddr);
/* For RAM: the offset in QEMU's ram_addr space plus the region's address, which
 * for pc's main RAM is the offset in the RAM file (= guest-physical below the
 * PCI hole). */
uint64_t qemu_plugin_hwaddr_phys_addr(const struct qemu_plugin_hwaddr *haddr);

/* Parse "on/off/yes/no/true/false"; false when val is none of them. */
bool qemu_plugin_bool_parse(const char *name, const char *val, bool *ret);
void qemu_plugin_outs(const char *string);

#endif /* PTSDIRTY_QEMU_PLUGIN_API_H */
