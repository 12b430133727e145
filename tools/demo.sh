#!/bin/sh
# A short, real walk-through of mlv, printed as a transcript: a git
# repository, a generated dataset directory and a model file tracked,
# committed, changed, committed again, checked out at both versions and
# verified.  Runs in a temporary directory that is removed afterwards
# (set MLV_DEMO_KEEP=1 to keep it).
set -e

top=$(cd "$(dirname "$0")/.." && pwd)
PATH="$top:$PATH"
export PATH
work=$(mktemp -d "${TMPDIR:-/tmp}/mlv-demo.XXXXXX")
if [ -z "$MLV_DEMO_KEEP" ]; then
	trap 'rm -rf "$work"' EXIT
fi
cd "$work"

# Deterministic pseudo-random bytes: generate <bytes> <seed>.
generate() {
	openssl enc -aes-128-ctr -nosalt -pass "pass:$2" -pbkdf2 -iter 1 </dev/zero 2>/dev/null |
		head -c "$1"
}

say() { printf '\n# %s\n' "$*"; }
run() {
	printf '$ %s\n' "$*"
	"$@"
}

GIT_AUTHOR_NAME="mlv demo" GIT_AUTHOR_EMAIL="demo@example.com"
GIT_COMMITTER_NAME="mlv demo" GIT_COMMITTER_EMAIL="demo@example.com"
export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL

say "A git repository for an ML project, with mlv beside it ($work)"
run git init -q -b main project
cd project
run mlv init

say "A dataset directory (300 CSV shards and 50 binary feature files) and a model"
mkdir -p data/train/csv data/train/features
i=0
while [ $i -lt 300 ]; do
	awk -v s=$i 'BEGIN { srand(s); print "id,x,y,label";
		for (r = 0; r < 200; r++) printf "%d,%.6f,%.6f,%d\n", r, rand(), rand(), int(rand()*10) }' \
		>data/train/csv/shard-$i.csv
	i=$((i + 1))
done
i=0
while [ $i -lt 50 ]; do
	generate 65536 "feat$i" >data/train/features/f$i.bin
	i=$((i + 1))
done
generate 25165824 model-v1 >model.bin
run du -sh data/train model.bin

say "Track them: content goes to the store, small pointer files go to git"
run mlv add data/train
run mlv add --kind model model.bin
run cat model.bin.mlv
run git add .gitignore data/.gitignore data/train.mlv model.bin.mlv
run git commit -q -m "dataset v1, model v1"
run mlv status

say "Version 2: new shards, one shard edited, 4 MiB of the model retrained"
i=300
while [ $i -lt 320 ]; do
	cp data/train/csv/shard-$((i - 300)).csv data/train/csv/shard-$i.csv
	i=$((i + 1))
done
echo "0,0.5,0.5,3" >>data/train/csv/shard-7.csv
generate 4194304 model-v2 | dd of=model.bin bs=1M seek=8 conv=notrunc status=none
run mlv status
run mlv add data/train model.bin
run git commit -q -am "dataset v2, model v2"
run mlv ls
v2_model=$(sha256sum model.bin | cut -d' ' -f1)

say "Back to version 1: git switches the pointers, mlv checkout switches the data"
run git checkout -q HEAD~1
run mlv checkout
run mlv status --exit-code
printf '$ ls data/train/csv | wc -l\n'
ls data/train/csv | wc -l
run mlv hash model.bin
run sha256sum model.bin

say "And forward to version 2 again"
run git checkout -q main
run mlv checkout
test "$(sha256sum model.bin | cut -d' ' -f1)" = "$v2_model"
run mlv status --exit-code

say "The store (in .git/mlv, out of reach of git clean) deduplicates: only the changed chunks of the model were stored twice"
run du -sh .git/mlv/packs
run mlv fsck

say "A local edit is never overwritten silently"
echo "my precious edit" >>data/train/csv/shard-1.csv
printf '$ git checkout -q HEAD~1 && mlv checkout\n'
git checkout -q HEAD~1
if mlv checkout; then
	echo "demo: checkout should have refused" >&2
	exit 1
fi
run tail -n 1 data/train/csv/shard-1.csv
git checkout -q main
git checkout -q -- data/train.mlv
mlv checkout -q --force data/train

say "History: what changed, when, and the data of any revision without moving HEAD"
run mlv log model.bin
run mlv diff --stat HEAD~1 HEAD
printf '$ mlv cat HEAD~1:data/train/csv/shard-7.csv | tail -n 1\n'
mlv cat HEAD~1:data/train/csv/shard-7.csv | tail -n 1
run mlv checkout HEAD~1 -- model.bin
run mlv status
run mlv checkout HEAD

say "Hooks: git checkout brings the data along, and branches that change different files merge"
run mlv hooks install
run git checkout -q -b labels HEAD~1
echo "1,0.1,0.9,1" >>data/train/csv/shard-2.csv
run mlv add data/train
run git commit -q -am "relabel shard 2"
run git checkout -q main
run git merge -q --no-edit labels
run mlv diff --name-status HEAD~1 HEAD
run mlv status --exit-code

say "Runs: mlv run records seed, parameters, outputs, metrics, environment; no change to the trainer"
run mlv run --name baseline --seed 7 -p epochs=5 -o refnet.safetensors -- mlv-refnet --epochs 5 -q -o refnet.safetensors
run mlv run -q --name noisy --seed 7 -o noisy.safetensors -- mlv-refnet --nondeterministic --threads 4 -q -o noisy.safetensors
run mlv runs
run mlv runs show baseline
run mlv lineage refnet.safetensors

say "mlv repro runs a recorded run again in a temporary worktree and proves whether it reproduced"
run mlv repro --verify baseline
printf '$ mlv repro --verify noisy\n'
if mlv repro --verify noisy; then
	echo "demo: a nondeterministic run should not reproduce bit for bit" >&2
	exit 1
fi
run mlv metrics diff baseline noisy
run mlv env diff baseline noisy
run mlv gpus
run mlv gc --dry-run
run mlv fsck
printf '\nDemo finished: every step above ran for real.\n'
