#!/bin/sh
# Build the libFuzzer targets into t/fuzz/bin/ (see t/fuzz/README).
# Usage: t/fuzz/build.sh [target...]     (default: every t/fuzz/fuzz-*.c)
set -e
cd "$(dirname "$0")/../.."

CC=${CC:-clang}
# Only the library files the parsers need: a fuzz build should not depend
# on SQLite, libgit2 or zstd, nor break when an unrelated file does.
LIB_SRCS="lib/util/buf.c lib/util/error.c lib/util/oid.c lib/util/fileio.c lib/util/path.c lib/worktree/pointer.c lib/store/tree.c"
FLAGS="-g -O1 -std=gnu11 -D_GNU_SOURCE -Iinclude -Ilib \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"

if [ $# -eq 0 ]; then
	set -- t/fuzz/fuzz-*.c
fi
mkdir -p t/fuzz/bin
for src in "$@"; do
	name=$(basename "$src" .c)
	echo "  FUZZ t/fuzz/bin/$name"
	# shellcheck disable=SC2086
	$CC $FLAGS -o "t/fuzz/bin/$name" "$src" $LIB_SRCS \
		$(pkg-config --cflags --libs libcrypto)
done
