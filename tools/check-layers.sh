#!/bin/sh
# lib/ is grouped by subsystem and its includes flow one way:
#
#	util  <-  store  <-  repo  <-  worktree  <-  history  <-  run
#
# A file may include headers of its own layer and of the layers to its
# left, never to its right.  Public headers (include/mlv/*.h) belong to
# the layer named below.  Exits 1 naming every include that flows upward,
# or any exported symbol not named mlv_*.
cd "$(dirname "$0")/.." || exit 128

rank() {
	case "$1" in
	util) echo 0 ;;
	store) echo 1 ;;
	repo) echo 2 ;;
	worktree) echo 3 ;;
	history) echo 4 ;;
	run) echo 5 ;;
	*) echo 99 ;;
	esac
}

# The layer of a public header: its "mlv-layer: <name>" comment, or this map.
public_layer() {
	marker=$(sed -n 's/.*mlv-layer: *\([a-z]*\).*/\1/p' "include/mlv/$1" 2>/dev/null | head -n 1)
	if [ -n "$marker" ]; then
		echo "$marker"
		return
	fi
	case "$1" in
	buf.h | error.h | fileio.h | oid.h | path.h | fs.h | lock.h | tempfile.h) echo util ;;
	store.h | tree.h) echo store ;;
	repo.h) echo repo ;;
	pointer.h | gitignore.h | worktree.h) echo worktree ;;
	*) echo unknown ;;
	esac
}

status=0

# What libmlv exports is its public API: every symbol it does not hide
# (public headers push default visibility, the build hides the rest) is
# named mlv_*.
if [ -f libmlv.a ]; then
	leaked=$(readelf -sW libmlv.a | awk '$5 == "GLOBAL" && $6 == "DEFAULT" && $7 != "UND" { print $8 }' |
		grep -v '^mlv_' | grep -v '^__' | sort -u)
	if [ -n "$leaked" ]; then
		echo "check-layers: libmlv.a exports names outside mlv_*:" $leaked >&2
		status=1
	fi
fi

for f in lib/*/*.[ch] include/mlv/*.h; do
	case "$f" in
	include/*) layer=$(public_layer "$(basename "$f")") ;;
	*) layer=$(echo "$f" | cut -d/ -f2) ;;
	esac
	if [ "$(rank "$layer")" = 99 ]; then
		echo "check-layers: $f: unknown layer '$layer'" >&2
		status=1
		continue
	fi
	me=$(rank "$layer")
	grep -n '^#include "' "$f" | while IFS= read -r line; do
		inc=$(echo "$line" | sed 's/.*#include "\([^"]*\)".*/\1/')
		case "$inc" in
		mlv/*) theirs=$(public_layer "$(basename "$inc")") ;;
		*/*) theirs=$(echo "$inc" | cut -d/ -f1) ;;
		*) theirs=$(public_layer "$inc") ;;
		esac
		if [ "$(rank "$theirs")" -gt "$me" ]; then
			echo "check-layers: $f:${line%%:*}: $layer includes $inc ($theirs)" >&2
			echo fail
		fi
	done | grep -q fail && status=1
done
exit $status
