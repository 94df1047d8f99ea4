# tests/fuzz/fuzz.mk - the monitor and text fuzzers (libFuzzer, clang) and the
# ASan+UBSan build of the unit tests (gcc).  Included by the Makefile.
#
#   make fuzz-monitor    fuzz the monitor on corrupted synthetic guests
#   make fuzz-text       fuzz the op-script, profile and report.json parsers
#   make fuzz-coverage   the monitor's line coverage from the corpora (llvm-cov)
#   make sanitize-test   unit tests that need no VM, under ASan+UBSan
#
# A fuzz run is bounded: FUZZ_SECONDS in all, FUZZ_RSS_MB of memory, and
# FUZZ_TIMEOUT seconds an input (a slower input is a finding).  New inputs go
# to $(BUILD)/fuzz/corpus/NAME; the seeds kept in the tree are read only;
# findings are written to $(BUILD)/fuzz/findings/NAME/ and fail the target.
# Needs clang-14 and libclang-rt-14-dev (libFuzzer); llvm-14 for coverage.

FUZZ_CC      ?= clang-14
FUZZ_PROFDATA ?= llvm-profdata-14
FUZZ_COV     ?= llvm-cov-14
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_SECONDS ?= 120
FUZZ_RSS_MB  ?= 512
FUZZ_TIMEOUT ?= 2
FUZZ_FLAGS   ?=
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := $(HOST_CFLAGS) -Wno-unknown-warning-option -fno-omit-frame-pointer
# a file compiled with its role's flags (the boundaries hold here too)
fuzz_cflags   = $(call host_cflags,$(1)) -Wno-unknown-warning-option -fno-omit-frame-pointer
# ASan keeps freed memory in quarantine (256 MiB by default): not the monitor's
FUZZ_ENV     := ASAN_OPTIONS=quarantine_size_mb=32:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1

FUZZ_MONITOR_OBJS := $(MONITOR_SRCS:%.c=$(FUZZ_BUILD)/san/%.o)
FUZZ_SYNTH_OBJS   := $(SYNTH_SRCS:%.c=$(FUZZ_BUILD)/san/%.o)
FUZZ_SRC_OBJS     := $(SRC_SRCS:%.c=$(FUZZ_BUILD)/san/%.o)
FUZZ_COV_OBJS     := $(MONITOR_SRCS:%.c=$(FUZZ_BUILD)/cov/%.o) $(SYNTH_SRCS:%.c=$(FUZZ_BUILD)/cov/%.o)

.PHONY: fuzz-monitor fuzz-text fuzz-coverage sanitize-test

# sanitized and coverage-guided (the harnesses link libFuzzer's main)
$(FUZZ_BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(call fuzz_cflags,$<) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

# the monitor on the test library's synthetic image
$(FUZZ_BUILD)/fuzz_monitor: $(FUZZ_BUILD)/san/tests/fuzz/fuzz_monitor.o $(FUZZ_SYNTH_OBJS) \
                            $(FUZZ_MONITOR_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(HOST_LDLIBS)

$(FUZZ_BUILD)/fuzz_text: $(FUZZ_BUILD)/san/tests/fuzz/fuzz_text.o $(FUZZ_SRC_OBJS) $(FUZZ_MONITOR_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(HOST_LDLIBS)

# run NAME's harness on its corpus: $(call fuzz_run,NAME,more libFuzzer flags)
define fuzz_run
	@mkdir -p $(FUZZ_BUILD)/corpus/$(1) $(FUZZ_BUILD)/findings/$(1)
	$(FUZZ_ENV) $(FUZZ_BUILD)/fuzz_$(1) $(FUZZ_BUILD)/corpus/$(1) tests/fuzz/corpus/$(1) \
	  -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=$(FUZZ_RSS_MB) -timeout=$(FUZZ_TIMEOUT) \
	  -artifact_prefix=$(FUZZ_BUILD)/findings/$(1)/ -print_final_stats=1 $(2) $(FUZZ_FLAGS)
endef

# a monitor input is a program of up to 32 commands: let them grow that long soon
fuzz-monitor: $(FUZZ_BUILD)/fuzz_monitor
	$(call fuzz_run,monitor,-max_len=512 -len_control=20)

fuzz-text: $(FUZZ_BUILD)/fuzz_text
	$(call fuzz_run,text,-max_len=4096)

# line coverage of monitor/ from both corpora of the monitor harness: every
# input run once by a build with clang's source-based coverage
$(FUZZ_BUILD)/cov/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(call fuzz_cflags,$<) -fprofile-instr-generate -fcoverage-mapping -c $< -o $@

$(FUZZ_BUILD)/fuzz_monitor_cov: $(FUZZ_BUILD)/cov/tests/fuzz/fuzz_monitor.o $(FUZZ_COV_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping -o $@ $^ \
	  $(HOST_LDLIBS)

fuzz-coverage: $(FUZZ_BUILD)/fuzz_monitor_cov
	@mkdir -p $(FUZZ_BUILD)/corpus/monitor
	rm -f $(FUZZ_BUILD)/cov/*.profraw
	LLVM_PROFILE_FILE=$(FUZZ_BUILD)/cov/%p.profraw $< -runs=0 $(FUZZ_BUILD)/corpus/monitor \
	  tests/fuzz/corpus/monitor >/dev/null 2>&1
	$(FUZZ_PROFDATA) merge -sparse $(FUZZ_BUILD)/cov/*.profraw -o $(FUZZ_BUILD)/cov/monitor.profdata
	$(FUZZ_COV) report $< -instr-profile=$(FUZZ_BUILD)/cov/monitor.profdata $(MONITOR_SRCS)

# the unit tests that need no VM, built with gcc's ASan and UBSan in their own tree
SANITIZE_BUILD  := $(BUILD)/asan
SANITIZE_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
SANITIZE_SUITES ?= $(patsubst tests/unit/test_%.c,%,$(wildcard tests/unit/test_monitor_*.c)) \
                   gmem ops pvh loader hypercall docs optable svg

sanitize-test:
	$(MAKE) --no-print-directory BUILD=$(SANITIZE_BUILD) CC=gcc EXTRA_CFLAGS="$(SANITIZE_FLAGS)" \
	  $(SANITIZE_BUILD)/tests/run_tests $(SANITIZE_BUILD)/ptshadow $(SANITIZE_BUILD)/guest.elf
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  PTSHADOW_BIN=$(SANITIZE_BUILD)/ptshadow PTSHADOW_GUEST=$(SANITIZE_BUILD)/guest.elf \
	  $(SANITIZE_BUILD)/tests/run_tests $(SANITIZE_SUITES)
