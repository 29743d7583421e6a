# upkeep: plain GNU make with pkg-config.
#   make                   build upkeepd, upkeepctl and the test/demo worker into build/
#   make check             unit tests (cmocka) and integration tests against the real daemon
#   make check SANITIZE=1  the same in build-san/ with AddressSanitizer and UBSan
#   make check-all         both of the above (what CI runs)
#   make bench-logs        worker log throughput against `writer | cat > file` (bench/logs.py)
#   make bench-metrics     GET /metrics for 100 and 1000 workers, idle CPU, RSS of the listener
#   make bench-errors      the same with errors { } patterns, and the crash context's memory
#   make bench-deps        READY=1 -> dependent exec'd, a chain of 20 `after` (bench/deps.py)
#   make bench-rolling     rolling restart and crash behind a held socket vs all-at-once (bench/rolling.py)
#   make bench-tree        whole-tree figures: sampling cost, stop of escapees, memory (bench/tree.py)
#   make demo              run upkeepd in the foreground on conf/demo.conf
#   make deps              install the Debian packages needed to build and test (apt-get)
#   make deps-demo         only those that build upkeep and run the demo
#   make install           PREFIX=/usr/local DESTDIR=
#   make deb               upkeep_<version>_<arch>.deb (debian/, dpkg-buildpackage)
#   make check-package     the .deb through lintian, installed and purged in a clean Debian 12 root
#   make check-container   the container image built, run, stopped and failed (Docker engine)
#   make fuzz              libFuzzer harnesses (clang), FUZZ_RUNS executions each (not in check)
#   make valgrind          the integration suite with every upkeepd under valgrind memcheck
#   make soak              RSS and descriptors of upkeepd over 100 000 restarts and SOAK_MINUTES
#   make fuzz-deps         install what make fuzz needs on Debian 12 (clang, libclang-rt-14-dev)
#   make bench             upkeep beside supervisord, runit, s6 and monit; writes bench/RESULTS.md

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions

CC      ?= cc
# libcurl is loaded with dlopen() when probes or webhooks need it: headers only at build time
PKGS    := libsystemd libconfuse inih jansson zlib
# PCRE2 (with its JIT): the errors { match } regular expression of a worker's output; ready = "log:REGEX" (daemon/readylog.c);
# its headers only: it is loaded with dlopen() (config/pcre2-dl.c, see PKG_LIBS)
PKGS    += libpcre2-8
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu17 $(WARN) -D_GNU_SOURCE -Iinclude -Ilib -Iconfig -Idaemon -Ictl
LDLIBS  +=
LDFLAGS += -Wl,--as-needed

COMMA := ,

ifeq ($(SANITIZE),1)
B       ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CFLAGS  += $(SANFLAGS)
LDFLAGS += -fsanitize=address,undefined
else
B       ?= build
endif

# A library pkg-config does not know stops the build before the compiler with one line per
# library naming the Debian package to install (pkg-config itself only ever sees the ones it
# knows, so it has nothing to complain about).  DEB_<name>: the package of <name>.pc.
DEB_libsystemd   := libsystemd-dev
DEB_libconfuse   := libconfuse-dev
DEB_inih         := libinih-dev
DEB_jansson      := libjansson-dev
DEB_zlib         := zlib1g-dev
DEB_libcurl      := libcurl4-openssl-dev
DEB_cmocka       := libcmocka-dev
DEB_libmicrohttpd := libmicrohttpd-dev
DEB_libpcre2-8   := libpcre2-dev
HAVE_PKG_CONFIG  := $(shell command -v pkg-config)
pc-missing = $(if $(HAVE_PKG_CONFIG),$(foreach p,$(1),$(if $(shell pkg-config --exists $(p) && echo y),,$(p))),$(1))
pc-present = $(filter-out $(2),$(1))
pc-flags = $(if $(HAVE_PKG_CONFIG),$(if $(strip $(2)),$(shell pkg-config $(1) $(2))))
MISSING_PKGS      := $(call pc-missing,$(PKGS) libcurl libmicrohttpd)
MISSING_TEST_PKGS := $(call pc-missing,cmocka)
pc-report = $(if $(HAVE_PKG_CONFIG),,echo "pkg-config not found: install the Debian package pkg-config" >&2;) \
	$(foreach p,$(1),echo "pkg-config: $(p) not found: install the Debian package $(or $(DEB_$(p)),that ships $(p).pc) ($(2))" >&2;) \
	[ -z "$(strip $(1))" ]

PKG_CFLAGS := $(call pc-flags,--cflags,$(call pc-present,$(PKGS) libcurl,$(MISSING_PKGS)))
# PCRE2: headers only, loaded with dlopen() at the first pattern (config/pcre2-dl.c)
PKG_LIBS   := $(call pc-flags,--libs,$(call pc-present,$(filter-out libpcre2-8,$(PKGS)),$(MISSING_PKGS)))
# the metrics listener: headers only, upkeepd loads libmicrohttpd with dlopen() (mhd-dl.c)
MHD_CFLAGS := $(call pc-flags,--cflags,$(call pc-present,libmicrohttpd,$(MISSING_PKGS)))
CMOCKA_LIBS := $(if $(MISSING_TEST_PKGS),,$(shell pkg-config --libs cmocka))

# The layout is the architecture (doc/ARCHITECTURE.md): lib/ pure code, config/ the
# configuration and its importer, daemon/ upkeepd's runtime, ctl/ upkeepctl, include/ what both
# programs share.  lib/ is an archive, so each program links only what it uses.
LIB_SRCS    := $(wildcard lib/*.c)
CONF_SRCS   := $(wildcard config/*.c)
DAEMON_SRCS := $(wildcard daemon/*.c)
CTL_SRCS    := $(wildcard ctl/*.c)
# what the unit tests and the fuzzers link: everything that does no I/O of upkeepd's own
CORE_SRCS   := $(LIB_SRCS) $(CONF_SRCS)
HEADERS     := $(wildcard include/*.h lib/*.h config/*.h daemon/*.h ctl/*.h)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))

obj = $(patsubst %.c,$(B)/%.o,$(1))

all: $(B)/upkeepd $(B)/upkeepctl $(B)/uk-worker $(B)/bench-stamp $(B)/spawn-floor \
	$(B)/bench-lines $(B)/upkeep.service $(B)/uk-confdump

$(B)/%.o: %.c $(HEADERS) | pkg-config-check
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(B)/libupkeep.a: $(call obj,$(LIB_SRCS))
	rm -f $@
	$(AR) rcs $@ $^

$(B)/upkeepd: $(call obj,$(DAEMON_SRCS) $(CONF_SRCS)) $(B)/libupkeep.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

$(B)/daemon/webserver.o $(B)/daemon/mhd-dl.o: PKG_CFLAGS += $(MHD_CFLAGS)

$(B)/upkeepctl: $(call obj,$(CTL_SRCS)) $(B)/libupkeep.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

$(B)/upkeep.service: units/upkeep.service.in
	@mkdir -p $(dir $@)
	sed 's|@SBINDIR@|$(SBINDIR)|g' $< > $@

# the worker is plain libc and defines its own feature macros.  It is the tests' stand-in
# service, built without the sanitizers even in build-san: LeakSanitizer's check at its exit
# stops it with a ptrace tracer, and under load a worker ending on SIGTERM was seen spinning
# while that tracer waited for it, until upkeepd's stop-timeout killed it.
$(B)/uk-worker: tests/helpers/uk-worker.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -D_GNU_SOURCE $(SANFLAGS),$(CFLAGS)) \
		$(filter-out -fsanitize=address$(COMMA)undefined,$(LDFLAGS)) -o $@ $< $(LDLIBS)

# what upkeepd understood of a configuration, as JSON: the tests compare it with supervisord's
$(B)/uk-confdump: $(call obj,tests/helpers/uk-confdump.c $(CONF_SRCS)) $(B)/libupkeep.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# static, so the restart figures measure the supervisor and not the dynamic loader
$(B)/bench-stamp: bench/stamp.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -static -o $@ $<

$(B)/bench-lines: bench/lines.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -o $@ $<

$(B)/spawn-floor: bench/spawn-floor.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -o $@ $<

$(B)/tests/%: $(call obj,tests/unit/%.c) $(call obj,$(CONF_SRCS)) $(B)/libupkeep.a | pkg-config-check-test
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS) $(LDLIBS)

# the URL redaction is tested against the real libcurl (the daemon dlopen()s it)
$(B)/tests/test_redact: CMOCKA_LIBS += $(if $(filter libcurl,$(MISSING_PKGS)),,$(shell pkg-config --libs libcurl))

# includes ctl/ctllogs.c for its static functions (and replaces fstat() in it)
$(B)/tests/unit/test_ctllogs.o: ctl/ctllogs.c

pkg-config-check:
	@$(call pc-report,$(MISSING_PKGS),sh tests/deps.sh demo)

pkg-config-check-test:
	@$(call pc-report,$(MISSING_TEST_PKGS),sh tests/deps.sh test)

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

check: all $(UNIT_TESTS)
	@fail=0; for t in $(UNIT_TESTS); do echo "== $$t"; $$t || fail=1; done; \
	python3 tests/integration/run.py --build $(B) || fail=1; \
	exit $$fail

# both halves run even when the first fails, so one run shows every failure
check-all:
	@fail=0; $(MAKE) check || fail=1; $(MAKE) check SANITIZE=1 || fail=1; exit $$fail

# every upkeepd the integration tests start runs under memcheck; an error (invalid access,
# definite or indirect leak) goes to wrapper-PID.log in the test's directory, where the harness
# finds it, and makes upkeepd exit 99: either fails the test.  Deadlines of the tests' waits are
# multiplied by VALGRIND_TIME_SCALE.
VALGRIND ?= valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect \
	--error-exitcode=99 --suppressions=$(CURDIR)/tests/valgrind.supp \
	--error-markers=VALGRIND-ERROR-BEGIN,VALGRIND-ERROR-END --log-file={testdir}/wrapper-%p.log
VALGRIND_TIME_SCALE ?= 5
valgrind: all
	UPKEEP_WRAPPER="$(VALGRIND)" UPKEEP_TIME_SCALE=$(VALGRIND_TIME_SCALE) \
		python3 tests/integration/run.py --build $(B)

# does upkeepd's memory or descriptor count grow? 100 000 restarts, then SOAK_MINUTES of 1000
# probed, chatty workers (bench/soak.py --only restarts|probes runs one part)
SOAK_MINUTES ?= 30
soak: all
	python3 bench/soak.py --build $(B) --minutes $(SOAK_MINUTES)

# the figures of bench/RESULTS.md for upkeep alone (about 2 minutes)
bench-core: all
	python3 bench/core.py --build $(B)

# worker log throughput against `writer | cat > file` (about a minute; BENCH_DIR=/dev/shm
# measures upkeepd without the disk)
bench-logs: all
	python3 bench/logs.py --build $(B) $(if $(BENCH_DIR),--dir $(BENCH_DIR))

# the same with the application error patterns configured (errors { }) in the same rounds, and
# the memory of the crash context's tail buffers for 1000 instances (a few minutes)
bench-errors: all
	python3 bench/logs.py --build $(B) --errors $(if $(BENCH_DIR),--dir $(BENCH_DIR))
	python3 bench/tailmem.py --build $(B)

# 1000 alerts to a webhook that never answers, beside 100 probed workers: their probe period
# and upkeepd's RSS before and during the burst (about a minute)
bench-alerts: all
	python3 bench/alerts.py --build $(B)

# GET /metrics of 100 and 1000 workers against a status request, idle CPU with and without
# the listener, and the RSS it adds (bench/metrics.py, about a minute)
bench-metrics: all
	python3 bench/metrics.py --build $(B)

# READY=1 -> dependent exec'd, and a chain of 20 workers each after the previous (bench/deps.py)
bench-deps: all
	python3 bench/deps.py --build $(B)

# rolling restart of 4 instances behind a held socket against today's all-at-once restart, and a
# crash behind a held socket: time and failed requests (about a minute)
bench-rolling: all
	python3 bench/rolling.py --build $(B)

# the whole process tree: sampling cost of 100 workers, stop of 50 escaped daemons, memory
# figure against smaps_rollup, in both tracking modes (bench/tree.py, about 3 minutes)
bench-tree: all
	python3 bench/tree.py --build $(B)

# upkeep beside supervisord, runit, s6 and monit on the same work, alternating (bench/peers.py,
# about 10 minutes; installs the Debian packages of the peers when missing) and regenerates
# bench/RESULTS.md.  BENCH_ONLY=restart,crash,startstop,idle,status,probes,logs runs only those
# figures (their sections are replaced, the others kept); BENCH_QUICK=1 fewer rounds, shorter
# windows (about 5 minutes); BENCH_ARGS= anything else bench/peers.py --help lists.
BENCH_ONLY  ?=
BENCH_QUICK ?=
BENCH_ARGS  ?=
bench: all
	python3 bench/peers.py --build $(B) $(if $(BENCH_ONLY),--only $(BENCH_ONLY)) \
		$(if $(BENCH_QUICK),--quick) $(BENCH_ARGS)

demo: all
	@echo "upkeepd on conf/demo.conf; logs in /tmp/upkeep-demo; in another terminal:"
	@echo "  $(B)/upkeepctl -s /tmp/upkeep-demo/upkeep.sock status"
	@echo "Ctrl-C stops everything."
	@mkdir -p /tmp/upkeep-demo
	exec $(B)/upkeepd -c conf/demo.conf

deps:
	sh tests/deps.sh test

deps-demo:
	sh tests/deps.sh demo

install: $(B)/upkeepd $(B)/upkeepctl
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/upkeep
	install -m 0755 $(B)/upkeepd $(DESTDIR)$(SBINDIR)/upkeepd
	install -m 0755 $(B)/upkeepctl $(DESTDIR)$(BINDIR)/upkeepctl
	install -m 0644 man/upkeepctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/upkeep.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/upkeepd.8 $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(COMPLETIONDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g' units/upkeep.service.in > $(DESTDIR)$(UNITDIR)/upkeep.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/upkeep.service
	install -m 0644 conf/upkeepctl.bash-completion $(DESTDIR)$(COMPLETIONDIR)/upkeepctl
	[ -e $(DESTDIR)$(SYSCONFDIR)/upkeep/upkeep.conf ] || \
		install -m 0644 conf/upkeep.conf $(DESTDIR)$(SYSCONFDIR)/upkeep/upkeep.conf

# upkeep_<version>_<arch>.deb at the top of the tree (debian/, dpkg-buildpackage in build-deb/)
deb:
	sh tests/package/deb.sh

# the .deb through lintian and into a clean Debian 12 root (debootstrap, cached in
# build-root/): install, --check-config, --help, a worker, purge leaves nothing.  Not in
# check-all (a minute, root, network); sh tests/deps.sh package installs what it needs.
check-package:
	sh tests/package/check-package.sh

# the image of conf/container/Dockerfile built on a debootstrap base and run: upkeepd PID 1,
# healthy, worker lines in docker logs, restarts, docker stop, a required worker's exit code.
# Not in check-all (minutes, root or a Docker engine); sh tests/deps.sh container installs it.
check-container:
	bash tests/container/check-container.sh

# libFuzzer harnesses (tests/fuzz/), built with clang into build-fuzz/ and run one after the
# other for FUZZ_RUNS executions each, starting from tests/fuzz/corpus/<harness>/ (which holds
# the regressions, replayed first); new inputs go to build-fuzz/corpus/, a crashing input to
# build-fuzz/crash-*.  Not part of check.  One harness: make fuzz FUZZERS=build-fuzz/fuzz_proto
# ASan's quarantine is cut from 256 to 8 MiB (still many executions' worth of freed memory): the
# supervisord harness runs 1.7 times faster.
# On Debian 12 clang alone is not enough: libFuzzer and the sanitizer runtimes are in
# libclang-rt-14-dev (dpkg -S libclang_rt.fuzzer-x86_64.a), hence make fuzz-deps.
FUZZ_CC   ?= clang
FUZZ_RUNS ?= 1000000
FUZZ_B    := build-fuzz
FUZZ_SAN  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -O1 -g -std=gnu17 $(WARN) -D_GNU_SOURCE -Iinclude -Ilib -Iconfig -Idaemon -Ictl $(FUZZ_SAN)
FUZZERS   := $(patsubst tests/fuzz/%.c,$(FUZZ_B)/%,$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ_B)/obj/%.o: %.c $(HEADERS) $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -c -o $@ $<

$(FUZZ_B)/fuzz_%: $(FUZZ_B)/obj/tests/fuzz/fuzz_%.o $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(CORE_SRCS))
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

# the objects are kept between builds (make would delete them as intermediate files)
.PRECIOUS: $(FUZZ_B)/obj/%.o

fuzz-build: $(FUZZERS)

fuzz: $(FUZZERS)
	@set -e; for f in $(FUZZERS); do n=$${f##*/fuzz_}; \
		mkdir -p $(FUZZ_B)/corpus/$$n tests/fuzz/corpus/$$n; \
		echo "== $$f: $(FUZZ_RUNS) runs"; \
		ASAN_OPTIONS=$${ASAN_OPTIONS:-quarantine_size_mb=8} \
		$$f -runs=$(FUZZ_RUNS) -artifact_prefix=$(FUZZ_B)/ -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
			$$( [ -f tests/fuzz/$$n.dict ] && echo -dict=tests/fuzz/$$n.dict ) \
			$(FUZZ_B)/corpus/$$n tests/fuzz/corpus/$$n; done

fuzz-deps:
	@p=""; for x in clang libclang-rt-14-dev; do \
		dpkg-query -W -f='$${Status}' $$x 2>/dev/null | grep -q "ok installed" || p="$$p $$x"; done; \
	if [ -n "$$p" ]; then s=""; [ "$$(id -u)" -eq 0 ] || s=sudo; \
		echo "installing:$$p"; $$s apt-get install -y -q --no-install-recommends $$p; fi

clean:
	rm -rf build build-san build-fuzz build-deb build-root

.PHONY: pkg-config-check pkg-config-check-test all unit check check-all bench-core bench bench-alerts bench-logs bench-metrics bench-errors bench-deps bench-rolling bench-tree demo deps deps-demo deb check-package check-container install clean fuzz fuzz-build fuzz-deps valgrind soak
