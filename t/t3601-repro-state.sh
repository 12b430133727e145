#!/bin/sh

test_description='mlv repro: the state a run started from

The uncommitted diff (a modified tracked file and an untracked source
file) is re-applied; inputs are the recorded versions, by id, whatever
the work tree holds now; the directory, seed, parameters and parameter
files are the run'"'"'s; directory outputs are compared file by file and
tensor by tensor; final metrics per key; a changed environment is named.'

. "$(dirname "$0")"/test-lib.sh

run_id () {
	mlv runs --json --where "name=$1" -n 1 | jq -r ".runs[0].id"
}

# A Python with NumPy (Debian's python3-numpy may not be the python3 on PATH).
for py in python3 /usr/bin/python3
do
	if "$py" -c "import numpy" >/dev/null 2>&1
	then
		NUMPY_PYTHON=$py
		test_set_prereq NUMPY
		break
	fi
done

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	echo one >data.txt &&
	mlv add -q data.txt &&
	write_script gen.sh <<-\EOF &&
	cat data.txt >gen.out && echo v1 >>gen.out && . ./extra.sh
	EOF
	git add -A && test_tick && git commit -q -m init &&
	test_write_lines /out /err /out.json /run.json /orig.json /patch >>.git/info/exclude
'

test_expect_success 'a dirty work tree: the modified file and the untracked source are applied again' '
	sed -i s/v1/v2/ gen.sh &&
	echo "echo extra >>gen.out" >extra.sh &&
	mlv run -q --name dirty -d data.txt -o gen.out -- ./gen.sh &&
	printf "one\nv2\nextra\n" >expect &&
	test_cmp expect gen.out &&
	git cat-file blob "refs/mlv/runs/$(run_id dirty):diff.patch" >patch &&
	grep "^+cat data.txt >gen.out && echo v2" patch &&
	grep "^+++ b/extra.sh" patch &&
	# back to the commit: the repro must bring both changes itself
	git checkout gen.sh &&
	rm extra.sh &&
	mlv repro -q --keep --json --verify dirty >out.json &&
	jq -e ".verified == true and .outputs[0].path == \"gen.out\"" out.json &&
	wt=$(jq -r .worktree out.json) &&
	test_cmp expect "$wt/gen.out" &&
	grep v2 "$wt/gen.sh" &&
	test_path_is_file "$wt/extra.sh" &&
	git worktree remove --force "$wt" &&
	test_path_is_missing extra.sh &&
	grep v1 gen.sh
'

test_expect_success 'inputs by id: the recorded version, not what the work tree holds' '
	mlv run -q --name byid -d data.txt -o copy.txt -- sh -c "cat data.txt >copy.txt" &&
	echo two >data.txt &&
	mlv add -q data.txt &&
	git commit -q -am "data two" &&
	echo three >data.txt &&
	mlv repro -q --verify --json byid >out.json &&
	jq -e ".verified == true and .inputs.checked_out == 1 and .inputs.bytes == 4" out.json &&
	echo three >expect &&
	test_cmp expect data.txt &&
	echo one >expect &&
	test_cmp expect copy.txt
'

test_expect_success 'an input whose data left the store: an error naming it, nothing run' '
	mlv run -q --name gone -d data.txt -- sh -c "cat data.txt >/dev/null" &&
	oid=$(git cat-file blob "refs/mlv/runs/$(run_id gone):run.json" | jq -r ".inputs[0].oid") &&
	git cat-file blob "refs/mlv/runs/$(run_id gone):run.json" |
	jq ".id = \"20261126-000000-00000bad\" | .name = \"lost\" | .inputs[0].oid = \"sha256:$(printf %064d 1)\"" >run.json &&
	printf "version 1\noid sha256:%064d\nsize 6\nkind data\ntype file\n" 1 >ptr &&
	blob=$(git hash-object -w run.json) &&
	env=$(git cat-file -p "refs/mlv/runs/$(run_id gone):env.json" | git hash-object -w --stdin) &&
	ptr=$(git hash-object -w ptr) &&
	sub=$(printf "100644 blob %s\tdata.txt.mlv\n" "$ptr" | git mktree) &&
	tree=$(printf "100644 blob %s\tenv.json\n040000 tree %s\tinputs\n100644 blob %s\trun.json\n" "$env" "$sub" "$blob" | git mktree) &&
	commit=$(git commit-tree -p HEAD -m "mlv run lost" "$tree") &&
	git update-ref refs/mlv/runs/20261126-000000-00000bad $commit &&
	test_expect_code 128 mlv repro -q lost 2>err &&
	cat err &&
	grep "data.txt" err &&
	grep "$(printf %064d 1)" err &&
	git worktree list >out &&
	test_line_count = 1 out
'

test_expect_success 'the directory, seed, parameters and parameter files are the run'"'"'s' '
	printf "lr: 0.5\nmodel:\n  depth: 3\n" >params.yaml &&
	git add params.yaml && git commit -q -m params &&
	mkdir src &&
	(
		cd src &&
		mlv run -q --name cfg --seed 42 --deterministic -p opt=adam -P ../params.yaml \
			-o out.txt -- sh -c "echo \"\$MLV_SEED \${PWD##*/}\" >out.txt"
	) &&
	echo "42 src" >expect &&
	test_cmp expect src/out.txt &&
	mlv repro -q --verify --json cfg >out.json &&
	new=$(jq -r .repro out.json) &&
	git cat-file blob "refs/mlv/runs/$new:run.json" >run.json &&
	git cat-file blob "refs/mlv/runs/$(run_id cfg):run.json" >orig.json &&
	for key in .params .cwd .seed .deterministic .argv .options.param_files .outputs
	do
		test "$(jq -c "$key" run.json)" = "$(jq -c "$key" orig.json)" || return 1
	done &&
	jq -e ".params == {\"lr\": 0.5, \"model.depth\": 3, \"opt\": \"adam\"}" run.json
'

test_expect_success NUMPY 'a directory of .npy files: each file that differs, tensor by tensor' '
	cat >mk.py <<-\EOF &&
	import os
	import numpy as np
	os.makedirs("arrays", exist_ok=True)
	np.save("arrays/fixed.npy", np.arange(6, dtype="<f4").reshape(2, 3))
	w = np.array([1.0, 2.0, 3.5, 4.0])
	if os.environ.get("PERTURB"):
	    w[2] += 0.5
	    np.save("arrays/extra.npy", np.zeros(2))
	np.save("arrays/w.npy", w)
	EOF
	git add mk.py && git commit -q -m mk &&
	mlv run -q --name npy -o arrays -- "$NUMPY_PYTHON" mk.py &&
	mlv repro -q --verify npy &&
	PERTURB=1 test_expect_code 1 mlv repro -q --verify npy >out &&
	cat out &&
	grep "^arrays  sha256:[0-9a-f]*  sha256:[0-9a-f]*  NO$" out &&
	grep "^    arrays/extra.npy: only in the repro$" out &&
	grep "^    arrays/w.npy: differs$" out &&
	grep "^        tensor array: 1 of 4 elements differ, max abs 0.5, max rel 0.125 (element 2)$" out &&
	! grep fixed.npy out &&
	PERTURB=1 mlv repro -q --json npy >out.json &&
	jq -e ".outputs[0].type == \"dir\" and (.outputs[0].files | length) == 2" out.json &&
	jq -e ".outputs[0].files[1] | .path == \"arrays/w.npy\" and .change == \"M\"" out.json &&
	jq -e ".outputs[0].files[1].tensors.tensors[0] | .max_abs == 0.5 and .dtype == [\"<f8\", \"<f8\"] and .shape == [[4], [4]]" out.json &&
	jq -e ".outputs[0].files[0] | .change == \"A\" and .original == null and .tensors == null" out.json
'

test_expect_success 'final metrics that differ, per key; a run without outputs is checked by them' '
	mlv run -q --name metrics -M m.json -- \
		sh -c "printf \"{\\\"acc\\\": 0.75, \\\"loss\\\": %s, \\\"deep\\\": {\\\"x\\\": 1}}\" \${LOSS:-0.5} >m.json" &&
	mlv repro -q --verify metrics >out &&
	grep "^reproduced: the same exit code and final metrics$" out &&
	LOSS=0.625 test_expect_code 1 mlv repro -q --verify metrics >out &&
	cat out &&
	grep "^final metrics that differ:$" out &&
	grep "^    loss: 0.5 -> 0.625 (+0.125, +25%)$" out &&
	! grep "acc\|deep\|sys\." out &&
	LOSS=0.625 mlv repro -q --json metrics >out.json &&
	jq -e ".metrics | length == 1 and .[0].name == \"loss\" and .[0].old == 0.5 and .[0].new == 0.625" out.json &&
	jq -e ".metrics[0].change == 0.125 and .metrics[0].relative == 0.25" out.json
'

test_expect_success 'an environment that differs is named, and does not fail --verify by itself' '
	OMP_NUM_THREADS=1 mlv run -q --name env -- true &&
	OMP_NUM_THREADS=1 mlv repro -q --verify env >out &&
	! grep "environment differs" out &&
	OMP_NUM_THREADS=2 mlv repro -q --verify env >out &&
	grep "^environment differs:$" out &&
	grep "^    vars.OMP_NUM_THREADS: 1 -> 2$" out &&
	OMP_NUM_THREADS=2 mlv repro -q --json env >out.json &&
	jq -e ".env_same == false and .env_diff[0].component == \"vars.OMP_NUM_THREADS\"" out.json
'

test_done
