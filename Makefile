# heal — build, test, install. See README.md.
PREFIX  ?= /usr/local
DESTDIR ?=
CXX     ?= g++
# Debian's hardening build flags (dpkg-buildflags with hardening=+all, less its per-folder
# -ffile-prefix-map): what make test tests is what the packages ship (debian/rules keeps them).
CXXFLAGS ?= -O2 -g -fstack-protector-strong -Wformat -Werror=format-security
CPPFLAGS ?= -D_FORTIFY_SOURCE=2
LDFLAGS  ?= -Wl,-z,relro -Wl,-z,now
B       := build
# `make test SANITIZE=1`: everything built with ASan + UBSan in build-san/, and the unit and
# integration suites run on it.
SANITIZE ?=
ifeq ($(SANITIZE),1)
B        := build-san
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
CXXFLAGS += $(SAN)
LDFLAGS  += $(SAN)
SUITES   := unit integration
endif

# -Wno-mismatched-new-delete: GCC 12 flags Asio's awaitable frame allocator (unsized new,
# sized delete, both well-formed) after inlining; a known false positive (GCC PR 109224).
# -DNDEBUG: a release build, as Boost expects to ship. Boost.Beast 1.81 asserts wrongly in its
# chunked-body parser when a response arrives one byte at a time (fixed upstream in Beast
# PR #2861; the code after the assert is right): with asserts on, a slow status page made
# check_worker abort. Found by tests/fuzz/fuzz_http_response; pinned by an integration test.
HEAL_FLAGS := -std=c++20 -Wall -Wextra -Wshadow -Wno-psabi -Wno-mismatched-new-delete \
              -I. -isystem /usr/include/postgresql -MMD -MP -DBOOST_ASIO_NO_DEPRECATED -DNDEBUG
# libstdc++ and Boost.JSON linked statically: a Nagios plugin is started thousands of times an
# hour, and this halves its start-up (measured with make bench).
LIBS       := -Wl,-Bstatic -lboost_json -Wl,-Bdynamic -linih -lsqlite3 -lssl -lcrypto \
              -static-libstdc++ -static-libgcc -pthread -Wl,-O1,--as-needed
GTEST_LIBS := -lgtest -lgtest_main -pthread
# The deciders' shared fleet store (fleet/pg_store.cpp) loads Debian's libpq when it is first used
# (fleet/libpq.cpp: dlopen): linked, its dependencies cost every event handler ~8 ms at start.
PQ_LIBS    :=

# V=0: one line per step ("  CXX  common/text.cpp") instead of the compiler's command line
# (`make demo` builds that way, the full log going to a file).
V ?= 1
ifeq ($(V),0)
step = @printf '  %-4s %s\n' '$(1)' '$(2)';
endif

NPROC := $(shell nproc 2>/dev/null || echo 2)
JOBS   = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC))

# One version, from debian/changelog's first line ("heal (0.2.0) bookworm; ..."): every binary's
# --version, the man pages (tests/e2e/docs.sh checks them) and the Debian packages.
VERSION := $(shell scripts/heal-version)

COMMON_OBJ   := $(patsubst %.cpp,$(B)/%.o,$(wildcard common/*.cpp))
LISTENER_OBJ := $(patsubst %.cpp,$(B)/%.o,$(filter-out listener/main.cpp,$(wildcard listener/*.cpp)))
CHECKS_OBJ   := $(patsubst %.cpp,$(B)/%.o,$(filter-out checks/check_worker.cpp checks/check_heal.cpp \
                  checks/openssl_load.cpp,$(wildcard checks/*.cpp)))
# check_worker needs only the probe and its verdicts; the deciders' HTTP calls are theirs.
PLUGIN_OBJ   := $(filter-out $(B)/checks/http_call.o $(B)/checks/http_url.o $(B)/checks/listener_info.o,$(CHECKS_OBJ))
CTL_OBJ      := $(patsubst %.cpp,$(B)/%.o,$(filter-out ctl/main.cpp,$(wildcard ctl/*.cpp)))
FLEET_OBJ    := $(patsubst %.cpp,$(B)/%.o,$(wildcard fleet/*.cpp))
HANDLER_OBJ  := $(patsubst %.cpp,$(B)/%.o,$(filter-out handler/main.cpp,$(wildcard handler/*.cpp)))
RECEIVER_OBJ := $(patsubst %.cpp,$(B)/%.o,$(filter-out receiver/main.cpp,$(wildcard receiver/*.cpp)))
UNIT_OBJ     := $(patsubst %.cpp,$(B)/%.o,$(wildcard tests/unit/*.cpp))
INTEG_OBJ    := $(patsubst %.cpp,$(B)/%.o,$(wildcard tests/integration/*.cpp))

BINS := $(B)/heal-listener $(B)/heal-ctl $(B)/check_worker $(B)/check_heal $(B)/heal-event-handler \
        $(B)/heal-alert-receiver
TEST_BINS := $(B)/unit-tests $(B)/integration-tests $(B)/without-close-range $(B)/clock-step.so \
             $(B)/no-libssl.so

.PHONY: all binaries test-binaries deps deps-build deps-demo deps-test deps-bench test demo bench \
        install clean fuzz fuzz-binaries deb deps-deb check-worker-order
# Packages first, then the build in a sub-make: with -j2 a compile must never race apt-get.
all: deps-build
	@$(MAKE) --no-print-directory binaries
binaries: $(BINS)

# `make` and `make test` install missing Debian packages themselves (quietly a no-op when
# everything is there); `make deps` installs everything any target needs.
deps:
	@scripts/heal-deps all
deps-build:
	@scripts/heal-deps build
deps-demo:
	@scripts/heal-deps demo
deps-test:
	@scripts/heal-deps test

# Objects depend on the flags they were built with: a changed flag rebuilds them.
$(B)/flags: FORCE
	@mkdir -p $(B)
	@echo '$(CXX) $(HEAL_FLAGS) $(CPPFLAGS) $(CXXFLAGS) $(LDFLAGS)' | cmp -s - $@ || \
	    echo '$(CXX) $(HEAL_FLAGS) $(CPPFLAGS) $(CXXFLAGS) $(LDFLAGS)' > $@
.PHONY: FORCE

$(B)/%.o: %.cpp $(B)/flags | $(B)/gen/version.hpp
	@mkdir -p $(dir $@)
	$(call step,CXX,$<)$(CXX) $(HEAL_FLAGS) $(CPPFLAGS) $(CXXFLAGS) -I$(B) -c $< -o $@
# The tests' own code unoptimized and without debug information: half the time to compile and
# link (a minute of `make test` on 2 cores); what it tests, the programs' objects, is built as
# shipped.
$(B)/tests/%.o: CXXFLAGS += -O0 -g0 -U_FORTIFY_SOURCE

# Rewritten only when the version changes: a new changelog entry rebuilds what prints it.
$(B)/gen/version.hpp: debian/changelog
	@mkdir -p $(dir $@)
	@test -n '$(VERSION)' || { echo "no version in debian/changelog's first line" >&2; exit 1; }
	@printf '#pragma once\n#define HEAL_VERSION "%s"\n' '$(VERSION)' | cmp -s - $@ || \
	    printf '#pragma once\n#define HEAL_VERSION "%s"\n' '$(VERSION)' > $@

$(B)/libheal.a: $(COMMON_OBJ)
	$(call step,AR,$@)ar rcs $@ $^

# watch_check probes with check_worker's client, in-process (checks/).
$(B)/heal-listener: $(B)/listener/main.o $(LISTENER_OBJ) $(B)/checks/probe.o $(B)/checks/http_response.o \
                    $(B)/checks/verdicts.o $(B)/libheal.a
	$(call step,LINK,$@)$(CXX) $(CXXFLAGS) -o $@ $^ $(LIBS) $(LDFLAGS)

$(B)/heal-ctl: $(B)/ctl/main.o $(CTL_OBJ) $(B)/libheal.a
	$(call step,LINK,$@)$(CXX) $(CXXFLAGS) -o $@ $^ $(LIBS) $(LDFLAGS)

# RE2 (linear-time regex for -r) linked statically: a plugin's start-up is its cost.
# check_heal asks a listener like heal-ctl does (its client configuration included).
$(B)/check_heal: $(B)/checks/check_heal.o $(B)/checks/listener_info.o $(CTL_OBJ) $(B)/libheal.a
	$(call step,LINK,$@)$(CXX) $(CXXFLAGS) -o $@ $^ $(LIBS) $(LDFLAGS)

# The deciders: a source and a notifier (handler/: Nagios' files, Icinga 2's API; receiver/:
# Alertmanager and Prometheus) around the decision core (fleet/), which calls the listeners with
# the client (common/). Both ask over HTTP(S) with check_worker's client (checks/). The receiver
# links no Nagios code.
# It starts once per event (hundreds at once in a wide outage): relative relocations packed
# (DT_RELR), as check_worker's, halve what the loader does at each start (make bench).
$(B)/heal-event-handler: $(B)/handler/main.o $(HANDLER_OBJ) $(FLEET_OBJ) $(B)/checks/probe.o \
                         $(B)/checks/http_response.o $(B)/checks/http_call.o $(B)/checks/http_url.o $(B)/libheal.a
	$(call step,LINK,$@)$(CXX) $(CXXFLAGS) -o $@ $^ $(PQ_LIBS) $(LIBS) $(LDFLAGS) -Wl,-z,pack-relative-relocs

$(B)/heal-alert-receiver: $(B)/receiver/main.o $(RECEIVER_OBJ) $(FLEET_OBJ) $(B)/checks/probe.o \
                          $(B)/checks/http_response.o $(B)/checks/http_call.o $(B)/checks/http_url.o $(B)/libheal.a
	$(call step,LINK,$@)$(CXX) $(CXXFLAGS) -o $@ $^ $(PQ_LIBS) $(LIBS) $(LDFLAGS)

# check_worker loads OpenSSL when a check first needs TLS (checks/openssl_load.hpp), so that a
# plain-HTTP check never maps, relocates or binds it, and a TLS check runs in the same process.
# What its objects call of libssl and libcrypto becomes trampolines through a table filled at
# load (scripts/openssl-trampolines); an architecture without them links OpenSSL at start.
# zlib is loaded when --enable-automatic-decompression needs it (checks/http_response.cpp).
# Relative relocations packed (DT_RELR, glibc 2.36): less to read and relocate at every start.
#
# A plugin's resident memory is mostly the pages of its own file it touches, and the kernel maps
# 64 KiB of file around each (fault-around): spread over 2.4 MiB, the code a check runs made
# 1.4 MiB resident. So check_worker is built apart, in $(B)/small/: for size (-Os), each function
# and datum in a section of its own, the unused ones dropped (--gc-sections), and the sections a
# check touches laid out together at the head of the code and of the read-only data
# (checks/check_worker.order, written by `make check-worker-order`; a name it lists that no
# longer exists is skipped, so a stale list costs memory, never correctness). make bench.
# The common objects it needs (a new need fails the link with an undefined reference: add it).
WORKER_SRC    := checks/check_worker.cpp checks/openssl_load.cpp \
                 $(patsubst $(B)/%.o,%.cpp,$(PLUGIN_OBJ))
WORKER_COMMON := connect plugin run text tls tls_errors
WORKER_OBJ    := $(patsubst %.cpp,$(B)/small/%.o,$(WORKER_SRC))
WORKER_LIB    := $(B)/small/libheal.a
SMALL_FLAGS   := -Os -ffunction-sections -fdata-sections
$(B)/small/%.o: %.cpp $(B)/flags | $(B)/gen/version.hpp
	@mkdir -p $(dir $@)
	$(call step,CXX,$<)$(CXX) $(HEAL_FLAGS) $(CPPFLAGS) $(CXXFLAGS) $(SMALL_FLAGS) -I$(B) -c $< -o $@
$(WORKER_LIB): $(patsubst %,$(B)/small/common/%.o,$(WORKER_COMMON))
	$(call step,AR,$@)rm -f $@ && ar rcs $@ $^
# The order as a linker script that augments the default one (INSERT): an output section of the
# listed input sections before .text, another before .rodata.
$(B)/gen/check_worker-order.ld: checks/check_worker.order
	@mkdir -p $(dir $@)
	$(call step,GEN,$@)awk 'function spec(f, s) { return "    *" f "(" s ")" } \
	  /^#/ || NF == 0 { next } \
	  { line = NF == 2 ? spec($$2, $$1) : spec("", $$1) } \
	  $$1 ~ /^\.text/ { text = text line "\n" } $$1 ~ /^\.rodata/ { data = data line "\n" } \
	  END { printf "SECTIONS\n{\n  .text.heal_hot :\n  {\n%s  }\n}\nINSERT BEFORE .text;\n", text; \
	        printf "SECTIONS\n{\n  .rodata.heal_hot :\n  {\n%s  }\n}\nINSERT BEFORE .rodata;\n", data }' \
	  $< > $@
# Asked of the compiler only by the rules below that use them, not at every make.
LIBSSL_SO     = $(shell $(CXX) -print-file-name=libssl.so)
LIBCRYPTO_SO  = $(shell $(CXX) -print-file-name=libcrypto.so)
TRAMPOLINES   = $(filter x86_64% aarch64%,$(shell $(CXX) -dumpmachine))
$(B)/gen/openssl-symbols: $(WORKER_OBJ) $(WORKER_LIB)
	@mkdir -p $(dir $@)
	$(call step,GEN,$@)nm -u $^ | awk 'NF == 2 { print $$2 }' | sort -u > $@.called && \
	  nm -D --defined-only $(LIBSSL_SO) $(LIBCRYPTO_SO) | awk 'NF == 3 { sub(/@.*/, "", $$3); print $$3 }' | \
	  sort -u | comm -12 $@.called - > $@ && rm -f $@.called
$(B)/gen/openssl-trampolines.o: $(B)/gen/openssl-symbols scripts/openssl-trampolines
	$(call step,GEN,$@)scripts/openssl-trampolines '$(TRAMPOLINES)' \
	  "$$(objdump -p $(LIBSSL_SO) | awk '$$1 == "SONAME" { print $$2 }')" $< > $(@:.o=.S) && \
	  $(CC) -c $(@:.o=.S) -o $@
$(B)/check_worker: $(WORKER_OBJ) $(B)/gen/openssl-trampolines.o $(WORKER_LIB) $(B)/gen/check_worker-order.ld
	$(call step,LINK,$@)$(CXX) $(CXXFLAGS) -o $@ $(filter-out %.ld,$^) -Wl,-Bstatic -lre2 -Wl,-Bdynamic \
	  $(if $(TRAMPOLINES),$(filter-out -lssl -lcrypto,$(LIBS)),$(LIBS)) $(LDFLAGS) -Wl,-z,pack-relative-relocs \
	  -Wl,--gc-sections -Wl,-T,$(B)/gen/check_worker-order.ld -Wl,-Map,$(B)/check_worker.map
	@test -z '$(TRAMPOLINES)' || ! readelf -d $@ | grep -q 'libssl\|libcrypto' || \
	  { echo "$@ must not link OpenSSL at start" >&2; rm -f $@; exit 1; }
	@! readelf -d $@ | grep -q 'libm\.so' || \
	  { echo "$@ must not need libm (one more library at every start; common/text.hpp, parse_decimal)" >&2; \
	    rm -f $@; exit 1; }
	@readelf -SW $@ | grep -q ' \.text\.heal_hot ' || \
	  { echo "$@: checks/check_worker.order names no function it has: make check-worker-order" >&2; \
	    rm -f $@; exit 1; }

$(B)/unit-tests: $(UNIT_OBJ) $(LISTENER_OBJ) $(CTL_OBJ) $(CHECKS_OBJ) $(FLEET_OBJ) $(HANDLER_OBJ) $(RECEIVER_OBJ) $(B)/libheal.a
	$(call step,LINK,$@)$(CXX) $(CXXFLAGS) -o $@ $^ -lz -lre2 $(PQ_LIBS) $(LIBS) $(GTEST_LIBS) $(LDFLAGS)

$(B)/integration-tests: $(INTEG_OBJ) $(B)/libheal.a
	$(call step,LINK,$@)$(CXX) $(CXXFLAGS) -o $@ $^ $(LIBS) $(GTEST_LIBS) $(LDFLAGS)

# Test helper: a program started with close_range(2) failing, as on Linux < 5.11.
$(B)/without-close-range: $(B)/tests/helpers/without-close-range.o
	$(call step,LINK,$@)$(CXX) $(CXXFLAGS) -o $@ $^ $(LDFLAGS)

# Test helper: LD_PRELOADed to step a process's wall clock (tests of clock steps).
$(B)/clock-step.so: tests/helpers/clock-step.c
	@mkdir -p $(B)
	$(call step,CC,$<)$(CC) -O2 -shared -fPIC -o $@ $< -ldl

# Test helper: LD_PRELOADed to make check_worker's load of OpenSSL fail, as without libssl.
$(B)/no-libssl.so: tests/helpers/no-libssl.c
	@mkdir -p $(B)
	$(call step,CC,$<)$(CC) -O2 -shared -fPIC -o $@ $< -ldl

# The suites run outside make: no make jobserver reaches the makes they start (make demo's test).
test: test-binaries
	@env -u MAKEFLAGS -u MFLAGS HEAL_SUITES="$(SUITES)" $(if $(SANITIZE),HEAL_SHARDS=1) tests/run-all $(B)
# Built on every core unless the caller chose -j (a serial build took most of make test's time).
# The Debian packages are built by tests/e2e/deb.sh, in the background beside other suites, when
# they are older than the binaries (stripped as shipped, without the -dbgsym packages).
test-binaries: deps-test
	@$(MAKE) --no-print-directory $(JOBS) binaries $(TEST_BINS) $(if $(SANITIZE),,FUZZ_OPT=-O0 $(FUZZ_BINS))

# Fuzzing: libFuzzer targets (Debian's clang) for every parser, with ASan + UBSan, in $(FZ).
# `make test` replays each corpus and fuzzes 1 s (tests/fuzz/regression.sh); `make fuzz` longer.
FZ          := $(B)-fuzz
FUZZ_CXX    ?= clang++
# FUZZ_OPT: -O1 for `make fuzz`; `make test`, which only replays the corpora and fuzzes 1 s,
# builds them -O0 (40% less to compile).
FUZZ_OPT    ?= -O1
FUZZ_FLAGS  := -std=c++20 -g $(FUZZ_OPT) -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined -I. -MMD -MP \
               -DBOOST_ASIO_NO_DEPRECATED -DNDEBUG -fno-sanitize=function
# As shipped; ASan/UBSan watch memory. Not UBSan's "function" check: clang 14 cannot emit it for
# coroutines ("Cannot represent a difference across sections"; fuzz_http_response runs one).
FUZZ_LIB    := common/protocol.cpp common/text.cpp common/address.cpp common/ini_file.cpp \
               common/plugin.cpp listener/config.cpp common/client_config.cpp checks/verdicts.cpp \
               checks/http_response.cpp handler/status_file.cpp fleet/guard.cpp handler/nagios_group.cpp handler/nagios_cfg.cpp handler/icinga2_answers.cpp checks/http_url.cpp receiver/alertmanager.cpp receiver/routes.cpp \
               common/audit_log.cpp common/log.cpp common/small_file.cpp common/tls_errors.cpp
FUZZ_OBJ    := $(patsubst %.cpp,$(FZ)/%.o,$(FUZZ_LIB))
FUZZ_BINS   := $(patsubst tests/fuzz/fuzz_%.cpp,$(FZ)/fuzz_%,$(wildcard tests/fuzz/fuzz_*.cpp))
FUZZ_SECONDS ?= 60

$(FZ)/flags: FORCE
	@mkdir -p $(FZ)
	@echo '$(FUZZ_CXX) $(FUZZ_FLAGS)' | cmp -s - $@ || echo '$(FUZZ_CXX) $(FUZZ_FLAGS)' > $@

$(FZ)/%.o: %.cpp $(FZ)/flags
	@mkdir -p $(dir $@)
	$(call step,CXX,$<)$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FZ)/fuzz_%: $(FZ)/tests/fuzz/fuzz_%.o $(FUZZ_OBJ)
	$(call step,LINK,$@)$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ \
	  -Wl,-Bstatic -lboost_json -Wl,-Bdynamic -linih -lssl -lcrypto

fuzz-binaries: deps-test
	@$(MAKE) --no-print-directory $(JOBS) $(FUZZ_BINS)
fuzz: fuzz-binaries
	@tests/fuzz/run $(FZ) $(FUZZ_SECONDS)

# The whole loop, live, with real nagios4 on throwaway certificates. It builds first, on every
# core, one line per step; the compiler's full output goes to $(B)/build.log, shown on failure.
demo: deps-demo
	@mkdir -p $(B)
	@echo "heal demo: building first, on $(NPROC) cores (2 to 3 minutes on 2 cores the first time," \
	      "seconds after); the compiler's output goes to $(B)/build.log"
	@$(MAKE) --no-print-directory $(JOBS) V=0 binaries \
	    2>$(B)/build.log || { echo "heal demo: the build failed; $(B)/build.log says:"; \
	    cat $(B)/build.log; exit 1; }
	@echo ""
	@scripts/heal-demo $(B)

$(B)/run-alternating: bench/run-alternating.c
	@mkdir -p $(B)
	$(call step,LINK,$@)$(CC) -O2 -Wall -o $@ $<
$(B)/run-burst: bench/run-burst.c
	@mkdir -p $(B)
	$(call step,LINK,$@)$(CC) -O2 -Wall -o $@ $<
$(B)/store-bench: $(B)/bench/store_bench.o $(FLEET_OBJ) $(B)/libheal.a
	$(call step,LINK,$@)$(CXX) $(CXXFLAGS) -o $@ $^ $(PQ_LIBS) $(LIBS) $(LDFLAGS)
$(B)/pidfd-shim.so: bench/pidfd-shim.c
	@mkdir -p $(B)
	$(call step,LINK,$@)$(CC) -O2 -Wall -shared -fPIC -o $@ $< -ldl -pthread

deps-bench:
	@scripts/heal-deps bench

# Measurements, not tests: every figure beside its anchor (nrpe, check_http), one run, one table.
bench: deps-bench
	@$(MAKE) --no-print-directory $(JOBS) $(B)/heal-listener $(B)/heal-ctl $(B)/check_worker \
	    $(B)/heal-event-handler $(B)/run-alternating $(B)/run-burst $(B)/pidfd-shim.so $(B)/store-bench
	python3 bench/bench.py $(B)
	python3 bench/handler_scale.py $(B)

# checks/check_worker.order anew, from what check_worker's usual checks touch (valgrind): after a
# change to what a check runs, then `make bench` shows the resident memory it saves.
check-worker-order: deps-bench
	@$(MAKE) --no-print-directory $(JOBS) $(B)/check_worker
	scripts/check-worker-order $(B) checks/check_worker.order
	@$(MAKE) --no-print-directory $(B)/check_worker
	scripts/check-worker-order --merge $(B) checks/check_worker.order
	@$(MAKE) --no-print-directory $(B)/check_worker

# Debian packages in $(B)/deb (debian/, dpkg-buildpackage, lintian clean): see README, "Installing
# on a fleet". Built from the binaries of this tree.
deps-deb:
	@scripts/heal-deps deb
deb: deps-deb
	@$(MAKE) --no-print-directory $(JOBS) binaries
	@scripts/heal-deb $(B)

install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	  $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(B)/heal-listener $(DESTDIR)$(PREFIX)/sbin/heal-listener
	install -m 0755 $(B)/heal-ctl $(DESTDIR)$(PREFIX)/bin/heal-ctl
	install -m 0755 $(B)/heal-alert-receiver $(DESTDIR)$(PREFIX)/sbin/heal-alert-receiver
	install -d $(DESTDIR)$(PREFIX)/lib/heal
	install -m 0755 listener/reporters/report-nsca listener/reporters/report-icinga2 $(DESTDIR)$(PREFIX)/lib/heal/
	install -d $(DESTDIR)$(PREFIX)/lib/nagios/plugins/eventhandlers
	install -m 0755 $(B)/check_worker $(DESTDIR)$(PREFIX)/lib/nagios/plugins/check_worker
	install -m 0755 $(B)/check_heal $(DESTDIR)$(PREFIX)/lib/nagios/plugins/check_heal
	install -m 0755 $(B)/heal-event-handler $(DESTDIR)$(PREFIX)/lib/nagios/plugins/eventhandlers/heal-event-handler
	install -m 0644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf $(B) $(FZ)

-include $(shell find $(B) $(FZ) -name '*.d' 2>/dev/null)
