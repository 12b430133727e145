# mlv-trace.so, the interposer of mlv run's tracing (preload/,
# mlv/proc.h): its build rules.  Included by the top Makefile, from the top
# directory.
#
# It loads into any program a traced run starts -- it is part of that
# program, not of libmlv, hence outside lib/ -- so it is built on its
# own flags: position-independent, libc only, never with the sanitizers
# (SANITIZE=1) or $(CFLAGS).  mlv looks for it beside its own binary, then
# in ../lib/mlv/ from there (install: $(prefix)/lib/mlv/).

PRELOAD = mlv-trace.so
PRELOAD_SRC = preload/mlv-trace.c
PRELOAD_CFLAGS = -O2 -g -std=gnu11 -fPIC -shared -fvisibility=hidden -D_GNU_SOURCE \
	-U_FORTIFY_SOURCE -fno-stack-protector $(WARNINGS)
PRELOAD_LIBS = -ldl
libdir_mlv = $(prefix)/lib/mlv

$(PRELOAD): $(PRELOAD_SRC) lib/run/trace-shm.h preload/preload.mk
	$(QUIET_LINK)$(CC) $(PRELOAD_CFLAGS) -o $@ $(PRELOAD_SRC) $(PRELOAD_LIBS)

# The top Makefile's "all" is read before this file: add to it here.
all: $(PRELOAD)
build-tests: $(PRELOAD)

clean: clean-preload
clean-preload:
	rm -f $(PRELOAD)

install: install-preload
install-preload: $(PRELOAD)
	install -d $(DESTDIR)$(libdir_mlv)
	install -m 644 $(PRELOAD) $(DESTDIR)$(libdir_mlv)/$(PRELOAD)

.PHONY: clean-preload install-preload
