# heal — build, test, install. See README.md.
PREFIX  ?= /usr/local
DESTDIR ?=
CXX     ?= g++
CXXFLAGS ?= -O2 -g
B       := build

# -Wno-mismatched-new-delete: GCC 12 flags Asio's awaitable frame allocator (unsized new,
# sized delete, both well-formed) after inlining; a known false positive (GCC PR 109224).
HEAL_FLAGS := -std=c++20 -Wall -Wextra -Wshadow -Wno-psabi -Wno-mismatched-new-delete \
              -Icommon -MMD -MP -DBOOST_ASIO_NO_DEPRECATED
# libstdc++ and Boost.JSON linked statically: a Nagios plugin is started thousands of times an
# hour, and this halves its start-up (measured with make bench-checks).
LIBS       := -Wl,-Bstatic -lboost_json -Wl,-Bdynamic -linih -lsqlite3 -lssl -lcrypto \
              -static-libstdc++ -static-libgcc -Wl,-O1,--as-needed
GTEST_LIBS := -lgtest -lgtest_main -pthread

COMMON_OBJ   := $(patsubst %.cpp,$(B)/%.o,$(wildcard common/*.cpp))
LISTENER_OBJ := $(patsubst %.cpp,$(B)/%.o,$(filter-out listener/main.cpp,$(wildcard listener/*.cpp)))
CHECKS_OBJ   := $(patsubst %.cpp,$(B)/%.o,$(filter-out checks/check_worker.cpp,$(wildcard checks/*.cpp)))
CTL_OBJ      := $(patsubst %.cpp,$(B)/%.o,$(filter-out ctl/main.cpp,$(wildcard ctl/*.cpp)))
UNIT_OBJ     := $(patsubst %.cpp,$(B)/%.o,$(wildcard tests/unit/*.cpp))
INTEG_OBJ    := $(patsubst %.cpp,$(B)/%.o,$(wildcard tests/integration/*.cpp))

BINS := $(B)/heal-listener $(B)/heal-ctl $(B)/check_worker
TEST_BINS := $(B)/unit-tests $(B)/integration-tests

.PHONY: all binaries test-binaries deps deps-build deps-test deps-bench test demo bench bench-checks bench-listener \
        install clean
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
deps-test:
	@scripts/heal-deps test

$(B)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(HEAL_FLAGS) $(CXXFLAGS) -Ilistener -Ictl -Ichecks -c $< -o $@

$(B)/libheal.a: $(COMMON_OBJ)
	ar rcs $@ $^

$(B)/heal-listener: $(B)/listener/main.o $(LISTENER_OBJ) $(B)/libheal.a
	$(CXX) $(CXXFLAGS) -o $@ $^ $(LIBS) $(LDFLAGS)

$(B)/heal-ctl: $(B)/ctl/main.o $(CTL_OBJ) $(B)/libheal.a
	$(CXX) $(CXXFLAGS) -o $@ $^ $(LIBS) $(LDFLAGS)

$(B)/check_worker: $(B)/checks/check_worker.o $(CHECKS_OBJ) $(B)/libheal.a
	$(CXX) $(CXXFLAGS) -o $@ $^ $(LIBS) $(LDFLAGS)

$(B)/unit-tests: $(UNIT_OBJ) $(LISTENER_OBJ) $(CTL_OBJ) $(CHECKS_OBJ) $(B)/libheal.a
	$(CXX) $(CXXFLAGS) -o $@ $^ $(LIBS) $(GTEST_LIBS) $(LDFLAGS)

$(B)/integration-tests: $(INTEG_OBJ) $(B)/libheal.a
	$(CXX) $(CXXFLAGS) -o $@ $^ $(LIBS) $(GTEST_LIBS) $(LDFLAGS)

test: test-binaries
	@tests/run-all $(B)
test-binaries: deps-test
	@$(MAKE) --no-print-directory binaries $(TEST_BINS)

# The whole loop, live, with real nagios4 on throwaway certificates (under a minute).
demo: deps-test
	@$(MAKE) --no-print-directory binaries
	@scripts/heal-demo $(B)

$(B)/run-alternating: bench/run-alternating.c
	@mkdir -p $(B)
	$(CC) -O2 -Wall -o $@ $<

deps-bench:
	@scripts/heal-deps bench

# Measurements, not tests: side by side with the anchor tools, in one run.
bench: bench-checks bench-listener
bench-checks: deps-bench
	@$(MAKE) --no-print-directory $(B)/check_worker $(B)/run-alternating
	python3 bench/bench_checks.py $(B)
bench-listener: deps-bench
	@$(MAKE) --no-print-directory $(B)/heal-listener $(B)/heal-ctl $(B)/run-alternating
	python3 bench/bench_listener.py $(B)

install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	  $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(B)/heal-listener $(DESTDIR)$(PREFIX)/sbin/heal-listener
	install -m 0755 $(B)/heal-ctl $(DESTDIR)$(PREFIX)/bin/heal-ctl
	install -d $(DESTDIR)$(PREFIX)/lib/nagios/plugins/eventhandlers
	install -m 0755 $(B)/check_worker $(DESTDIR)$(PREFIX)/lib/nagios/plugins/check_worker
	sed -e 's|@HEAL_CTL@|$(PREFIX)/bin/heal-ctl|' \
	  -e "s|@HEAL_VERSION@|$$(sed -n 's/.*HEAL_VERSION \"\(.*\)\"/\1/p' common/version.hpp)|" \
	  scripts/heal-event-handler \
	  > $(DESTDIR)$(PREFIX)/lib/nagios/plugins/eventhandlers/heal-event-handler
	chmod 0755 $(DESTDIR)$(PREFIX)/lib/nagios/plugins/eventhandlers/heal-event-handler
	install -m 0644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
