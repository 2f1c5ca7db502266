# kvmqual: KVM qualification and benchmark suite.
#   make                 build/probe (static) for this host
#   make ARCH=aarch64    cross-build into build/aarch64/
#   make test            unit, fixture and lab tests (installs what is missing)
#   make qualify         the main job on this host
#   make nightly         run, compare with last-good:5 (JUnit), report, publish
#   make fuzz | bench | install PREFIX=... (bin, lib/kvmqual, share/kvmqual) | clean
#   make test SANITIZE=1 the whole suite on binaries built with ASan and UBSan
# Quiet unless V=1.

HOST_ARCH := $(shell uname -m)
ARCH ?= $(HOST_ARCH)
ifeq ($(ARCH),$(HOST_ARCH))
OUT := build
CROSS :=
else
OUT := build/$(ARCH)
CROSS := $(ARCH)-linux-gnu-
endif

# SANITIZE=1: kvmqual, the probe, STREAM and the test tools built with
# AddressSanitizer and UndefinedBehaviorSanitizer into build-san/, a tree
# laid out like build/ (its guest images are build/guest's: they run in the
# guest).  Linked dynamically: ASan's run-time cannot be linked statically
# (gcc: "-static" with -fsanitize=address does not link), so the probe is
# not the static binary there.  Any undefined behaviour aborts
# (-fno-sanitize-recover).
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
STATIC := -static
TOOL_SAN :=
ifeq ($(SANITIZE),1)
ifneq ($(ARCH),$(HOST_ARCH))
$(error SANITIZE=1 builds for this host only, not ARCH=$(ARCH))
endif
OUT := build-san
CFLAGS := -O1 -g $(SAN)
STATIC :=
TOOL_SAN := $(SAN)
endif
ifeq ($(origin CC),default)
CC := $(CROSS)gcc
endif

PREFIX ?= /usr/local
VERSION := 0.1.0

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Per-architecture live KVM code; classification code is built everywhere.
KVM_SRC_aarch64 := probe/kvm_arm64.c probe/kvm_arm64_irq.c
KVM_SRC_x86_64 := probe/kvm_x86.c
KVM_SRC := $(or $(KVM_SRC_$(ARCH)),probe/kvm_none.c)

DEPS := $(OUT)/deps
CJSON_LIB := $(DEPS)/lib/libcjson.a
SYSROOT := $(OUT)/sysroot
ifneq ($(CROSS),)
SYS_CFLAGS := -I$(SYSROOT)/usr/include -I$(SYSROOT)/usr/include/$(ARCH)-linux-gnu
SYS_LDFLAGS := -L$(SYSROOT)/usr/lib/$(ARCH)-linux-gnu
# build/ARCH/kvmqual is linked dynamically against the sysroot's libcurl and
# sqlite3, whose own dependencies are not in the sysroot: found at run time
# (the lab image carries them, tests/lab/README.md).
KVMQUAL_CROSS_LDFLAGS := -Wl,--allow-shlib-undefined
SYSROOT_STAMP := $(SYSROOT)/.complete
endif

WARN := -Wall -Wextra -Wno-format-truncation -Wshadow -Wformat=2 -Wno-format-nonliteral -Wmissing-prototypes -Wstrict-prototypes
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -D_FILE_OFFSET_BITS=64 -I$(DEPS)/include $(SYS_CFLAGS) -MMD -MP
LIBS := $(CJSON_LIB) -lfdt -lz

LIB_SRCS := lib/util.c lib/hostfs.c lib/tar.c lib/json.c lib/energy.c
PROBE_LIB_SRCS := probe/probe.c probe/check.c probe/common.c probe/host.c probe/arm64.c probe/x86.c probe/topology.c \
	probe/dmesg.c probe/kconfig.c probe/cpuinfo.c probe/midr.c probe/platform.c probe/fdt.c probe/acpi.c probe/kvm.c \
	probe/output.c probe/capture.c probe/a64.c probe/irq_guest_arm64.c $(KVM_SRC)
PROBE_SRCS := $(LIB_SRCS) $(PROBE_LIB_SRCS) probe/main.c
PROBE_OBJS := $(PROBE_SRCS:%.c=$(OUT)/obj/%.o)

.PHONY: all probe agent stream fio kit launch kvmqual deps test test-build test-unit test-lab lab fuzz bench qualify nightly install clean cross guest-image

all: probe $(if $(filter 1,$(SANITIZE)),,agent) stream $(if $(CROSS),,kvmqual)

probe: $(OUT)/probe

$(OUT)/probe: $(PROBE_OBJS) $(CJSON_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(STATIC) $(if $(STATIC),,$(CFLAGS)) -o $@ $(PROBE_OBJS) $(SYS_LDFLAGS) $(LIBS)

$(OUT)/obj/%.o: %.c $(CJSON_LIB) $(SYSROOT_STAMP) | $(OUT)/.deps-ok
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The guest agent: the benchmark guest's /init, static, for the guest's arch.
AGENT_SRCS := guest-image/agent/agent.c lib/frame.c lib/runcmd.c lib/util.c
AGENT_OBJS := $(AGENT_SRCS:%.c=$(OUT)/obj/%.o)

agent: $(OUT)/kvmqual-agent

$(OUT)/kvmqual-agent: $(AGENT_OBJS) $(CJSON_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) -static -o $@ $(AGENT_OBJS) $(CJSON_LIB)

# STREAM, the project's own (workloads/stream/): static, built for the guest
# and for the host so that native and guest numbers come from the same code.
stream: $(OUT)/stream

$(OUT)/stream: workloads/stream/stream.c workloads/stream/stream.h | $(OUT)/.deps-ok
	@echo "  LD      $@"
	$(Q)$(CC) -O2 -std=gnu11 $(WARN) -pthread $(STATIC) $(TOOL_SAN) -o $@ workloads/stream/stream.c

# The front-end (host only).
WORKLOAD_SRCS := $(wildcard workloads/*.c)
# The stages below the front end (cli/), in the order data flows: runners/
# into the store (store/), read by compare/, reports/ and matrix/; ab/ runs
# experiments with runners/ and decides them.
# remote/ (kvmqual remote, the field kit's controller) sits above them all.
STAGE_SRCS := $(wildcard runners/*.c store/*.c compare/*.c reports/*.c matrix/*.c ab/*.c remote/*.c)
KVMQUAL_SRCS := cli/kvmqual.c $(STAGE_SRCS) $(WORKLOAD_SRCS) lib/frame.c lib/stale.c lib/runcmd.c lib/stats.c lib/sha256.c lib/number.c \
	$(LIB_SRCS) $(PROBE_LIB_SRCS)
KVMQUAL_LIBS := -lcurl -lsqlite3 -lfdt -lz -lm
KVMQUAL_OBJS := $(KVMQUAL_SRCS:%.c=$(OUT)/obj/%.o)

kvmqual: $(OUT)/kvmqual

# The report's templates are built in with .incbin (reports/templates.c).
REPORT_TEMPLATES := $(wildcard reports/templates/*)
$(OUT)/obj/reports/templates.o: $(REPORT_TEMPLATES)
# So is the store's schema (store/schema.c).
$(OUT)/obj/store/schema.o: store/schema.sql

$(OUT)/kvmqual: $(KVMQUAL_OBJS) $(CJSON_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(TOOL_SAN) -o $@ $(KVMQUAL_OBJS) $(SYS_LDFLAGS) $(KVMQUAL_CROSS_LDFLAGS) $(CJSON_LIB) $(KVMQUAL_LIBS)

# Debian packages first (installed when root, else the command is printed).
$(OUT)/.deps-ok: scripts/deps.sh
	$(Q)scripts/deps.sh $(if $(CROSS),cross,build)
	@mkdir -p $(OUT) && touch $@

$(SYSROOT)/.complete: scripts/cross-sysroot.sh | $(OUT)/.deps-ok
	@echo "  SYSROOT $(SYSROOT)"
	$(Q)scripts/cross-sysroot.sh $(SYSROOT)

# cJSON is linked statically into the probe; Debian ships it only as a shared
# library, so it is built from Debian's own source package (cached offline).
$(CJSON_LIB): scripts/debian-src.sh | $(OUT)/.deps-ok
	@echo "  CJSON   $@"
	$(Q)src=$$(scripts/debian-src.sh cjson .cache/debian-src) && \
	mkdir -p $(DEPS)/lib $(DEPS)/include/cjson $(DEPS)/obj && \
	cp "$$src/cJSON.h" $(DEPS)/include/cjson/ && \
	$(CC) -O2 -g -std=c89 -fno-strict-aliasing -c -o $(DEPS)/obj/cJSON.o "$$src/cJSON.c" && \
	$(CROSS)ar rcs $@ $(DEPS)/obj/cJSON.o && \
	cat "$$src/.kvmqual-complete" > $(DEPS)/cjson.source

cross:
	$(Q)$(MAKE) --no-print-directory ARCH=aarch64 probe

# fio rebuilt from Debian's source package with only the engines the
# workloads use (scripts/build-fio.sh): the guest image's and the kit's fio,
# without the 85 MB of ceph, glusterfs and RDMA libraries Debian's links.
fio: $(OUT)/fio

$(OUT)/fio: scripts/build-fio.sh scripts/debian-src.sh kit/pins/sources.lock $(SYSROOT_STAMP) | $(OUT)/.deps-ok
	@echo "  FIO     $@"
	$(Q)scripts/build-fio.sh $(ARCH) $@

# ---- the field kit (docs/kit.md) ----
# kit/launch.c: how the kit's dynamic programs start, through the kit's own
# loader; static, one per architecture.
KIT_LOADER_aarch64 := ld-linux-aarch64.so.1
KIT_LOADER_x86_64 := ld-linux-x86-64.so.2

launch: $(OUT)/kvmqual-launch

$(OUT)/kvmqual-launch: kit/launch.c | $(OUT)/.deps-ok
	@echo "  LD      $@"
	$(Q)$(CC) -O2 -s -std=gnu11 $(WARN) -static -DKIT_LOADER='"$(KIT_LOADER_$(ARCH))"' -o $@ kit/launch.c

# make kit ARCH=aarch64|x86_64: build/kit/kvmqual-kit-ARCH-VERSION.tar.gz
kit:
	$(Q)scripts/deps.sh guest
	$(Q)$(MAKE) --no-print-directory ARCH=$(ARCH) probe stream fio kvmqual launch
	$(Q)$(MAKE) --no-print-directory guest-image GUEST_ARCHES=$(ARCH)
	$(Q)kit/build.sh --arch $(ARCH) --build $(OUT) --out build/kit --version $(VERSION)

# ---- the benchmark guest image, for both guest architectures ----
# Each image holds the agent and STREAM built for its architecture.
GUEST_ARCHES := aarch64 x86_64

guest-image:
	$(Q)scripts/deps.sh guest
	$(Q)for a in $(GUEST_ARCHES); do \
		$(MAKE) --no-print-directory ARCH=$$a SANITIZE= agent stream fio || exit 1; \
		dir=$$( [ $$a = $(HOST_ARCH) ] && echo build || echo build/$$a ); \
		guest-image/build.sh --arch $$a --out build/guest/$$a \
			--agent $$dir/kvmqual-agent --extra $$dir/stream --tool fio=$$dir/fio || exit 1; \
	done

# ---- tests ----

TEST_OUT := $(OUT)/tests
UNIT_SRCS := $(wildcard tests/unit/*.c)
HOST_KVM_SRC := $(or $(KVM_SRC_$(HOST_ARCH)),probe/kvm_none.c)
UNIT_LIB_SRCS := $(LIB_SRCS) lib/frame.c lib/stale.c lib/runcmd.c lib/stats.c lib/sha256.c lib/number.c $(STAGE_SRCS) $(WORKLOAD_SRCS) \
	$(filter-out probe/kvm_%.c,$(PROBE_LIB_SRCS)) $(HOST_KVM_SRC)

$(TEST_OUT)/unit: $(UNIT_SRCS) $(UNIT_LIB_SRCS) $(wildcard tests/unit/*.h probe/*.h lib/*.h runners/*.h store/*.h compare/*.h workloads/*.h reports/*.h matrix/*.h ab/*.h) $(CJSON_LIB)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)gcc -std=gnu11 $(WARN) -O1 -g $(SAN) -I$(DEPS)/include -o $@ $(UNIT_SRCS) $(UNIT_LIB_SRCS) \
		$(CJSON_LIB) $(KVMQUAL_LIBS)

$(TEST_OUT)/fixture_check: tests/tools/fixture_check.c $(CJSON_LIB)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)gcc -std=gnu11 $(WARN) -O1 -g $(TOOL_SAN) -I$(DEPS)/include -o $@ $< $(CJSON_LIB)

$(TEST_OUT)/test_stream: workloads/stream/test_stream.c workloads/stream/stream.c workloads/stream/stream.h
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)gcc -O2 -std=gnu11 $(WARN) -pthread -DSTREAM_NO_MAIN $(SAN) -o $@ workloads/stream/test_stream.c workloads/stream/stream.c

$(TEST_OUT)/dtb_check: tests/tools/dtb_check.c $(CJSON_LIB)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)gcc -std=gnu11 $(WARN) -O1 -g $(TOOL_SAN) -I$(DEPS)/include -o $@ $< $(CJSON_LIB) -lfdt

$(TEST_OUT)/json_get: tests/tools/json_get.c $(CJSON_LIB)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)gcc -std=gnu11 $(WARN) -O1 -g $(TOOL_SAN) -I$(DEPS)/include -o $@ $< $(CJSON_LIB)

# An empty store for tests that write rows with sqlite3 (readers never create one).
STORE_SRCS := $(filter-out store/cmd_%.c,$(wildcard store/*.c))
$(TEST_OUT)/store_init: tests/tools/store_init.c $(STORE_SRCS) $(wildcard store/*.h) store/schema.sql lib/util.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)gcc -std=gnu11 $(WARN) -O1 -g $(TOOL_SAN) -o $@ tests/tools/store_init.c $(STORE_SRCS) lib/util.c -lsqlite3

test-deps:
	$(Q)scripts/deps.sh test
	$(Q)scripts/deps.sh lava

# Loopback listeners for the publish and browser tests (never a fixed port).
$(TEST_OUT)/tcp_listen: tests/tools/tcp_listen.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)gcc -std=gnu11 $(WARN) -O1 -g $(TOOL_SAN) -o $@ $<

# A dripping, redirecting and flooding HTTP server for the hostile tests.
$(TEST_OUT)/http_hostile: tests/tools/http_hostile.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)gcc -std=gnu11 $(WARN) -O1 -g $(TOOL_SAN) -o $@ $<

$(TEST_OUT)/host_key: tests/tools/host_key.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)gcc -std=gnu11 $(WARN) -O1 -g $(TOOL_SAN) -o $@ $<

$(TEST_OUT)/http_fetch: tests/tools/http_fetch.c matrix/http.c matrix/http_dav.c matrix/http.h lib/util.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)gcc -std=gnu11 $(WARN) -O1 -g $(SAN) -o $@ tests/tools/http_fetch.c matrix/http.c matrix/http_dav.c lib/util.c -lcurl

TEST_TOOLS := unit fixture_check dtb_check json_get test_stream tcp_listen http_fetch http_hostile host_key store_init

# What the tests run, in $(OUT): build/, or build-san/ with SANITIZE=1
# (there, build-san/guest is build/guest and build-san/kit build/kit: the
# images and kits are the same; kvmqual looks for them beside itself).
test-build: test-deps
	$(Q)$(MAKE) --no-print-directory ARCH=$(HOST_ARCH) probe kvmqual stream $(TEST_TOOLS:%=$(TEST_OUT)/%)
	$(Q)$(MAKE) --no-print-directory ARCH=aarch64 SANITIZE= probe
	$(Q)$(MAKE) --no-print-directory SANITIZE= guest-image
	$(Q)$(MAKE) --no-print-directory SANITIZE= kit ARCH=aarch64
	$(Q)$(if $(filter build-san,$(OUT)),ln -sfn ../build/guest build-san/guest)
	$(Q)$(if $(filter build-san,$(OUT)),ln -sfn ../build/kit build-san/kit)

# make test: the whole suite, then (section `sanitizers`) a CI-length part
# of it again on build-san/.  make test SANITIZE=1: all of it on build-san/.
test: test-build
ifeq ($(SANITIZE),1)
	$(Q)KVMQUAL_TEST_BUILD=build-san tests/run.sh
else
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 test-build
	$(Q)tests/run.sh
endif

test-unit: $(TEST_OUT)/unit
	$(Q)$(TEST_OUT)/unit

# ---- the emulated ARM64 lab (tests/lab/README.md, docs/lab.md) ----
# lab: the lab hosts' boot image and payload disk (the aarch64 field kit:
# the suite cross-built, the aarch64 guest image, Debian's arm64 QEMU and
# tools), in build/lab.  test-lab: the probe in every lab host, then `kvmqual run
# --accel kvm,tcg` end to end in each KVM-capable one, then two LAVA jobs
# through lava-run on lab hosts (tests/sections/lava-lab.sh), then kvmqual ab
# and tune at length (A/A twenty times, tune here and in the VHE lab host
# under KVM; tests/sections/ab-long.sh) (an hour or more).
lab: test-deps
	$(Q)$(MAKE) --no-print-directory kit ARCH=aarch64
	$(Q)tests/lab/build-image.sh build/lab
	$(Q)tests/lab/build-payload.sh build/lab

test-lab: lab
	$(Q)$(MAKE) --no-print-directory ARCH=$(HOST_ARCH) kvmqual $(TEST_OUT)/fixture_check $(TEST_OUT)/json_get $(TEST_OUT)/tcp_listen
	$(Q)$(MAKE) --no-print-directory kit ARCH=$(HOST_ARCH)
	$(Q)TESTS="lab lab-nested kit kit-lab lava-lab ab-long" tests/run.sh

# ---- fuzzing, benchmarks ----

FUZZ_OUT := build/fuzz
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(FUZZ_OUT)/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 30

$(FUZZ_OUT)/%: tests/fuzz/%.c $(UNIT_LIB_SRCS) build/deps/lib/libcjson.a
	@mkdir -p $(dir $@)
	@echo "  FUZZ-CC $@"
	$(Q)clang -std=gnu11 -O1 -g -fsanitize=fuzzer,address,undefined -Ibuild/deps/include -o $@ $< \
		$(UNIT_LIB_SRCS) build/deps/lib/libcjson.a $(KVMQUAL_LIBS)

fuzz:
	$(Q)scripts/deps.sh fuzz
	$(Q)$(MAKE) --no-print-directory build/deps/lib/libcjson.a $(FUZZ_TARGETS)
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench:
	$(Q)scripts/deps.sh bench
	$(Q)$(MAKE) --no-print-directory probe kvmqual $(TEST_OUT)/json_get
	$(Q)$(MAKE) --no-print-directory ARCH=aarch64 probe
	$(Q)$(MAKE) --no-print-directory guest-image
	$(Q)bench/probe.sh
	$(Q)bench/boot.sh
	$(Q)bench/store.sh
	$(Q)bench/import.sh
	$(Q)$(MAKE) --no-print-directory kit ARCH=aarch64 $(TEST_OUT)/tcp_listen
	$(Q)bench/kit.sh
	$(Q)bench/kit-follow.sh
	$(Q)bench/compare.sh
	$(Q)bench/matrix.sh
	$(Q)bench/harness.sh
	$(Q)bench/nightly-sim.sh simulate
	$(Q)bench/ab-sim.sh simulate
	$(Q)bench/tune.sh
	$(Q)if [ -n "$${KVMQUAL_BASE:-}" ]; then bench/measure.sh; else echo "bench: bench/measure.sh skipped (set KVMQUAL_BASE to a kvmqual from before issue 17)"; fi

# ---- the main job ----

qualify:
	$(Q)scripts/deps.sh qualify
	$(Q)$(MAKE) --no-print-directory probe kvmqual
	$(Q)$(MAKE) --no-print-directory guest-image
	$(Q)scripts/qualify.sh

# The nightly regression run (compare/nightly.sh says which environment
# variables change it; README "Nightly runs").
nightly:
	$(Q)scripts/deps.sh qualify
	$(Q)$(MAKE) --no-print-directory probe kvmqual
	$(Q)$(MAKE) --no-print-directory guest-image
	$(Q)compare/nightly.sh

# The layout kvmqual looks for when it is not in the build tree
# (runners/setup.c setup_suite_path): PREFIX/bin/kvmqual, PREFIX/lib/kvmqual/
# stream and guest/ARCH (the images built so far, make guest-image),
# PREFIX/share/kvmqual/targets.conf.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/lib/kvmqual \
		$(DESTDIR)$(PREFIX)/share/kvmqual
	install -m 755 $(OUT)/probe $(DESTDIR)$(PREFIX)/bin/kvmqual-probe
	$(if $(CROSS),,install -m 755 $(OUT)/kvmqual $(DESTDIR)$(PREFIX)/bin/kvmqual)
	install -m 755 $(OUT)/stream $(DESTDIR)$(PREFIX)/lib/kvmqual/stream
	install -m 644 runners/targets.conf $(DESTDIR)$(PREFIX)/share/kvmqual/targets.conf
	install -m 644 probe/probe.1 $(DESTDIR)$(PREFIX)/share/man/man1/kvmqual-probe.1
	$(Q)for img in $(OUT)/guest/*; do \
		[ -f "$$img/.stamp" ] || continue; \
		name=$${img##*/}; \
		rm -rf "$(DESTDIR)$(PREFIX)/lib/kvmqual/guest/$$name"; \
		install -d "$(DESTDIR)$(PREFIX)/lib/kvmqual/guest/$$name" && \
		find "$$img" -maxdepth 1 -type f ! -name .lock -exec install -m 644 {} "$(DESTDIR)$(PREFIX)/lib/kvmqual/guest/$$name/" \; || exit 1; \
		echo "  INSTALL guest image $$name"; \
	done

clean:
	rm -rf build build-san

-include $(PROBE_OBJS:.o=.d) $(AGENT_OBJS:.o=.d) $(KVMQUAL_OBJS:.o=.d)
