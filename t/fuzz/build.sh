#!/bin/sh
# Build the libFuzzer targets into t/fuzz/bin/ (see t/fuzz/README).
# Usage: t/fuzz/build.sh [target...]     (default: every t/fuzz/fuzz-*.c)
# FUZZ_CFLAGS adds compiler flags.
set -e
cd "$(dirname "$0")/../.."

CC=${CC:-clang}
FLAGS="-g -O1 -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib \
	-Wall -Wextra -Wno-unused-parameter -Werror \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $FUZZ_CFLAGS"

# Each target links only the library files its parser needs, so that a
# fuzz build needs neither SQLite nor libgit2, and does not break when an
# unrelated file does.  A new target adds its line here.
UTIL="lib/util/buf.c lib/util/error.c"
sources() {
	case $1 in
	fuzz-pointer)	echo "$UTIL lib/util/oid.c lib/util/fileio.c lib/util/path.c \
			lib/util/fs.c lib/util/lock.c lib/util/tempfile.c lib/worktree/pointer.c" ;;
	fuzz-tree)	echo "$UTIL lib/util/oid.c lib/util/path.c lib/store/tree.c" ;;
	fuzz-path)	echo "$UTIL lib/util/path.c" ;;
	fuzz-recipe|fuzz-packidx)
			echo "$UTIL lib/util/oid.c lib/util/fileio.c lib/store/pack.c" ;;
	*)		echo "t/fuzz/build.sh: no source list for $1" >&2; return 1 ;;
	esac
}
libs() {
	case $1 in
	fuzz-recipe|fuzz-packidx)	pkg-config --cflags --libs libzstd libcrypto ;;
	*)				pkg-config --cflags --libs libcrypto ;;
	esac
}

if [ $# -eq 0 ]; then
	set -- t/fuzz/fuzz-*.c
fi
mkdir -p t/fuzz/bin
for src in "$@"; do
	name=$(basename "$src" .c)
	src=t/fuzz/$name.c
	srcs=$(sources "$name")
	echo "  FUZZ t/fuzz/bin/$name"
	# shellcheck disable=SC2086,SC2046
	$CC $FLAGS -o "t/fuzz/bin/$name" "$src" $srcs $(libs "$name")
done
