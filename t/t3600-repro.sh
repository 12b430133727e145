#!/bin/sh

test_description='mlv repro: a recorded run done again in a temporary worktree

The deterministic reference trainer reproduces bit for bit; with
--nondeterministic it does not, and repro --verify exits 1 naming the
output and how each tensor differs.  The temporary worktree is removed,
kept with --keep, and cleaned up after a repro that was killed.'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-refnet.sh

# The id of the run with name $1 (the latest of that name).
run_id () {
	mlv runs --json --where "name=$1" -n 1 | jq -r ".runs[0].id"
}

# No repro worktree, branch or lock is left behind.
no_repro_left () {
	git worktree list >worktrees &&
	test_line_count = 1 worktrees &&
	git branch --list "mlv-repro-*" >branches &&
	test_must_be_empty branches &&
	{ ls .git/mlv/repro 2>/dev/null || true; } >left &&
	test_must_be_empty left
}

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	echo "weights" >README &&
	git add -A && test_tick && git commit -q -m init &&
	test_write_lines /out /err /out.json /worktrees /branches /left /run.json \
		/expect /actual /pid /code.txt >>.git/info/exclude
'

test_expect_success 'the deterministic trainer reproduces bit for bit' '
	mlv run -q --name det -o model.safetensors -- mlv-refnet -q --epochs 2 --threads 4 &&
	id=$(run_id det) &&
	git add -A && test_tick && git commit -q -m "the model" &&
	cp model.safetensors.mlv ../det.mlv &&
	mlv repro --verify det >out 2>err &&
	cat out err &&
	grep "^mlv repro: running $id again in .*/mlv/repro/[0-9a-f]\{8\}$" err &&
	grep "^repro of run $id as run [0-9]\{8\}-[0-9]\{6\}-[0-9a-f]\{8\}$" out &&
	grep "^model.safetensors  sha256:[0-9a-f]\{12\}  sha256:[0-9a-f]\{12\}  yes$" out &&
	grep "^reproduced: every output is bit-identical$" out &&
	new=$(sed -n "s/^repro of run .* as run //p" out) &&
	git cat-file blob "refs/mlv/runs/$new:run.json" >run.json &&
	jq -e ".reproduces == \"$id\" and .status.code == 0" run.json &&
	git cat-file blob "refs/mlv/runs/$id:run.json" >orig.json &&
	test "$(jq .seed run.json)" = "$(jq .seed orig.json)" &&
	test "$(jq .outputs run.json)" = "$(jq .outputs orig.json)" &&
	test "$(jq .git.commit run.json)" = "$(jq .git.commit orig.json)" &&
	# the work tree was not touched
	test_cmp ../det.mlv model.safetensors.mlv &&
	no_repro_left
'

test_expect_success 'the repro is itself a run, and its lineage shows both' '
	mlv runs --json --where "reproduces=$(run_id det)" >out.json &&
	jq -e ".runs | length == 1" out.json &&
	mlv lineage model.safetensors >out &&
	grep "reproduces $(run_id det)" out
'

test_expect_success TWO_CPUS 'the nondeterministic trainer does not: exit 1 naming the output and its tensors' '
	mlv run -q --name nd -o model.safetensors -- mlv-refnet -q --epochs 2 --nondeterministic --threads 4 &&
	i=0 &&
	while test $i -lt 5
	do
		test_expect_code 1 mlv repro -q --verify nd >out 2>err && break
		# the threads may, rarely, finish in the same order: try again
		grep "^reproduced" out || return 1
		i=$((i + 1))
	done &&
	test $i -lt 5 &&
	cat out &&
	grep "^model.safetensors  sha256:[0-9a-f]\{12\}  sha256:[0-9a-f]\{12\}  NO$" out &&
	grep "^    tensor fc[12]\.[a-z]*: [1-9][0-9]* of [0-9]* elements differ, max abs [0-9.e+-]*, max rel [0-9.e+-]* (element [0-9]*)$" out &&
	grep "^not reproduced: 1 of 1 outputs differ$" out &&
	grep "^mlv repro: command: '"'"'mlv-refnet'"'"' '"'"'-q'"'"'" err &&
	! grep -v "^mlv repro: " err &&
	no_repro_left
'

test_expect_success TWO_CPUS 'without --verify the report exits 0; --json is one object' '
	i=0 &&
	while test $i -lt 5
	do
		mlv repro -q --json nd >out.json 2>err &&
		test_line_count = 1 out.json &&
		jq -e ".verified == false" out.json && break
		i=$((i + 1))
	done &&
	test $i -lt 5 &&
	jq -e ".run == \"$(run_id nd)\" and (.repro | test(\"^[0-9]{8}-[0-9]{6}-[0-9a-f]{8}$\"))" out.json &&
	jq -e ".mismatches == 1 and .code == 0 and .original_code == 0 and .worktree == null" out.json &&
	jq -e ".outputs[0].path == \"model.safetensors\" and .outputs[0].match == false" out.json &&
	jq -e ".outputs[0].original | test(\"^sha256:[0-9a-f]{64}$\")" out.json &&
	jq -e ".outputs[0].tensors.format == \"safetensors\" and .outputs[0].tensors.differing_tensors >= 1" out.json &&
	jq -e ".outputs[0].tensors.tensors[0] | (.differing > 0 and .max_abs > 0 and .max_rel > 0 and .dtype == [\"F32\", \"F32\"])" out.json &&
	jq -e ".env_same == true and .env_diff == null and .inputs.checked_out == 0" out.json
'

test_expect_success '--json of a verified repro; the command output goes to stderr' '
	mlv repro --json --verify det >out.json 2>err &&
	test_line_count = 1 out.json &&
	jq -e ".verified == true and .outputs[0].match == true and .outputs[0].tensors == null" out.json &&
	jq -e ".outputs[0].original == .outputs[0].now" out.json
'

test_expect_success '--keep leaves the worktree, detached at the run commit; later repros leave it alone' '
	mlv repro -q --keep --json det >out.json &&
	wt=$(jq -r .worktree out.json) &&
	test -d "$wt" &&
	test_path_is_file "$wt/model.safetensors" &&
	git -C "$wt" rev-parse HEAD >actual &&
	git cat-file blob "refs/mlv/runs/$(run_id det):run.json" | jq -r .git.commit >expect &&
	test_cmp expect actual &&
	test_must_fail git -C "$wt" symbolic-ref HEAD &&
	git worktree list >worktrees &&
	test_line_count = 2 worktrees &&
	git branch --list "mlv-repro-*" >branches &&
	test_must_be_empty branches &&
	mlv repro -q --verify det >out &&
	test -d "$wt" &&
	git worktree remove --force "$wt" &&
	no_repro_left
'

test_expect_success 'a repro killed with SIGKILL is cleaned up by the next one' '
	mlv run -q --name slow -- sh -c "echo \$\$ >\"\$PIDFILE\"; test -z \"\$SLOW\" || sleep 60" &&
	rm -f ../pid &&
	( PIDFILE=$TRASH_DIRECTORY/pid SLOW=1 mlv repro -q slow >/dev/null 2>&1 & echo $! >../mlv.pid ) &&
	i=0 &&
	while ! test -s ../pid && test $i -lt 100
	do
		sleep 0.1 && i=$((i + 1))
	done &&
	test -s ../pid &&
	kill -9 $(cat ../mlv.pid) &&
	kill $(cat ../pid) &&
	sleep 0.2 &&
	git worktree list >worktrees &&
	test_line_count = 2 worktrees &&
	ls .git/mlv/repro >left &&
	grep "^[0-9a-f]\{8\}\.lock$" left &&
	mlv repro -q --verify slow &&
	no_repro_left
'

test_expect_success 'the exit code is compared: a different one is not a reproduction' '
	test_expect_code 3 mlv run -q --name exit3 -- sh -c "exit \${CODE:-3}" &&
	mlv repro -q --verify exit3 >out &&
	grep "^the run recorded no outputs$" out &&
	grep "^reproduced: the same exit code and final metrics$" out &&
	CODE=4 test_expect_code 1 mlv repro -q --verify exit3 >out &&
	grep "^exit code 4, the original.s 3$" out &&
	CODE=4 mlv repro -q exit3 >out
'

test_expect_success 'errors: an unknown run, no run, a run from an unborn branch' '
	test_expect_code 128 mlv repro no-such-run 2>err &&
	grep "fatal: no run .no-such-run." err &&
	test_expect_code 129 mlv repro 2>err &&
	test_expect_code 129 mlv repro a b 2>err &&
	no_repro_left
'

test_expect_success 'a hostile input path in a stored run is refused before anything runs' '
	id=20261126-000000-0badbad0 &&
	git cat-file blob "refs/mlv/runs/$(run_id exit3):run.json" |
	jq ".id = \"$id\" | .name = \"evil\" | .inputs = [{\"path\": \"../escape\", \"oid\": \"sha256:$(printf %064d 0)\", \"size\": 1, \"kind\": \"data\", \"type\": \"file\", \"how\": \"declared\"}] | .argv = [\"touch\", \"ran\"]" >run.json &&
	blob=$(git hash-object -w run.json) &&
	env=$(git cat-file -p "refs/mlv/runs/$(run_id exit3):env.json" | git hash-object -w --stdin) &&
	tree=$(printf "100644 blob %s\tenv.json\n100644 blob %s\trun.json\n" "$env" "$blob" | git mktree) &&
	commit=$(git commit-tree -p HEAD -m "mlv run $id" "$tree") &&
	git update-ref refs/mlv/runs/$id $commit &&
	test_expect_code 128 mlv repro -q $id 2>err &&
	cat err &&
	grep "escape" err &&
	test_path_is_missing ran &&
	no_repro_left
'

test_done
