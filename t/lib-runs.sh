# Helpers for the tests of stored runs (t34xx): make a run by hand with
# git plumbing, as `mlv run` stores one (mlv-formats(5), RUNS).

# make_run <id> [<name>] [<params JSON>] [<final metrics JSON>] [<state>] [<more fields JSON>]
# in the current repository; prints nothing.  The extra fields are merged
# over the record (e.g. '{"seed": 7, "inputs": [...]}').  Environment:
# RUN_TREE_EXTRA, lines "<mode> <type> <oid>\t<path>" added to the run's
# top tree (e.g. a "logs" subtree).
make_run () {
	mr_id=$1 mr_name=${2-} mr_params=${3:-'{}'} mr_metrics=${4:-'{}'} mr_state=${5:-ok}
	mr_extra=${6:-'{}'}
	mr_start=$(echo "$mr_id" |
		sed 's/^\(....\)\(..\)\(..\)-\(..\)\(..\)\(..\)-.*/\1-\2-\3T\4:\5:\6.000000Z/') &&
	jq -n -S --arg id "$mr_id" --arg name "$mr_name" --arg start "$mr_start" \
		--arg state "$mr_state" --argjson p "$mr_params" --argjson m "$mr_metrics" \
		--argjson x "$mr_extra" '{
		format: 1, id: $id, name: (if $name == "" then null else $name end),
		argv: ["python3", "train.py"], cwd: "", user: "alice", host: "gpu01",
		mlv_version: "0.1.0", git: {commit: null, branch: "main", dirty: false},
		seed: 1234, deterministic: false, params: $p, inputs: [], outputs: [],
		metrics: {final: $m, series: {}, sources: [], errors: 0},
		env: {hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		gpus: {count: 0, models: [], uuids: [], lease: null},
		status: {state: $state, exit: (if $state == "ok" then 0 else 1 end), signal: null,
			 code: (if $state == "ok" then 0 else 1 end)},
		start: $start, end: $start, duration: 1.5, peak_rss: 1000000,
		trace: {mode: "off", why: null}, reproduces: null} * $x' >run.json.tmp &&
	mr_blob=$(git hash-object -w run.json.tmp) &&
	mr_env=$(echo "{}" | git hash-object -w --stdin) &&
	mr_tree=$({
		printf "100644 blob %s\trun.json\n100644 blob %s\tenv.json\n" "$mr_blob" "$mr_env"
		test -z "${RUN_TREE_EXTRA-}" || printf "%s\n" "$RUN_TREE_EXTRA"
	} | git mktree) &&
	mr_commit=$(git commit-tree -m "mlv run $mr_id: ${mr_name:-python3 train.py}" "$mr_tree") &&
	git update-ref "refs/mlv/runs/$mr_id" "$mr_commit" &&
	rm -f run.json.tmp
}

# make_run_raw <id> <file>: a run whose run.json is <file>'s bytes.
make_run_raw () {
	mr_blob=$(git hash-object -w "$2") &&
	mr_tree=$(printf "100644 blob %s\trun.json\n" "$mr_blob" | git mktree) &&
	mr_commit=$(git commit-tree -m "mlv run $1" "$mr_tree") &&
	git update-ref "refs/mlv/runs/$1" "$mr_commit"
}

# last_run: the run.json of the latest run of the current repository
last_run () {
	lr_ref=$(git for-each-ref --sort=-refname --count=1 --format="%(refname)" refs/mlv/runs) &&
	git cat-file blob "$lr_ref:run.json"
}
