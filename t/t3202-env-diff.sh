#!/bin/sh

test_description='mlv env diff: the components that differ between two runs or two files'

. "$(dirname "$0")"/test-lib.sh

run_id () {
	git for-each-ref --sort=-refname --format="%(refname:lstrip=3)" refs/mlv/runs/ | head -n 1
}

test_expect_success 'setup: three recorded runs' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	echo "numpy==2.0" >requirements.txt &&
	git add -A && git commit -q -m setup &&
	MLV_GPU_INVENTORY= CUDA_VISIBLE_DEVICES=0 mlv run --seed 1 -- true &&
	run_id >../a &&
	sleep 1 &&
	MLV_GPU_INVENTORY= CUDA_VISIBLE_DEVICES=0 mlv run --seed 2 -- true &&
	run_id >../b &&
	sleep 1 &&
	MLV_GPU_INVENTORY= CUDA_VISIBLE_DEVICES=1 mlv run --seed 1 -- true &&
	run_id >../c &&
	test "$(cat ../a)" != "$(cat ../b)" && test "$(cat ../b)" != "$(cat ../c)"
'

test_expect_success 'the stored env.json is the manifest, its hash in run.json' '
	git show "refs/mlv/runs/$(cat ../a):env.json" >a.json &&
	jq -e ".format == 1 and .vars.CUDA_VISIBLE_DEVICES == \"0\"" a.json &&
	jq -e ".seed_vars.MLV_SEED == \"1\"" a.json &&
	git show "refs/mlv/runs/$(cat ../a):run.json" >run.json &&
	test "$(jq -r .env.hash run.json)" = "$(jq -r .hash a.json)"
'

test_expect_success 'the hash is stable across two runs with other seeds' '
	git show "refs/mlv/runs/$(cat ../b):env.json" >b.json &&
	test "$(jq -r .hash a.json)" = "$(jq -r .hash b.json)" &&
	mlv env diff "$(cat ../a)" "$(cat ../b)" >out &&
	grep "^same environment" out
'

test_expect_success 'with --all the volatile differences are listed, exit still 0' '
	mlv env diff --all "$(cat ../a)" "$(cat ../b)" >out &&
	grep "^seed_vars.MLV_SEED: \"1\" -> \"2\" (volatile)$" out
'

test_expect_success 'a changed variable is named, exit 1' '
	test_expect_code 1 mlv env diff "$(cat ../a)" "$(cat ../c)" >out &&
	grep "^vars.CUDA_VISIBLE_DEVICES: \"0\" -> \"1\"$" out &&
	test_line_count = 2 out &&
	test_expect_code 1 mlv env diff --json "$(cat ../a)" "$(cat ../c)" >out.json &&
	jq -e ".same == false and (.differences | length) == 1" out.json &&
	jq -e ".differences[0] == {\"component\": \"vars.CUDA_VISIBLE_DEVICES\", \"a\": \"0\", \"b\": \"1\", \"volatile\": false}" out.json &&
	jq -e ".hash_a != .hash_b" out.json
'

test_expect_success 'runs are named by a prefix of their random part' '
	c=$(cat ../c) &&
	test_expect_code 1 mlv env diff "$(cat ../a)" "${c#*-*-}" >out &&
	grep "^vars.CUDA_VISIBLE_DEVICES" out
'

test_expect_success 'an unknown run is an error' '
	test_expect_code 128 mlv env diff "$(cat ../a)" nosuchrun 2>err &&
	grep "^fatal: .*nosuchrun" err
'

test_expect_success 'two files with --files: packages, GPU models, lock files' '
	jq ".python = {\"executable\": \"/x/python3\", \"prefix\": \"/x\", \"base_prefix\": \"/x\", \"via\": \"direct\", \"implementation\": \"cpython\", \"version\": \"3.12.1\", \"packages\": {\"numpy\": \"2.0.0\", \"torch\": \"2.5.0\"}}" a.json >p1.json &&
	jq ".python.packages.numpy = \"2.1.0\" | del(.python.packages.torch) | .python.executable = \"/y/python3\" | .gpus.models = [\"NVIDIA H200\"] | .gpus.count = 1 | .lockfiles[\"uv.lock\"] = \"sha256:00\"" p1.json >p2.json &&
	test_expect_code 1 mlv env diff --files p1.json p2.json >out &&
	cat >expect <<-\EOF &&
	gpus.count: 0 -> 1
	gpus.models: [] -> ["NVIDIA H200"]
	lockfiles.uv.lock: (none) -> "sha256:00"
	python.packages.numpy: "2.0.0" -> "2.1.0"
	python.packages.torch: "2.5.0" -> (none)
	EOF
	sed 1d out >actual &&
	test_cmp expect actual &&
	test_expect_code 1 mlv env diff --all --files p1.json p2.json >out &&
	grep "^python.executable: \"/x/python3\" -> \"/y/python3\" (volatile)$" out
'

test_expect_success 'the hash of a stored manifest can be recomputed from it' '
	mlv env diff --json --files a.json a.json >out.json &&
	jq -e ".same and .hash_a == \"$(jq -r .hash a.json)\"" out.json
'

test_expect_success 'a file that is no manifest is an error naming it' '
	echo "{\"format\": 2}" >bad.json &&
	test_expect_code 128 mlv env diff --files a.json bad.json 2>err &&
	grep "bad.json" err &&
	echo "not json" >bad.json &&
	test_expect_code 128 mlv env diff --files a.json bad.json 2>err &&
	grep "bad.json" err &&
	test_expect_code 128 mlv env diff --files a.json missing.json 2>err &&
	grep "missing.json" err
'

test_expect_success 'two operands are needed' '
	test_expect_code 129 mlv env diff "$(cat ../a)" 2>err &&
	grep "name two runs" err
'

test_done
