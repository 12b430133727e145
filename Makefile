# mlv: one non-recursive Makefile.
#
#   make            build ./mlv
#   make test       install missing packages, build, run every test (prove)
#   make demo       install missing packages, build, run the walk-through
#   make bench      run the benchmarks in bench/ (minutes; needs disk space)
#   make bench-history  the benchmarks of history: log, diff, checkout <rev>, hooks, gc, merge
#   make bench-runs     the benchmarks of runs: overhead, tracing, metrics, runs, repro, env
#   make man        check the man pages render
#   make install    install to $(prefix) (default /usr/local)
#
#   DEVELOPER=1     warnings are errors
#   SANITIZE=1      AddressSanitizer + UndefinedBehaviorSanitizer
#   V=1             show commands

prefix ?= /usr/local
bindir = $(prefix)/bin
mandir = $(prefix)/share/man

CC ?= cc
PKGS = libgit2 sqlite3 libzstd libcrypto jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS = -O2 -g -std=gnu11
WARNINGS = -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter -Wvla -Wformat=2 \
	-Wno-format-nonliteral
ifdef DEVELOPER
WARNINGS += -Werror
endif
ifdef SANITIZE
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
ALL_CFLAGS = $(CFLAGS) $(WARNINGS) -Iinclude -Ilib $(PKG_CFLAGS) -fvisibility=hidden -D_GNU_SOURCE \
	-DMLV_VERSION='"$(MLV_VERSION)"' -pthread
ALL_LDFLAGS = $(LDFLAGS) -pthread
LIBS = $(PKG_LIBS) -lm

# The release number, and the commit when built from a git checkout.
MLV_BASE_VERSION = 0.1.0
MLV_GIT_DESC := $(shell git describe --always --dirty --match 'v*' 2>/dev/null)
MLV_VERSION = $(MLV_BASE_VERSION)$(if $(MLV_GIT_DESC),+g$(MLV_GIT_DESC))

ifndef V
QUIET_CC = @echo '   CC' $@;
QUIET_LINK = @echo ' LINK' $@;
QUIET_AR = @echo '   AR' $@;
endif

LIB_SUBSYSTEMS = util store repo worktree history run
LIB_OBJS = $(patsubst %.c,%.o,$(sort $(foreach d,$(LIB_SUBSYSTEMS),$(wildcard lib/$(d)/*.c))))
CMD_OBJS = $(patsubst %.c,%.o,$(sort $(wildcard cmd/*.c)))
UNIT_SRCS = $(sort $(wildcard t/unit/t-*.c))
UNIT_BINS = $(patsubst t/unit/%.c,t/unit/bin/%,$(UNIT_SRCS))
UNIT_LIB_OBJS = t/unit/tap.o
FUZZ_SRCS = $(sort $(wildcard t/fuzz/fuzz-*.c))
HDRCHECK_OBJS = $(patsubst include/mlv/%.h,t/unit/hdr/%.o,$(wildcard include/mlv/*.h))

ALL_OBJS = $(LIB_OBJS) $(CMD_OBJS) $(UNIT_LIB_OBJS) $(patsubst %.c,%.o,$(UNIT_SRCS))

# The default goal; the reference trainer mlv-refnet (cuda/) has its own rules.
all:
include cuda/refnet.mk
include preload/preload.mk
all: mlv $(REFNET)

# Rebuild everything when the flags change.
FLAGS_FILE = .build-flags
FLAGS_NOW = $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LIBS)
$(FLAGS_FILE): FORCE
	@if [ "$$(cat $@ 2>/dev/null)" != '$(FLAGS_NOW)' ]; then \
		echo '$(FLAGS_NOW)' >$@; fi

%.o: %.c $(FLAGS_FILE)
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

libmlv.a: $(LIB_OBJS)
	$(QUIET_AR)rm -f $@ && ar rcs $@ $^

mlv: $(CMD_OBJS) libmlv.a
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJS) libmlv.a $(LIBS)

t/unit/bin/%: t/unit/%.o $(UNIT_LIB_OBJS) libmlv.a
	@mkdir -p t/unit/bin
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $< $(UNIT_LIB_OBJS) libmlv.a $(LIBS)

# Every public header compiles on its own.
t/unit/hdr/%.o: include/mlv/%.h $(FLAGS_FILE)
	@mkdir -p t/unit/hdr
	$(QUIET_CC)echo '#include "mlv/$*.h"' | $(CC) $(ALL_CFLAGS) -x c -c -o $@ -

build-tests: mlv $(REFNET) $(UNIT_BINS) $(HDRCHECK_OBJS) check-layers

# lib/ includes flow one way: util <- store <- repo <- worktree.
check-layers: libmlv.a
	@tools/check-layers.sh

deps:
	@tools/install-deps.sh

PROVE ?= prove
PROVE_OPTS ?= -j2
test: deps
	@$(MAKE) --no-print-directory build-tests
	$(PROVE) $(PROVE_OPTS) --exec '' t/unit/bin/t-* t/t[0-9]*.sh

demo: deps
	@$(MAKE) --no-print-directory mlv $(REFNET)
	@./tools/demo.sh

bench:
	@tools/install-deps.sh --bench
	@$(MAKE) --no-print-directory mlv
	@./bench/run.sh

bench-history:
	@tools/install-deps.sh --bench
	@$(MAKE) --no-print-directory mlv
	@./bench/history.sh

bench-runs:
	@tools/install-deps.sh --bench
	@$(MAKE) --no-print-directory mlv $(REFNET) $(PRELOAD)
	@./bench/runs-all.sh

man:
	@for f in man/*.[157]; do \
		MANWIDTH=80 man --warnings -E UTF-8 -l "$$f" >/dev/null || exit 1; done

install: mlv
	install -d $(DESTDIR)$(bindir) $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man5
	install -m 755 mlv $(DESTDIR)$(bindir)/mlv
	install -m 644 man/*.1 $(DESTDIR)$(mandir)/man1/
	install -m 644 man/*.5 $(DESTDIR)$(mandir)/man5/

clean:
	rm -f mlv libmlv.a $(FLAGS_FILE) lib/*/*.[od] cmd/*.[od] t/unit/*.[od]
	rm -rf t/unit/bin t/unit/hdr t/trash-* t/test-results

.PHONY: bench-history bench-runs all test demo bench man install clean deps build-tests check-layers FORCE
.DELETE_ON_ERROR:

-include $(ALL_OBJS:.o=.d)
