#!/bin/bash
#
# Benchmark mlv against the hardware limits and against git-lfs, git-annex
# and restic, and print one markdown table (also written to
# $MLV_BENCH_DIR/results.md). See bench/README.md.
#
#   bench/run.sh [--only <row>]
#
#   MLV_BENCH_SCALE=small   256 MiB and 10,000 files instead of 2 GiB and 100,000
#   MLV_BENCH_DIR=<dir>     work directory (default bench/work)
#   MLV=<path>              the mlv binary (default ./mlv of this checkout)
#
# Progress goes to stderr; stdout is the machine description and the table.

set -euo pipefail
export LC_ALL=C

usage() {
	echo "usage: bench/run.sh [--only <1-5>]"
}

only=
while [ $# -gt 0 ]; do
	case "$1" in
	--only)	[ $# -ge 2 ] || { usage >&2; exit 129; }
		only=$2; shift 2 ;;
	--only=*) only=${1#--only=}; shift ;;
	-h|--help) usage; exit 0 ;;
	*)	usage >&2; exit 129 ;;
	esac
done
case "$only" in
''|[1-5]) ;;
*)	usage >&2; exit 129 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
export MLV_BENCH_SCALE=${MLV_BENCH_SCALE:-full}
export MLV_BENCH_DIR=${MLV_BENCH_DIR:-$here/work}
scale=$MLV_BENCH_SCALE
MLV=${MLV:-$top/mlv}
case "$MLV" in /*) ;; *) MLV=$(pwd)/$MLV ;; esac

ref_timeout=900     # seconds a reference tool may take
runs=3              # median of this many for the cheap measurements
changed_mib=48      # bytes (c) changes relative to (a): 16 MiB + 32 MiB

for tool in git openssl zstd tar /usr/bin/time python3; do
	command -v "$tool" >/dev/null ||
		{ echo "run.sh: '$tool' not found; run tools/install-deps.sh --bench" >&2; exit 1; }
done
[ -x "$MLV" ] || { echo "run.sh: $MLV not built; run make" >&2; exit 1; }

mkdir -p "$MLV_BENCH_DIR"
W=$(cd "$MLV_BENCH_DIR" && pwd)
# One run at a time per work directory: a second one would regenerate or
# delete the data and repositories the first is measuring.
exec 9>"$W/.lock"
flock -n 9 || { echo "run.sh: another bench/run.sh is using $W" >&2; exit 1; }
"$here/gen.sh"
D=$W/data-$scale                   # the generated data, read-only to us
S=$W/scratch-$scale                # repositories and copies, removed at the end
L=$W/logs-$scale                   # every command's output, kept
big=$D/big.bin
big2=$D/big-v2.bin
files=$D/files
nfiles=$(find "$files" -type f | wc -l)
big_bytes=$(stat -c %s "$big")

rmtree() {
	# git-annex makes its objects and their directories read-only
	[ -e "$1" ] || return 0
	chmod -R u+w "$1" 2>/dev/null || true
	rm -rf "$1"
}
rmtree "$S"
mkdir -p "$S" "$L"

# Where a repository's store is: in git's directory, or (before 0.2) in .mlv/.
store_dir() {
	if [ -d "$1/.git/mlv" ]; then echo "$1/.git/mlv"; else echo "$1/.mlv/store"; fi
}
trap 'rmtree "$S"' EXIT

log() { echo "run.sh: $*" >&2; }

# ---------------------------------------------------------------- helpers

# measure <name> <command>...: run it, its output to $L/<name>.log; sets
# T (wall seconds), RSS (peak resident KiB) and RC (exit status).
measure() {
	local name=$1 t0 t1
	shift
	t0=$(date +%s%N)
	if /usr/bin/time -f %M -o "$S/.rss" "$@" >"$L/$name.log" 2>&1; then
		RC=0
	else
		RC=$?
	fi
	t1=$(date +%s%N)
	T=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	RSS=$(tail -n 1 "$S/.rss")
	case "$RSS" in *[!0-9]*|'') RSS=0 ;; esac
}

median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# calc <printf format> <awk expression>
calc() {
	awk "BEGIN { printf \"$1\", $2 }"
}

# true when the awk condition holds
holds() {
	awk "BEGIN { exit !($1) }"
}

# 1234567 -> 1,234,567
commas() {
	echo "$1" | awk '{ s = sprintf("%d", $1); r = "";
		while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
		print s r }'
}

secs() {
	if holds "$1 < 10"; then calc '%.2f s' "$1"; else calc '%.1f s' "$1"; fi
}

mibps() {
	calc '%.0f MiB/s' "$1 / 1048576 / $2"
}

mib() {
	calc '%.1f MiB' "$1 / 1048576"
}

# warm <path>: read every byte once, so the page cache holds it
warm() {
	if [ -d "$1" ]; then
		find "$1" -type f -print0 | xargs -0 cat >/dev/null
	else
		cat "$1" >/dev/null
	fi
}

# keep_lfs_logs <repo> <name>: git-lfs puts the cause of a failure in a log
# inside the repository, which is about to be removed
keep_lfs_logs() {
	cat "$1"/.git/lfs/logs/* >>"$L/$2-lfs-logs.log" 2>/dev/null || true
}

new_git_repo() {
	rmtree "$1"
	git init -q "$1"
	git -C "$1" config user.name "mlv bench"
	git -C "$1" config user.email "bench@mlv.invalid"
	git -C "$1" config commit.gpgsign false
}

new_mlv_repo() {
	new_git_repo "$1"
	"$MLV" -C "$1" init -q
}

# A reference tool that may run past $ref_timeout: its cell text.
ref_cell() {
	# ref_cell <label> <rc> <time> <extra text>
	if [ "$2" = 124 ] || [ "$2" = 137 ]; then
		echo "$1 >$ref_timeout s"
	elif [ "$2" != 0 ]; then
		echo "$1 FAILED (exit $2)"
	else
		echo "$1 $(secs "$3")${4:+, $4}"
	fi
}

rows=()
row() {
	# row <#> <operation> <mlv> <references> <ratio> <target> <result>
	local IFS='|'
	rows+=("| $1 | $2 | $3 | $4 | $5 | $6 | $7 |")
}

mlv_failed() {
	# mlv_failed <#> <operation> <log name> <target>
	row "$1" "$2" "**FAILED** (exit $RC; logs-$scale/$3.log)" "" "" "$4" "**FAIL**"
	log "mlv failed, see $L/$3.log"
}

want() { [ -z "$only" ] || [ "$only" = "$1" ]; }

# ---------------------------------------------------------------- rows

row1() {
	local i t_mlv=() t_sha=() t_cp=() t_cps=() rss=() tm ts tc tcs r m lim ratio
	local op="\`mlv add\` of (a), $(mib "$big_bytes") file"
	log "row 1: mlv add of $big vs sha256 and cp"
	warm "$big"
	for i in $(seq $runs); do
		new_mlv_repo "$S/r1"
		ln "$big" "$S/r1/big.bin"
		sync
		measure "1-mlv-add-$i" "$MLV" -C "$S/r1" add -q big.bin
		[ "$RC" = 0 ] || { mlv_failed 1 "$op" "1-mlv-add-$i" "≥ 0.8"; rmtree "$S/r1"; return; }
		t_mlv+=("$T") rss+=("$RSS")
		rmtree "$S/r1"
	done
	for i in $(seq $runs); do
		sync
		measure "1-sha256-$i" openssl dgst -sha256 "$big"
		t_sha+=("$T")
	done
	for i in $(seq $runs); do
		rm -f "$S/big.copy"
		sync
		measure "1-cp-$i" cp "$big" "$S/big.copy"
		t_cp+=("$T")
		rm -f "$S/big.copy"
		sync
		# mlv fsyncs its packs before it writes a pointer: the durable
		# write limit is a copy that also waits for the disk.
		measure "1-cp-sync-$i" sh -c 'cp "$1" "$2" && sync "$2"' sh "$big" "$S/big.copy"
		t_cps+=("$T")
		rm -f "$S/big.copy"
	done
	tm=$(median "${t_mlv[@]}") ts=$(median "${t_sha[@]}") tc=$(median "${t_cp[@]}")
	tcs=$(median "${t_cps[@]}")
	lim=$(calc '%.6f' "($ts > $tc) ? $ts : $tc")     # the slower limit
	ratio=$(calc '%.2f' "$lim / $tm")
	if holds "$ratio >= 0.8"; then r=pass; else r=**miss**; fi
	row 1 "$op: throughput" "$(secs "$tm"), $(mibps "$big_bytes" "$tm")" \
		"sha256 $(secs "$ts"), $(mibps "$big_bytes" "$ts"); cp $(secs "$tc"), $(mibps "$big_bytes" "$tc")" \
		"$ratio (mlv / min of the two)" "≥ 0.8" "$r"
	lim=$(calc '%.6f' "($ts > $tcs) ? $ts : $tcs")
	ratio=$(calc '%.2f' "$lim / $tm")
	if holds "$ratio >= 0.8"; then r=pass; else r=**miss**; fi
	row 1c "$op: against durable limits" "$(secs "$tm")" \
		"sha256 $(secs "$ts"); cp + sync $(secs "$tcs"), $(mibps "$big_bytes" "$tcs")" \
		"$ratio (mlv / min of the two)" "≥ 0.8" "$r"
	m=$(median "${rss[@]}")
	if holds "$m <= 131072"; then r=pass; else r=**miss**; fi
	row 1b "$op: peak RSS" "$(calc '%.1f MiB' "$m / 1024")" "" "" "≤ 128 MiB" "$r"
}

# The mlv repository of (b) that rows 2, 3 and 4 use: a real copy of the
# files (not hard links: other repositories linking the same inodes would
# change their ctime and defeat every stat cache), pointer committed.
r2_ready=
setup_r2() {
	[ -z "$r2_ready" ] || return 0
	log "setting up the mlv repository of (b)"
	new_git_repo "$S/r2"
	cp -r "$files" "$S/r2/data"
	"$MLV" -C "$S/r2" init -q
	"$MLV" -C "$S/r2" add -q data
	r2_commit
}
r2_commit() {
	git -C "$S/r2" add data.mlv .gitignore
	git -C "$S/r2" commit -q -m "data"
	r2_ready=1
}

row2() {
	local i t_mlv=() tm fps r op ratios refs miss=
	local lfs_rc lfs_t annex_rc annex_t restic_rc restic_t
	op="\`mlv add\` of (b), $(commas "$nfiles") files of 4 KiB"
	log "row 2: mlv add of $nfiles files vs git-lfs, git-annex, restic"
	new_git_repo "$S/r2"
	cp -r "$files" "$S/r2/data"
	warm "$S/r2/data"
	warm "$files"
	for i in $(seq $runs); do
		rm -rf "$S/r2/.mlv" "$S/r2/.git/mlv" "$S/r2/data.mlv" "$S/r2/.gitignore"
		"$MLV" -C "$S/r2" init -q
		sync
		measure "2-mlv-add-$i" "$MLV" -C "$S/r2" add -q data
		[ "$RC" = 0 ] || { mlv_failed 2 "$op" "2-mlv-add-$i" "≥ 25,000 files/s; ≥ 10× lfs, annex"; return; }
		t_mlv+=("$T")
	done
	r2_commit
	tm=$(median "${t_mlv[@]}")
	fps=$(calc '%.0f' "$nfiles / $tm")

	log "row 2: git-lfs"
	new_git_repo "$S/lfs2"
	git -C "$S/lfs2" lfs install --local >/dev/null
	git -C "$S/lfs2" lfs track "*.csv" "*.bin" >/dev/null
	git -C "$S/lfs2" add .gitattributes
	cp -al "$files" "$S/lfs2/data"
	sync
	measure 2-lfs-add timeout $ref_timeout git -C "$S/lfs2" add data
	lfs_rc=$RC lfs_t=$T
	[ "$lfs_rc" = 0 ] || keep_lfs_logs "$S/lfs2" 2
	rmtree "$S/lfs2"

	log "row 2: git-annex"
	new_git_repo "$S/annex2"
	git -C "$S/annex2" annex init -q bench >/dev/null 2>&1
	cp -r "$files" "$S/annex2/data"
	warm "$S/annex2/data"
	sync
	measure 2-annex-add timeout $ref_timeout bash -c "cd '$S/annex2' && git annex add -q data"
	annex_rc=$RC annex_t=$T
	rmtree "$S/annex2"

	if command -v restic >/dev/null; then
		log "row 2: restic"
		export RESTIC_PASSWORD=mlv-bench
		restic init -q --repo "$S/restic2" >"$L/2-restic-init.log" 2>&1
		sync
		measure 2-restic-backup timeout $ref_timeout restic -q --repo "$S/restic2" backup "$files"
		restic_rc=$RC restic_t=$T
		rmtree "$S/restic2"
	else
		restic_rc=127 restic_t=0
	fi

	refs="$(ref_cell git-lfs "$lfs_rc" "$lfs_t" "$(commas "$(calc '%.0f' "$nfiles / $lfs_t")") files/s")"
	refs+="; $(ref_cell git-annex "$annex_rc" "$annex_t" "$(commas "$(calc '%.0f' "$nfiles / $annex_t")") files/s")"
	refs+="; $(ref_cell "restic (reference)" "$restic_rc" "$restic_t" "$(commas "$(calc '%.0f' "$nfiles / $restic_t")") files/s")"
	holds "$fps >= 25000" || miss=1
	ratio2() {
		# ratio2 <label> <rc> <time>
		if [ "$2" = 124 ] || [ "$2" = 137 ]; then
			echo "$1 >$(calc '%.0f' "$ref_timeout / $tm")×"
		elif [ "$2" != 0 ]; then
			echo "$1 n/a"
		else
			echo "$1 $(calc '%.1f' "$3 / $tm")×"
		fi
	}
	ratios="$(ratio2 "mlv/lfs" "$lfs_rc" "$lfs_t"); $(ratio2 "mlv/annex" "$annex_rc" "$annex_t")"
	# ratio2 runs in a command substitution, so the misses are decided here
	for v in "$lfs_rc:$lfs_t" "$annex_rc:$annex_t"; do
		case "${v%%:*}" in
		0) holds "${v#*:} / $tm >= 10" || miss=1 ;;
		124|137) ;;
		*) miss=1 ;;
		esac
	done
	if [ -z "$miss" ]; then r=pass; else r=**miss**; fi
	row 2 "$op" "$(secs "$tm"), $(commas "$fps") files/s" "$refs" "$ratios" \
		"≥ 25,000 files/s; ≥ 10×" "$r"
}

row3() {
	local op="no-op \`mlv status\` on (b)" tm tg ratio r rc
	log "row 3: no-op mlv status vs git status"
	setup_r2
	new_git_repo "$S/git3"
	cp -r "$files" "$S/git3/data"
	git -C "$S/git3" add data
	git -C "$S/git3" commit -q -m data
	git -C "$S/git3" status >/dev/null
	rc=0
	"$MLV" -C "$S/r2" status --exit-code >"$L/3-mlv-status.log" 2>&1 || rc=$?
	if [ $rc != 0 ]; then
		log "mlv status is not a no-op, see $L/3-mlv-status.log"
		row 3 "$op" "**not a no-op** (exit $rc; logs-$scale/3-mlv-status.log)" "" "" "≤ 1.5" "**FAIL**"
		rmtree "$S/git3"
		return
	fi
	if command -v hyperfine >/dev/null; then
		hyperfine -N --warmup 1 --runs 10 --export-json "$L/3-hyperfine.json" \
			"$MLV -C $S/r2 status" "git -C $S/git3 status" >"$L/3-hyperfine.log" 2>&1
		read -r tm tg < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(r[0]["median"], r[1]["median"])' "$L/3-hyperfine.json")
	else
		local i a=() b=()
		for i in $(seq 10); do
			measure 3-mlv-status "$MLV" -C "$S/r2" status; a+=("$T")
			measure 3-git-status git -C "$S/git3" status; b+=("$T")
		done
		tm=$(median "${a[@]}") tg=$(median "${b[@]}")
	fi
	rmtree "$S/git3"
	ratio=$(calc '%.2f' "$tm / $tg")
	if holds "$ratio <= 1.5"; then r=pass; else r=**miss**; fi
	row 3 "$op" "$(calc '%.1f ms' "$tm * 1000")" "git status $(calc '%.1f ms' "$tg * 1000")" \
		"$ratio (mlv / git time)" "≤ 1.5" "$r"
}

row4() {
	local op="\`mlv checkout\` of (b) into an empty tree" i t_mlv=() t_cp=() t_tar=() tm tc tt ratio r
	log "row 4: mlv checkout vs cp -r and tar | zstd"
	setup_r2
	warm "$files"
	for i in $(seq $runs); do
		rm -rf "$S/r2/data"
		sync
		measure "4-mlv-checkout-$i" "$MLV" -C "$S/r2" checkout -q
		[ "$RC" = 0 ] || { mlv_failed 4 "$op" "4-mlv-checkout-$i" "≤ 2 × cp"; return; }
		t_mlv+=("$T")
	done
	if ! diff -r "$files" "$S/r2/data" >"$L/4-diff.log" 2>&1; then
		row 4 "$op" "**WRONG**: the tree differs (logs-$scale/4-diff.log)" "" "" "≤ 2 × cp" "**FAIL**"
		return
	fi
	for i in $(seq $runs); do
		rm -rf "$S/cp4"
		sync
		measure "4-cp-$i" cp -r "$files" "$S/cp4"
		t_cp+=("$T")
		rm -rf "$S/cp4"
	done
	for i in $(seq $runs); do
		rm -f "$S/files.tar.zst"
		sync
		measure "4-tar-zstd-$i" bash -c "tar -cf - -C '$D' files | zstd -q -T0 >'$S/files.tar.zst'"
		t_tar+=("$T")
		rm -f "$S/files.tar.zst"
	done
	rmtree "$S/r2"; r2_ready=
	tm=$(median "${t_mlv[@]}") tc=$(median "${t_cp[@]}") tt=$(median "${t_tar[@]}")
	ratio=$(calc '%.2f' "$tm / $tc")
	if holds "$ratio <= 2"; then r=pass; else r=**miss**; fi
	row 4 "$op" "$(secs "$tm"), $(commas "$(calc '%.0f' "$nfiles / $tm")") files/s" \
		"cp -r $(secs "$tc"); tar -c \\| zstd (reference) $(secs "$tt")" \
		"$ratio (mlv / cp time)" "≤ 2" "$r"
}

row5() {
	local op="\`mlv add\` of (c) after (a): store growth" s0 s1 g_mlv t2 refs ratio r
	local g_lfs= g_annex= lfs_note annex_note limit
	log "row 5: store growth for (c) after (a)"
	warm "$big"; warm "$big2"
	new_mlv_repo "$S/r5"
	ln "$big" "$S/r5/big.bin"
	measure 5-mlv-add-a "$MLV" -C "$S/r5" add -q big.bin
	[ "$RC" = 0 ] || { mlv_failed 5 "$op" 5-mlv-add-a "≤ 1.1 × 48 MiB"; rmtree "$S/r5"; return; }
	s0=$(du -sb "$(store_dir "$S/r5")" | cut -f1)
	rm "$S/r5/big.bin"
	ln "$big2" "$S/r5/big.bin"
	sync
	measure 5-mlv-add-c "$MLV" -C "$S/r5" add -q big.bin
	[ "$RC" = 0 ] || { mlv_failed 5 "$op" 5-mlv-add-c "≤ 1.1 × 48 MiB"; rmtree "$S/r5"; return; }
	t2=$T
	s1=$(du -sb "$(store_dir "$S/r5")" | cut -f1)
	g_mlv=$((s1 - s0))
	rmtree "$S/r5"

	log "row 5: git-lfs"
	new_git_repo "$S/lfs5"
	git -C "$S/lfs5" lfs install --local >/dev/null
	git -C "$S/lfs5" lfs track "*.bin" >/dev/null
	git -C "$S/lfs5" add .gitattributes
	git -C "$S/lfs5" commit -q -m attributes
	ln "$big" "$S/lfs5/big.bin"
	measure 5-lfs-add-a timeout $ref_timeout bash -c "cd '$S/lfs5' && git add big.bin && git commit -q -m a"
	if [ "$RC" = 0 ]; then
		s0=$(du -sb "$S/lfs5/.git/lfs/objects" | cut -f1)
		rm "$S/lfs5/big.bin"
		ln "$big2" "$S/lfs5/big.bin"
		measure 5-lfs-add-c timeout $ref_timeout bash -c "cd '$S/lfs5' && git add big.bin && git commit -q -m c"
	fi
	if [ "$RC" = 0 ]; then
		s1=$(du -sb "$S/lfs5/.git/lfs/objects" | cut -f1)
		g_lfs=$((s1 - s0)) lfs_note="git-lfs +$(mib "$g_lfs")"
	else
		lfs_note=$(ref_cell git-lfs "$RC" "$T" "")
	fi
	[ "$RC" = 0 ] || keep_lfs_logs "$S/lfs5" 5
	rmtree "$S/lfs5"

	log "row 5: git-annex"
	new_git_repo "$S/annex5"
	git -C "$S/annex5" annex init -q bench >/dev/null 2>&1
	cp "$big" "$S/annex5/big.bin"
	measure 5-annex-add-a timeout $ref_timeout bash -c "cd '$S/annex5' && git annex add -q big.bin && git commit -q -m a"
	if [ "$RC" = 0 ]; then
		s0=$(du -sb "$S/annex5/.git/annex/objects" | cut -f1)
		rm "$S/annex5/big.bin"
		cp "$big2" "$S/annex5/big.bin"
		measure 5-annex-add-c timeout $ref_timeout bash -c "cd '$S/annex5' && git annex add -q big.bin && git commit -q -m c"
	fi
	if [ "$RC" = 0 ]; then
		s1=$(du -sb "$S/annex5/.git/annex/objects" | cut -f1)
		g_annex=$((s1 - s0)) annex_note="git-annex +$(mib "$g_annex")"
	else
		annex_note=$(ref_cell git-annex "$RC" "$T" "")
	fi
	rmtree "$S/annex5"

	limit=$(calc '%.1f' "1.1 * $changed_mib")
	ratio="$(calc '%.2f' "$g_mlv / ($changed_mib * 1048576)")× changed bytes"
	if holds "$g_mlv <= 1.1 * $changed_mib * 1048576"; then r=pass; else r=**miss**; fi
	row 5 "$op" "+$(mib "$g_mlv") (add took $(secs "$t2"))" \
		"changed $changed_mib MiB; $lfs_note; $annex_note" \
		"$ratio" "≤ 1.1 × $changed_mib MiB = $limit MiB" "$r"
}

# ---------------------------------------------------------------- main

fs=$(df -PT "$W" | awk 'NR == 2 { print $2 " on " $1 " (" $7 ")" }')
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
ver() { "$@" 2>/dev/null | head -n 1 || echo "not installed"; }

want 1 && row1
want 2 && row2
want 3 && row3
want 4 && row4
want 5 && row5

{
	echo "# mlv benchmarks ($scale scale)"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- mlv: $("$MLV" --version)"
	echo "- machine: $(nproc) cores, $cpu, $mem RAM"
	echo "- work dir: $W, filesystem $fs"
	echo "- data: (a) $(mib "$big_bytes") incompressible file; (b) $(commas "$nfiles") files of 4 KiB in 100 directories (half CSV text, half random); (c) (a) with 16 MiB overwritten in the middle and 32 MiB appended"
	echo "- tools: $(ver git --version); $(ver git lfs version); $(ver git annex version | sed 's/version: //'); $(ver restic version | cut -d' ' -f1-2); $(ver openssl version | cut -d' ' -f1-2); $(ver hyperfine --version)"
	echo "- method: warm page cache; \`sync\` before each timed run; median of $runs for mlv, sha256, cp, tar; 1 run for git-lfs, git-annex, restic (capped at $ref_timeout s); status: hyperfine median of 10"
	echo
	echo "| # | operation | mlv | reference(s) | ratio | target | result |"
	echo "|---|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
} | tee "$W/results.md"
