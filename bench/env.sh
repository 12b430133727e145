#!/bin/sh
# mlv env -- <python> x.py, cold (no cache) and warm (cached), against the
# interpreter's own start-up and importlib.metadata listing the same
# distributions, in the same run.
#
#   bench/env.sh                      a venv with 300 distributions of its own
#   MLV_BENCH_ENV_DISTS=2000 bench/env.sh
#
# Target (issue 8): the Python part of the manifest <= 50 ms warm.  The
# venv is made with --system-site-packages (Debian's dist-packages, numpy
# and torch when installed, count too); its own distributions are
# dist-info directories written here with METADATA files of realistic size.
#
#   MLV              the mlv binary (default ./mlv)
#   MLV_BENCH_DIR    work directory (default bench/work)
#   MLV_BENCH_RUNS   hyperfine runs (default 20)
set -eu

. "$(dirname "$0")/lib.sh"
cd "$top"
N=${MLV_BENCH_ENV_DISTS:-300}
RUNS=${MLV_BENCH_RUNS:-20}
work=${MLV_BENCH_DIR:-$top/bench/work}/env-$N
repo=$work/repo
PY=${MLV_BENCH_PYTHON:-/usr/bin/python3}

bench_git_env "$work"
export MLV_GPU_INVENTORY=

gen() {
	rm -rf "$work"
	mkdir -p "$work/home" "$repo"
	git -C "$repo" init -q
	(cd "$repo" && "$MLV" init -q)
	echo "numpy" >"$repo/requirements.txt"
	echo "print(1)" >"$repo/x.py"
	"$PY" -m venv --without-pip --system-site-packages "$work/venv"
	site=$(echo "$work"/venv/lib/python3*/site-packages)
	"$PY" - "$site" "$N" <<'PYEOF'
import os, sys
site, n = sys.argv[1], int(sys.argv[2])
desc = "".join("Long description line %d of the package.\n" % i for i in range(200))
for i in range(n):
    d = os.path.join(site, "bench_pkg_%04d-1.%d.0.dist-info" % (i, i))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\nName: bench_pkg_%04d\nVersion: 1.%d.0\n"
                "Summary: a package\nRequires-Dist: numpy\n\n%s" % (i, i, desc))
    for name in ("RECORD", "WHEEL", "INSTALLER"):
        open(os.path.join(d, name), "w").write("x\n")
PYEOF
}
gen

VPY=$work/venv/bin/python
cache="$repo/.git/mlv/cache"
count=$(cd "$repo" && "$MLV" env --json -- "$VPY" x.py | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["python"]["packages"]))')
echo "distributions found: $count" >&2

c_start="$VPY -c pass"
c_meta="$VPY -c 'import importlib.metadata as m; [d.version for d in m.distributions()]'"
c_none="$MLV env"
c_cold="$MLV env -- $VPY x.py"
c_warm="$MLV env --json -- $VPY x.py"
c_path="$MLV env -- python3 x.py"

cd "$repo"
if command -v hyperfine >/dev/null 2>&1; then
	# --prepare pairs with the commands in order: only the cold one drops the cache.
	hyperfine --warmup 2 --runs "$RUNS" --export-json "$work/hyperfine.json" \
		--prepare true --prepare true --prepare true \
		--prepare "rm -f $cache/python-*.json" --prepare true --prepare true \
		-n "python -c pass" "$c_start" \
		-n "importlib.metadata" "$c_meta" \
		-n "mlv env (no command)" "$c_none" \
		-n "mlv env, cold" "$c_cold" \
		-n "mlv env, warm" "$c_warm" \
		-n "mlv env -- python3 (PATH), warm" "$c_path" >&2
	"$PY" - "$work/hyperfine.json" "$count" <<'PYEOF'
import json, sys
res = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
print("| %s distributions | median (ms) | mean (ms) | ± (ms) | cpu (ms) |" % sys.argv[2])
print("|---|---|---|---|---|")
for k, x in res.items():
    print("| %s | %.1f | %.1f | %.1f | %.1f |" % (k, x["median"] * 1e3, x["mean"] * 1e3,
          x["stddev"] * 1e3, (x["user"] + x["system"]) * 1e3))
w, n = res["mlv env, warm"], res["mlv env (no command)"]
print("\nwarm: %.1f ms in all (cpu %.1f ms), %.1f ms more than no command (target <= 50 ms)"
      % (w["median"] * 1e3, (w["user"] + w["system"]) * 1e3, (w["median"] - n["median"]) * 1e3))
print("cold / importlib.metadata: %.2f" % (res["mlv env, cold"]["median"] / res["importlib.metadata"]["median"]))
PYEOF
else
	t() {
		s=$(date +%s%N)
		i=0
		while [ $i -lt "$RUNS" ]; do sh -c "$1" >/dev/null; i=$((i + 1)); done
		e=$(date +%s%N)
		echo $(((e - s) / RUNS / 1000))
	}
	echo "| command | mean (us) |"
	echo "|---|---|"
	for c in "$c_start" "$c_meta" "$c_none" "$c_warm" "$c_path"; do
		echo "| $c | $(t "$c") |"
	done
	echo "| $c_cold (cold) | $(t "rm -f $cache/python-*.json; $c_cold") |"
	echo "target: warm <= 50 ms"
fi
