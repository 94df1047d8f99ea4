# Makefile - builds the ptshadow host program, the guest kernel, the mutant
# guests, the tests and the generated docs.  See README.md and docs/.

CC       ?= cc
HOST_CC  := $(CC)
GUEST_CC ?= gcc
BUILD    := build

PKGS        := libelf libdw jansson check libvirt libvirt-qemu
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
ELF_LIBS    := $(shell pkg-config --libs libelf libdw jansson libvirt libvirt-qemu 2>/dev/null || \
                 echo -ldw -lelf -ljansson -lvirt-qemu -lvirt)
CHECK_LIBS  := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread)
# libxml2: the tests parse the SVG pictures back (tests only; ptshadow does not link it)
XML_CFLAGS  := $(shell pkg-config --cflags libxml-2.0 2>/dev/null || echo -I/usr/include/libxml2)
XML_LIBS    := $(shell pkg-config --libs libxml-2.0 2>/dev/null || echo -lxml2)

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
            -Wno-format-truncation
# Each role is compiled seeing only the headers it may use (docs/architecture.md), so a
# wrong include fails to build; `make check-boundaries` proves it.
HOST_BASE := -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -fstack-protector-strong -MMD -MP $(EXTRA_CFLAGS)
# lib/: the small helpers every host room may use (guest RAM and its checked
# accessor, the clock, a growable array, error messages, the internal-error
# macro); it sees only itself and the ABI
LIB_CFLAGS := $(HOST_BASE) -Iinclude -iquote lib
# monitor/: its own headers, lib/ and the ABI (include/ptshadow/), nothing of src/ or tests/
MONITOR_CFLAGS := $(HOST_BASE) -Iinclude -iquote monitor -iquote lib
# src/ is one folder a role; each room is compiled seeing only the rooms it
# may use (docs/architecture.md draws the graph), lib/ and the ABI.  A room's
# impl/ folder holds its private headers: struct vm (vm/impl, for vm/ and the
# backends) and struct session (session/impl): above them they are opaque.
ROOMS_util    := util
ROOMS_ops     := ops
ROOMS_vm      := vm vm/impl util
ROOMS_kvm     := kvm vm vm/impl util
ROOMS_qemu    := qemu vm vm/impl util
ROOMS_libvirt := libvirt qemu vm vm/impl util
ROOMS_session := session session/impl vm ops util monitor
ROOMS_report  := report session vm ops util monitor
ROOMS_cov     := cov util
ROOMS_fuzz    := fuzz cov report session vm ops util monitor
ROOMS_cli     := cli fuzz cov report session vm ops util monitor
# $(call room_cflags,ROOM): the flags of a room of src/
room_dirs   = $(foreach r,$(ROOMS_$(1)),$(if $(filter monitor,$(r)),monitor,src/$(r)))
room_cflags = $(HOST_BASE) -Iinclude $(addprefix -iquote ,$(call room_dirs,$(1))) -iquote lib \
              $(PKG_CFLAGS)
src_room    = $(word 2,$(subst /, ,$(1)))
# every room of src/ and monitor/: the tests' view
SRC_DIRS := $(patsubst %/,%,$(sort $(dir $(wildcard src/*/*.c src/*/*.h src/*/impl/*.h))))
SRC_CFLAGS := $(HOST_BASE) -Iinclude $(addprefix -iquote ,$(SRC_DIRS)) -iquote monitor -iquote lib \
              $(PKG_CFLAGS)
# tests/: everything, and the test library (tests/lib/)
TEST_CFLAGS := $(SRC_CFLAGS) -iquote tests/lib $(XML_CFLAGS)
# the flags of the role a host source file belongs to: $(call host_cflags,FILE)
host_cflags = $(if $(filter lib/%,$(1)),$(LIB_CFLAGS),$(if $(filter monitor/%,$(1)),$(MONITOR_CFLAGS),\
              $(if $(filter src/%,$(1)),$(call room_cflags,$(call src_room,$(1))),$(TEST_CFLAGS))))
HOST_CFLAGS := $(TEST_CFLAGS)
HOST_LDLIBS := $(ELF_LIBS) -lpthread -lm

# The guest: freestanding, no red zone, no SSE, kernel code model.
GUEST_FLAGS  := -std=gnu11 -O2 -g -ffreestanding -fno-builtin -nostdinc -Iinclude -Iguest \
                -mno-red-zone -mno-mmx -mno-sse -mno-sse2 -mno-avx -mcmodel=kernel \
                -fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables \
                -fno-omit-frame-pointer -MMD -MP $(GUEST_DEFS)
GUEST_CFLAGS := $(GUEST_FLAGS) $(WARN) -isystem $(shell $(GUEST_CC) -print-file-name=include)
# Coverage (docs/architecture.md, "Coverage"): the pmap and its helpers are
# compiled by clang with trace-pc-guard and a PC table (gcc has no guards);
# guest/cov.c keeps the map; DWARF 4, for libdw 0.188 (Debian 12) finds no
# DW_AT_decl_file in clang-14's DWARF 5.  `make COVERAGE=0` builds them with GUEST_CC, and
# without (the benchmark's guest without coverage).
COVERAGE ?= 1
COV_CC   ?= clang-14
GUEST_COV_SRCS := guest/pmap.c guest/pmap_check.c guest/pmap_kernel.c guest/pmap_ptp.c \
                  guest/pool.c guest/tlb.c guest/vm_page.c
COV_CFLAGS := $(GUEST_FLAGS) $(filter-out -Wno-format-truncation,$(WARN)) \
              -isystem $(shell $(COV_CC) -print-file-name=include 2>/dev/null) \
              -fsanitize-coverage=trace-pc-guard,pc-table -gdwarf-4
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,max-page-size=4096 \
                 -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

GUEST_SRCS   := $(wildcard guest/*.c) $(wildcard guest/*.S)
LIB_SRCS     := $(wildcard lib/*.c)
MONITOR_SRCS := $(wildcard monitor/*.c)
SRC_SRCS     := $(filter-out src/cli/main.c,$(wildcard src/*/*.c))
UNIT_SRCS    := $(wildcard tests/unit/test_*.c)
# the test library: the synthetic guest image (synth*.c) and the suites' helpers
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
SYNTH_SRCS   := $(wildcard tests/lib/synth*.c)

LIB_OBJS     := $(LIB_SRCS:%.c=$(BUILD)/host/%.o)
MONITOR_OBJS := $(MONITOR_SRCS:%.c=$(BUILD)/host/%.o)
SRC_OBJS     := $(SRC_SRCS:%.c=$(BUILD)/host/%.o)
UNIT_OBJS    := $(UNIT_SRCS:%.c=$(BUILD)/host/%.o)
TESTLIB_OBJS := $(TESTLIB_SRCS:%.c=$(BUILD)/host/%.o)

# Mutants: one guest build per -DMUTANT_<NAME>; the lists live in configs/mutants.list
# and (those found with --cpus 2) configs/mutants-smp.list.
MUTANTS := $(shell sed -e 's/\#.*//' configs/mutants.list configs/mutants-smp.list 2>/dev/null | awk 'NF {print $$1}')

.PHONY: all test mutants docs check-docs check-boundaries bench soak clean format format-check check-unused \
        check-functions test-times
all: $(BUILD)/ptshadow $(BUILD)/guest.elf
include src/qemu/plugin/plugin.mk

# ---- host ------------------------------------------------------------------
$(BUILD)/host/%.o: %.c
	@mkdir -p $(dir $@)
	$(HOST_CC) $(call host_cflags,$<) -c $< -o $@

$(BUILD)/liblib.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libmonitor.a: $(MONITOR_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libptshadow.a: $(SRC_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/ptshadow: $(BUILD)/host/src/cli/main.o $(BUILD)/libptshadow.a $(BUILD)/libmonitor.a \
                   $(BUILD)/liblib.a
	$(HOST_CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDLIBS)

# the built-in libvirt domain template (.incbin: no dependency the compiler sees)
$(BUILD)/host/src/libvirt/domain_xml.o: configs/libvirt/domain.xml

# ---- guest -----------------------------------------------------------------
$(BUILD)/guest/%.o: guest/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/guest/%.o: guest/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

GUEST_OBJS := $(patsubst guest/%,$(BUILD)/guest/%.o,$(basename $(GUEST_SRCS)))
ifeq ($(COVERAGE),1)
$(GUEST_COV_SRCS:guest/%.c=$(BUILD)/guest/%.o): $(BUILD)/guest/%.o: guest/%.c
	@mkdir -p $(dir $@)
	$(COV_CC) $(COV_CFLAGS) -c $< -o $@
endif
$(BUILD)/guest.elf: $(GUEST_OBJS) guest/linker.ld
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -T guest/linker.ld -o $@ $(GUEST_OBJS) -lgcc

# each mutant: the whole guest rebuilt in its own tree with -DMUTANT_<NAME>
$(BUILD)/mutants/%.elf: FORCE
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/mutants/$* \
	  GUEST_DEFS=-DMUTANT_$(shell echo $* | tr a-z- A-Z_) $(BUILD)/mutants/$*/guest.elf
	@cmp -s $(BUILD)/mutants/$*/guest.elf $@ || cp $(BUILD)/mutants/$*/guest.elf $@
FORCE:
mutants: $(MUTANTS:%=$(BUILD)/mutants/%.elf)

# ---- tests -----------------------------------------------------------------
$(BUILD)/tests/suites.h: $(UNIT_SRCS) Makefile
	@mkdir -p $(dir $@)
	@{ for f in $(UNIT_SRCS); do n=$$(basename $$f .c); n=$${n#test_}; \
	   echo "SUITE($$n)"; done; } > $@.tmp && mv $@.tmp $@

$(BUILD)/host/tests/run_tests.o: tests/run_tests.c $(BUILD)/tests/suites.h
	@mkdir -p $(dir $@)
	$(HOST_CC) $(TEST_CFLAGS) -I$(BUILD)/tests -c $< -o $@

$(BUILD)/libtest.a: $(TESTLIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/run_tests: $(BUILD)/host/tests/run_tests.o $(UNIT_OBJS) $(BUILD)/libtest.a \
                          $(BUILD)/libptshadow.a $(BUILD)/libmonitor.a $(BUILD)/liblib.a
	$(HOST_CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LDLIBS) $(CHECK_LIBS) $(XML_LIBS)

# `make test`: everything, ending with Check's summary.  SUITE=name runs one.
test: check-boundaries all mutants $(BUILD)/tests/run_tests
	$(BUILD)/tests/run_tests $(SUITE)

# the tests again, each timed (Check's XML logs), then where the time went
test-times: check-boundaries all mutants $(BUILD)/tests/run_tests
	@rm -rf $(BUILD)/test-times && mkdir -p $(BUILD)/test-times
	-PTSHADOW_TEST_XML=$(BUILD)/test-times $(BUILD)/tests/run_tests $(SUITE)
	@tests/tools/test_times.sh $(BUILD)/test-times

# ---- boundaries ------------------------------------------------------------
# Each probe in tests/boundaries/ includes one header its role may not use: it
# must fail to compile with that role's flags, for want of that header (the
# target fails if it compiles).  ok_*.c include what the roles may use and
# must compile, so that a refusal is the include path's doing.  A quoted
# include with a directory in it would walk around the include path: monitor/
# and guest/ have none.
BOUNDARY_ERR := $(BUILD)/boundaries.err
# a role's compiler and flags, for a probe (no dependency files)
MONITOR_PROBE := $(HOST_CC) $(filter-out -MMD -MP,$(MONITOR_CFLAGS)) -fsyntax-only
SRC_PROBE     := $(HOST_CC) $(filter-out -MMD -MP,$(SRC_CFLAGS)) -fsyntax-only
LIB_PROBE     := $(HOST_CC) $(filter-out -MMD -MP,$(LIB_CFLAGS)) -fsyntax-only
room_probe     = $(HOST_CC) $(filter-out -MMD -MP,$(call room_cflags,$(1))) -fsyntax-only
GUEST_PROBE   := $(GUEST_CC) $(filter-out -MMD -MP,$(GUEST_CFLAGS)) -fsyntax-only
# $(call refuse,ROLE,PROBE COMMAND,PROBE FILE,HEADER)
define refuse
	@mkdir -p $(BUILD)
	@if $(2) $(3) >/dev/null 2>$(BOUNDARY_ERR); then \
	  echo "check-boundaries: FAIL: $(3) compiled with the flags of $(1): it sees $(4)"; exit 1; fi
	@grep -q '$(4)' $(BOUNDARY_ERR) || { cat $(BOUNDARY_ERR); \
	  echo "check-boundaries: FAIL: $(3) did not compile, but not for want of $(4)"; exit 1; }
	@echo "check-boundaries: $(1) cannot include $(4)"
endef
check-boundaries:
	$(MONITOR_PROBE) tests/boundaries/ok_monitor.c
	$(GUEST_PROBE) tests/boundaries/ok_guest.c
	$(call refuse,monitor/,$(MONITOR_PROBE),tests/boundaries/monitor_src.c,util.h)
	$(call refuse,monitor/,$(MONITOR_PROBE),tests/boundaries/monitor_tests.c,synth.h)
	$(call refuse,src/,$(SRC_PROBE),tests/boundaries/src_tests.c,synth.h)
	$(call refuse,guest/,$(GUEST_PROBE),tests/boundaries/guest_monitor.c,gmem.h)
	$(call refuse,guest/,$(GUEST_PROBE),tests/boundaries/guest_host.c,stdio.h)
	$(call room_probe,cli) tests/boundaries/ok_rooms.c
	$(call room_probe,report) tests/boundaries/ok_rooms.c
	$(call room_probe,session) tests/boundaries/ok_rooms.c
	$(call room_probe,vm) tests/boundaries/ok_backend.c
	$(call room_probe,qemu) tests/boundaries/ok_backend.c
	$(call refuse,src/cli/,$(call room_probe,cli),tests/boundaries/cli_kvm.c,kvm_vm.h)
	$(call refuse,src/cli/,$(call room_probe,cli),tests/boundaries/cli_qemu.c,qemu_vm.h)
	$(call refuse,src/report/,$(call room_probe,report),tests/boundaries/report_session.c,session_impl.h)
	$(call refuse,src/report/,$(call room_probe,report),tests/boundaries/report_vm.c,vm_impl.h)
	$(call refuse,src/session/,$(call room_probe,session),tests/boundaries/session_vm.c,vm_impl.h)
	$(call refuse,src/vm/,$(call room_probe,vm),tests/boundaries/vm_monitor.c,monitor.h)
	$(call refuse,src/qemu/,$(call room_probe,qemu),tests/boundaries/qemu_monitor.c,violation.h)
	$(call refuse,lib/,$(LIB_PROBE),tests/boundaries/lib_monitor.c,monitor.h)
	@! grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*/' monitor/*.[ch] guest/*.[chS] \
	  lib/*.[ch] || { echo "check-boundaries: FAIL: an include by path in monitor/, lib/ or guest/"; exit 1; }
	@! grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"\.\./' $$(find src -name '*.[ch]') || \
	  { echo "check-boundaries: FAIL: an include out of its room by path in src/"; exit 1; }

# the generated docs are what the program prints (the docs suite)
check-docs: $(BUILD)/ptshadow $(BUILD)/tests/run_tests
	$(BUILD)/tests/run_tests docs

docs: docs/invariants.md docs/op-language.md
docs/invariants.md: $(BUILD)/ptshadow
	$(BUILD)/ptshadow invariants --markdown > $@.tmp && mv $@.tmp $@
# only the list of ops between its begin/end lines is generated: the rest is prose
docs/op-language.md: $(BUILD)/ptshadow FORCE
	$(BUILD)/ptshadow ops --markdown > $@.ops
	awk -v ops=$@.ops '/^<!-- begin: generated by .ptshadow ops / { while ((getline l < ops) > 0) print l; skip = 1; next } \
	  /^<!-- end: generated by .ptshadow ops / { skip = 0; next } !skip' $@ > $@.tmp
	rm -f $@.ops; cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

# the guest without coverage, for `bench --coverage` (what coverage costs)
$(BUILD)/nocov/guest.elf: FORCE
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/nocov COVERAGE=0 $(BUILD)/nocov/guest.elf

# the second line: coverage's cost and guided against random fuzzing on the
# mutants (a few minutes; docs/performance.md, "Coverage")
bench: all mutants $(BUILD)/nocov/guest.elf
	$(BUILD)/ptshadow bench $(BUILD)/guest.elf --json $(BUILD)/bench.json
	$(BUILD)/ptshadow bench $(BUILD)/guest.elf --coverage $(BUILD)/nocov/guest.elf \
	  --json $(BUILD)/bench-coverage.json

# `make soak`: 10,000,000 ops of the real guest on QEMU with 2 jobs (about 20
# minutes on two cores), RSS of ptshadow, the jobs and QEMU sampled as it runs
# (build/soak/rss.csv); SOAK_OPS, SOAK_JOBS, SOAK_BACKEND change it
soak: all
	rm -rf $(BUILD)/soak
	tests/perf/soak.sh $(BUILD)/ptshadow $(BUILD)/guest.elf $(BUILD)/soak

# no function nobody calls, in what ships (src/, monitor/, guest/); a function
# called from assembly or by QEMU says so with a cppcheck-suppress comment
CPPCHECK_UNUSED = cppcheck --enable=unusedFunction --inline-suppr --quiet --error-exitcode=1 \
                  --template='{file}:{line}: {id}: {message}'
check-unused:
	@$(CPPCHECK_UNUSED) -Iinclude $(addprefix -I,$(SRC_DIRS)) -Imonitor -Ilib \
	  $$(find src monitor lib -name '*.c') 2>&1 | grep unusedFunction && exit 1 || true
	@$(CPPCHECK_UNUSED) -Iinclude -Iguest $(wildcard guest/*.c) 2>&1 | \
	  grep unusedFunction && exit 1 || true
	@echo "check-unused: no unused function in src/, monitor/, lib/ or guest/"

# functions of src/ short enough to read (docs/architecture.md): none over 60
# lines, 16 on average, counted by universal-ctags from the definition's first
# line to its closing brace (tests/tools/funclen.sh lists the longest)
check-functions:
	@tests/tools/funclen.sh -m 60 -a 16 src

# one dialect (.clang-format): `make format` rewrites, `make format-check` (CI) fails on a difference
FORMAT_FILES = $$(git ls-files '*.c' '*.h' 2>/dev/null || find src monitor guest include tests -name '*.[ch]')
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	@clang-format --dry-run -Werror $(FORMAT_FILES) && echo "format-check: every C file is formatted"

clean:
	rm -rf $(BUILD)

include tests/fuzz/fuzz.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
