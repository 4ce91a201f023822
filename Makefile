# sandbox — ephemeral environment provisioner.
#
#   make            build build/sandbox and the mocks
#   make deps       install every build/test dependency (Debian 12, root) and start libvirt
#   make test       unit + integration + mock tests + bounded fuzzing (ASan/UBSan builds)
#   make e2e        end-to-end tests with real QEMU VMs
#   make check      lint + test + e2e (what CI runs)
#   make lint       cppcheck and the house rules (banned calls, getenv, comments) on provisioner/ mocks/
#   make bench      benchmarks (print figures, assert nothing)
#   make k8s-test-server  the tests' Kubernetes API server, built from Debian's Go libraries
#                   (tests/k8s/README.md; first build several minutes, then a no-op); test and
#                   check build it, test-bins does not
#   make install    install binaries under $(PREFIX)

CC       ?= cc
FUZZCC   ?= clang
PREFIX   ?= /usr/local
BUILD    ?= build

# Objects are intermediate files of pattern rules: keep them, or every make relinks everything.
.SECONDARY:

PKGS      := libvirt yaml-0.1 jansson libcurl libssh2 sqlite3 libpq openssl libmicrohttpd libfreeipmi
# Linked: what every command needs. The others are loaded on first use instead
# (provisioner/util/dynlib.h), by the SONAME of the library the headers came from.
PKGS_LINK := yaml-0.1 jansson sqlite3
MOCK_PKGS := libmicrohttpd jansson sqlite3 openssl libcurl gmime-3.0
WARN      := -Wall -Wextra -Werror -Wformat=2 -Wno-format-nonliteral
OPT       ?= -O2 -g
BASEFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -pthread -MMD -MP
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

pkgcflags  = $(shell pkg-config --cflags $(1) 2>/dev/null)
pkglibs    = $(shell pkg-config --libs $(1) 2>/dev/null)
# The SONAME of pkg-config package $(1)'s library lib$(2).so (empty when it cannot be read).
soname     = $(shell objdump -p $$(pkg-config --variable=libdir $(1) 2>/dev/null)/lib$(2).so 2>/dev/null | awk '/SONAME/{print $$2}')
SONAMES   := $(foreach v,VIRT:libvirt:virt SSH2:libssh2:ssh2 CURL:libcurl:curl IPMI:libfreeipmi:freeipmi MHD:libmicrohttpd:microhttpd PQ:libpq:pq CRYPTO:openssl:crypto,$(if $(call soname,$(word 2,$(subst :, ,$(v))),$(word 3,$(subst :, ,$(v)))),-DSBX_SONAME_$(word 1,$(subst :, ,$(v)))='"$(call soname,$(word 2,$(subst :, ,$(v))),$(word 3,$(subst :, ,$(v))))"'))

PROV_DIRS  := $(shell find provisioner -type d)
PROV_SRCS  := $(shell find provisioner -name '*.c' ! -path provisioner/main.c)
PROV_INC   := $(addprefix -I,$(PROV_DIRS))
PROV_CFLAGS = $(BASEFLAGS) $(PROV_INC) $(call pkgcflags,$(PKGS)) $(SONAMES)
PROV_LIBS   = $(call pkglibs,$(PKGS_LINK)) -lm
# Sanitizer builds (what the tests run) link every library, loaded before main: ASan's interceptors
# find the real functions only in libraries loaded at start-up (libvirt's XDR calls crash otherwise),
# and tests call the libraries directly too. The wrappers still run: the binary's definitions win.
SAN_LIBS    = $(call pkglibs,$(PKGS)) -lm

MOCKS      := sms mail payment
# The helpers the mocks share with the provisioner: each stands alone in provisioner/util.
SHARED_SRCS   := $(addprefix provisioner/util/,buf.c clock.c random.c sha256.c)
MOCK_LIB_SRCS := $(wildcard mocks/common/*.c) $(SHARED_SRCS)
MOCK_CFLAGS = $(BASEFLAGS) -Imocks/common -Iprovisioner/util $(call pkgcflags,$(MOCK_PKGS)) $(SONAMES)
MOCK_LIBS   = $(call pkglibs,$(MOCK_PKGS)) -lm
# The mock binaries load libcurl and libcrypto on first use (mocks/common/mock_dl.c): linked as
# needed, only the mail mock keeps libssl (STARTTLS) and with it libcrypto.
MOCK_BIN_LIBS = -Wl,--as-needed $(call pkglibs,$(filter-out libcurl,$(MOCK_PKGS))) -lm
mock_srcs   = $(wildcard mocks/$(1)/*.c)

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
MOCKT_SRCS := $(wildcard tests/mocks/test_*.c)
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
HELPER_SRCS:= $(wildcard tests/lib/*.c)
# The mocks' tests link no provisioner code: only the process helper.
MOCK_HELPER_SRCS := tests/lib/mockproc.c

obj   = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
aobj  = $(patsubst %.c,$(BUILD)/asan/obj/%.o,$(1))
fobj  = $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(1))

BINS      := $(BUILD)/sandbox $(addprefix $(BUILD)/sbx-mock-,$(MOCKS))
ASAN_BINS := $(BUILD)/asan/sandbox $(addprefix $(BUILD)/asan/sbx-mock-,$(MOCKS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/asan/tests/unit/%,$(UNIT_SRCS))
INTEG_SRCS:= $(wildcard tests/integration/test_*.c)
INTEG_BINS:= $(patsubst tests/integration/%.c,$(BUILD)/asan/tests/integration/%,$(INTEG_SRCS))
MOCKT_BINS:= $(patsubst tests/mocks/%.c,$(BUILD)/asan/tests/mocks/%,$(MOCKT_SRCS))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

.SECONDEXPANSION:
.PHONY: all deps test e2e check bench install clean fuzz test-bins lint k8s-test-server
all: $(BINS)

# --- normal build -------------------------------------------------------------
$(BUILD)/obj/provisioner/%.o: provisioner/%.c
	@mkdir -p $(@D)
	$(CC) $(OPT) $(PROV_CFLAGS) -c $< -o $@
$(BUILD)/obj/mocks/%.o: mocks/%.c
	@mkdir -p $(@D)
	$(CC) $(OPT) $(MOCK_CFLAGS) -c $< -o $@

$(BUILD)/sandbox: $(call obj,provisioner/main.c $(PROV_SRCS))
	$(CC) $(OPT) -pthread -o $@ $^ $(PROV_LIBS)
$(BUILD)/sbx-mock-%: $$(call obj,$$(call mock_srcs,$$*) $(MOCK_LIB_SRCS))
	$(CC) $(OPT) -pthread -o $@ $^ $(MOCK_BIN_LIBS)

# --- sanitizer build (what the tests run) -------------------------------------
$(BUILD)/asan/obj/provisioner/%.o: provisioner/%.c
	@mkdir -p $(@D)
	$(CC) -O1 -g $(SAN) $(PROV_CFLAGS) -c $< -o $@
$(BUILD)/asan/obj/mocks/%.o: mocks/%.c
	@mkdir -p $(@D)
	$(CC) -O1 -g $(SAN) $(MOCK_CFLAGS) -c $< -o $@
$(BUILD)/asan/obj/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) -O1 -g $(SAN) $(PROV_CFLAGS) -Imocks/common -Itests/lib $(call pkgcflags,$(MOCK_PKGS) cmocka libcurl) -c $< -o $@

$(BUILD)/asan/sandbox: $(call aobj,provisioner/main.c $(PROV_SRCS))
	$(CC) $(SAN) -pthread -o $@ $^ $(SAN_LIBS)
$(BUILD)/asan/sbx-mock-%: $$(call aobj,$$(call mock_srcs,$$*) $(MOCK_LIB_SRCS))
	$(CC) $(SAN) -pthread -o $@ $^ $(MOCK_LIBS)
$(BUILD)/asan/tests/unit/%: $(BUILD)/asan/obj/tests/unit/%.o $(call aobj,$(PROV_SRCS) $(HELPER_SRCS))
	@mkdir -p $(@D)
	$(CC) $(SAN) -pthread -o $@ $^ $(SAN_LIBS) -lcmocka
# Integration tests in C drive provisioner modules against real daemons.
$(BUILD)/asan/tests/integration/%: $(BUILD)/asan/obj/tests/integration/%.o $(call aobj,$(PROV_SRCS) $(HELPER_SRCS))
	@mkdir -p $(@D)
	$(CC) $(SAN) -pthread -o $@ $^ $(SAN_LIBS) -lcmocka
# Mock tests link the mocks' shared library and the non-main sources of every mock.
MOCK_ALL_LIB := $(MOCK_LIB_SRCS) $(filter-out %/main.c,$(foreach m,$(MOCKS),$(call mock_srcs,$(m))))
$(BUILD)/asan/tests/mocks/%: $(BUILD)/asan/obj/tests/mocks/%.o $(call aobj,$(MOCK_ALL_LIB) $(MOCK_HELPER_SRCS))
	@mkdir -p $(@D)
	$(CC) $(SAN) -pthread -o $@ $^ $(MOCK_LIBS) $(call pkglibs,libcurl) -lcmocka

# --- fuzzers (clang libFuzzer) ------------------------------------------------
$(BUILD)/fuzz/obj/provisioner/%.o: provisioner/%.c
	@mkdir -p $(@D)
	$(FUZZCC) -O1 -g -fsanitize=fuzzer-no-link,address,undefined $(PROV_CFLAGS) -c $< -o $@
$(BUILD)/fuzz/obj/mocks/%.o: mocks/%.c
	@mkdir -p $(@D)
	$(FUZZCC) -O1 -g -fsanitize=fuzzer-no-link,address,undefined $(MOCK_CFLAGS) -c $< -o $@
$(BUILD)/fuzz/obj/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(FUZZCC) -O1 -g -fsanitize=fuzzer-no-link,address,undefined $(PROV_CFLAGS) -Imocks/common $(call pkgcflags,$(MOCK_PKGS)) -c $< -o $@
# fuzz_bp_* / fuzz_prov_* fuzz provisioner code; fuzz_mock_* fuzz the mocks.
$(BUILD)/fuzz/fuzz_mock_%: $(BUILD)/fuzz/obj/tests/fuzz/fuzz_mock_%.o $(call fobj,$(MOCK_ALL_LIB))
	$(FUZZCC) -fsanitize=fuzzer,address,undefined -pthread -o $@ $^ $(MOCK_LIBS)
$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/obj/tests/fuzz/fuzz_%.o $(call fobj,$(PROV_SRCS))
	$(FUZZCC) -fsanitize=fuzzer,address,undefined -pthread -o $@ $^ $(SAN_LIBS)

# --- tasks --------------------------------------------------------------------
deps:
	sh tests/deps.sh

test-bins: $(BINS) $(ASAN_BINS) $(UNIT_BINS) $(INTEG_BINS) $(MOCKT_BINS)
fuzz: $(FUZZ_BINS)
# Go, k8s.io/* sources and etcd from Debian unstable into a private cache (tests/k8s/setup.sh);
# tests that need the server skip (exit 77, with the reason) while it is not built.
k8s-test-server:
	BUILD=$(BUILD) sh tests/k8s/setup.sh

test: test-bins fuzz k8s-test-server
	sh tests/run.sh unit mocks integration fuzz

e2e: test-bins
	sh tests/run.sh e2e

check: test-bins fuzz k8s-test-server
	sh tests/lint.sh
	sh tests/run.sh unit mocks integration fuzz e2e

bench: all
	sh tests/bench/run.sh

lint:
	sh tests/lint.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/share/sandbox/cluster/node $(DESTDIR)$(PREFIX)/share/sandbox/images
	install -m 0755 cluster/node/sbx-svc cluster/node/sbx-lbcheck $(DESTDIR)$(PREFIX)/share/sandbox/cluster/node/
	install -d $(DESTDIR)$(PREFIX)/share/sandbox/cluster/manifests
	install -m 0644 cluster/manifests/*.yaml cluster/manifests/README.md $(DESTDIR)$(PREFIX)/share/sandbox/cluster/manifests/
	install -m 0755 examples/image/debian-12.sh $(DESTDIR)$(PREFIX)/share/sandbox/images/

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
