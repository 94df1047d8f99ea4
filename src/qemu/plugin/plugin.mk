# src/qemu/plugin/plugin.mk - builds ptsdirty.so, the QEMU TCG plugin that logs guest
# stores for ptshadow, and keeps it out of the host library.  Included by the Makefile
# after `all:` and before the libptshadow.a rule.

PTSDIRTY_SO     := $(BUILD)/ptsdirty.so
PTSDIRTY_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -fPIC -fvisibility=hidden -MMD -MP \
                   $(EXTRA_CFLAGS)

all: $(PTSDIRTY_SO)

# the plugin runs inside QEMU and never links into ptshadow; its host side does
SRC_OBJS := $(filter-out $(BUILD)/host/src/qemu/plugin/%,$(SRC_OBJS))
SRC_OBJS += $(filter-out $(SRC_OBJS),$(BUILD)/host/src/qemu/tcg_dirty.o)

$(PTSDIRTY_SO): src/qemu/plugin/ptsdirty.c
	@mkdir -p $(dir $@)
	$(HOST_CC) $(PTSDIRTY_CFLAGS) -shared -o $@ $<

# the unit tests start QEMU with the plugin
$(BUILD)/tests/run_tests: | $(PTSDIRTY_SO)
