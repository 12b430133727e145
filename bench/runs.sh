#!/bin/sh
# mlv runs over 10,000 stored runs: the first listing (the cache built from
# the refs), the warm listing, and a query, against git listing the same
# refs (git for-each-ref) in the same run.
#
#   bench/runs.sh                    10,000 runs, loose refs
#   MLV_BENCH_RUNS_N=50000 bench/runs.sh
#   MLV_BENCH_PACKED=1 bench/runs.sh (git pack-refs first)
#
# Target (issue 8): `mlv runs` with 10,000 runs recorded <= 0.2 s (warm).
# The runs are written with git fast-import, deterministically: run i has
# params lr, depth, opt, bs and final metrics acc, loss derived from i.
#
#   MLV              the mlv binary (default ./mlv)
#   MLV_BENCH_DIR    work directory (default bench/work)
#   MLV_BENCH_RUNS   hyperfine runs (default 10)
set -eu

. "$(dirname "$0")/lib.sh"
cd "$top"
N=${MLV_BENCH_RUNS_N:-10000}
RUNS=${MLV_BENCH_RUNS:-10}
work=${MLV_BENCH_DIR:-$top/bench/work}/runs-$N
repo=$work/repo

bench_git_env "$work"

gen() {
	rm -rf "$work"
	mkdir -p "$work/home" "$repo"
	git -C "$repo" init -q
	(cd "$repo" && "$MLV" init -q)
	python3 - "$N" <<'PYEOF' | git -C "$repo" fast-import --quiet
import json, sys
n = int(sys.argv[1])
out = sys.stdout.buffer
env = b"{}\n"
opts = ["adam", "sgd", "adamw", "lion"]
for i in range(n):
    day, sec = divmod(i * 37, 86400)
    rid = "202611%02d-%02d%02d%02d-%08x" % (1 + day, sec // 3600, sec // 60 % 60, sec % 60,
                                           (i * 2654435761) & 0xffffffff)
    start = "2026-11-%02dT%02d:%02d:%02d.000000Z" % (1 + day, sec // 3600, sec // 60 % 60, sec % 60)
    oid = "sha256:%064x" % (i * 7919)
    rec = {
        "format": 1, "id": rid, "name": "exp%d" % (i % 50),
        "argv": ["python3", "train.py", "--lr", str(0.001 * (1 + i % 100))],
        "cwd": "", "user": "alice", "host": "gpu01", "mlv_version": "0.1.0",
        "git": {"commit": "%040x" % (i * 104729), "branch": "main", "dirty": i % 7 == 0},
        "seed": i, "deterministic": True,
        "params": {"lr": 0.001 * (1 + i % 100), "depth": 2 + i % 6, "opt": opts[i % 4], "bs": 32 << (i % 3)},
        "inputs": [{"path": "data/train", "oid": "sha256:%064x" % (i % 10), "size": 1000, "kind": "data", "type": "dir", "how": "traced"}],
        "outputs": [{"path": "model.safetensors", "oid": oid, "size": 9000, "kind": "model", "type": "file", "how": "declared"}],
        "metrics": {"final": {"acc": (i * 7 % 1000) / 1000.0, "loss": (i * 13 % 1000) / 500.0},
                    "series": {"loss": {"points": 100, "first": 2.3, "last": 0.3, "min": 0.3, "max": 2.3, "last_step": 99}},
                    "sources": ["$MLV_METRICS"], "errors": 0},
        "env": {"hash": "%064x" % (i % 3)},
        "gpus": {"count": 1, "models": ["NVIDIA H100"], "uuids": ["GPU-x"], "lease": "0"},
        "status": {"state": "ok" if i % 11 else "failed", "exit": 0 if i % 11 else 1, "signal": None, "code": 0 if i % 11 else 1},
        "start": start, "end": start, "duration": 10.0 + i % 100, "peak_rss": 123456789,
        "trace": {"mode": "ptrace", "why": None}, "reproduces": None,
    }
    data = (json.dumps(rec, sort_keys=True, indent=2) + "\n").encode()
    msg = ("mlv run %s: exp%d" % (rid, i % 50)).encode()
    out.write(b"commit refs/mlv/runs/%s\n" % rid.encode())
    out.write(b"committer C O Mitter <committer@example.com> 1700000000 +0000\n")
    out.write(b"data %d\n%s\n" % (len(msg), msg))
    out.write(b"M 100644 inline run.json\ndata %d\n%s\n" % (len(data), data))
    out.write(b"M 100644 inline env.json\ndata %d\n%s\n" % (len(env), env))
PYEOF
	if [ -n "${MLV_BENCH_PACKED-}" ]; then
		git -C "$repo" pack-refs --all
	else
		# fast-import packs nothing: refs are loose, as mlv run writes them
		:
	fi
}
gen
count=$(git -C "$repo" for-each-ref refs/mlv/runs | wc -l)
echo "runs: $count ($(if [ -n "${MLV_BENCH_PACKED-}" ]; then echo packed; else echo loose; fi) refs)" >&2

cd "$repo"
db=.git/mlv/runs.db
q="--where 'params.lr>=0.01' --sort -metrics.acc -n 20"
first=$(git for-each-ref --count=1 --format='%(refname)' refs/mlv/runs)
firstc=$(git rev-parse "$first")
# the refs changed (a new run, a fetch), no run to read: the refs are compared
touch_refs="git update-ref -d $first && git update-ref $first $firstc"
hyperfine --warmup 1 --runs "$RUNS" --export-json "$work/hyperfine.json" \
	--prepare true --prepare "rm -f $db $db-wal $db-shm" --prepare true --prepare true \
	--prepare true --prepare true --prepare "$touch_refs" --prepare true \
	-n "git for-each-ref (the refs alone)" "git for-each-ref refs/mlv/runs" \
	-n "mlv runs, cold (no cache)" "$MLV runs" \
	-n "mlv runs, warm" "$MLV runs" \
	-n "mlv runs -n 20, warm" "$MLV runs -n 20" \
	-n "mlv runs $q" "$MLV runs $q" \
	-n "mlv runs --json, warm" "$MLV runs --json" \
	-n "mlv runs -n 20, refs changed" "$MLV runs -n 20" \
	-n "mlv runs show <name>" "$MLV runs show exp7" >&2
python3 - "$work/hyperfine.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = r[0]["mean"]
print("| command | mean (wall) | user + sys | ratio to git for-each-ref |")
print("|---|---:|---:|---:|")
for x in r:
    print("| %s | %.1f ms | %.1f ms | %.1fx |" % (x["command"], x["mean"] * 1000,
          (x["user"] + x["system"]) * 1000, x["mean"] / base))
PYEOF
