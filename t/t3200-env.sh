#!/bin/sh

test_description='mlv env: the environment manifest, its hash, variables and redaction'

. "$(dirname "$0")"/test-lib.sh

# The manifest of "true" with a known GPU inventory (none).
manifest () {
	MLV_GPU_INVENTORY= mlv env --json "$@"
}

test_expect_success 'setup' '
	test_create_repo repo &&
	(
		cd repo &&
		mlv init -q &&
		echo "numpy==2.0" >requirements.txt &&
		echo "[project]" >pyproject.toml &&
		mkdir -p src/requirements &&
		echo "torch" >src/requirements-gpu.txt &&
		echo "scipy" >src/requirements/extra.txt &&
		echo "not a lock" >src/notes.txt &&
		git add -A && git commit -q -m setup
	)
'

test_expect_success 'every component is there' '
	(cd repo && manifest -- true) >m.json &&
	jq -e ".format == 1 and (.hash | test(\"^[0-9a-f]{64}$\"))" m.json &&
	jq -e "(.host | type) == \"string\"" m.json &&
	jq -e ".kernel.name == \"Linux\" and (.kernel.release | length) > 0 and (.kernel.machine | length) > 0" m.json &&
	jq -e "(.cpu.count | type) == \"number\" and .cpu.count >= 1 and .cpu.usable >= 1" m.json &&
	jq -e ".gpus.count == 0 and .gpus.models == [] and .gpus.why != null" m.json &&
	jq -e ".python == null" m.json &&
	jq -e "(.vars | type) == \"object\" and (.seed_vars | type) == \"object\"" m.json &&
	jq -e "(.lockfiles | type) == \"object\"" m.json
'

test_expect_success 'os from os-release, libc from glibc' '
	if test -r /etc/os-release
	then
		ID=$(. /etc/os-release && echo "$ID") &&
		jq -e --arg id "$ID" ".os.id == \$id" m.json
	fi &&
	if command -v getconf >/dev/null && getconf GNU_LIBC_VERSION >/dev/null 2>&1
	then
		v=$(getconf GNU_LIBC_VERSION | sed "s/^glibc //") &&
		jq -e --arg v "$v" ".libc.name == \"glibc\" and .libc.version == \$v" m.json
	fi
'

test_expect_success 'lock files at the top and in the command directory, by id' '
	(cd repo && manifest -- true) >top.json &&
	jq -e ".lockfiles | keys == [\"pyproject.toml\", \"requirements.txt\"]" top.json &&
	id=$(sha256sum repo/requirements.txt | cut -d" " -f1) &&
	jq -e --arg id "sha256:$id" ".lockfiles[\"requirements.txt\"] == \$id" top.json &&
	(cd repo/src && manifest -- true) >src.json &&
	jq -e ".lockfiles | keys == [\"pyproject.toml\", \"requirements.txt\", \"src/requirements-gpu.txt\", \"src/requirements/extra.txt\"]" src.json
'

test_expect_success SYMLINKS 'a symlinked lock file is not followed' '
	test_when_finished "rm -f repo/poetry.lock" &&
	ln -s /etc/passwd repo/poetry.lock &&
	(cd repo && manifest -- true) >m.json &&
	jq -e ".lockfiles[\"poetry.lock\"] == null" m.json
'

test_expect_success 'the hash is stable across two calls' '
	(cd repo && manifest -- true) >a.json &&
	(cd repo && manifest -- true) >b.json &&
	jq -r .hash a.json >ha && jq -r .hash b.json >hb &&
	test_cmp ha hb
'

test_expect_success 'the hash leaves out the host and the seed' '
	(cd repo && MLV_SEED=1 PYTHONHASHSEED=1 manifest -- true) >s1.json &&
	(cd repo && MLV_SEED=2 PYTHONHASHSEED=2 manifest -- true) >s2.json &&
	jq -e ".seed_vars == {\"MLV_SEED\": \"1\", \"PYTHONHASHSEED\": \"1\"}" s1.json &&
	jq -e ".vars.PYTHONHASHSEED == null" s1.json &&
	test "$(jq -r .hash s1.json)" = "$(jq -r .hash s2.json)" &&
	test "$(jq -r .hash s1.json)" = "$(jq -r .hash a.json)"
'

test_expect_success 'PYTHONHASHSEED set apart from the seed is hashed' '
	(cd repo && MLV_SEED=1 PYTHONHASHSEED=0 manifest -- true) >p.json &&
	jq -e ".vars.PYTHONHASHSEED == \"0\" and .seed_vars == {\"MLV_SEED\": \"1\"}" p.json &&
	test "$(jq -r .hash p.json)" != "$(jq -r .hash a.json)"
'

test_expect_success 'the hash changes with an allow-listed variable' '
	(cd repo && CUDA_VISIBLE_DEVICES=0 manifest -- true) >c0.json &&
	(cd repo && CUDA_VISIBLE_DEVICES=1 manifest -- true) >c1.json &&
	(cd repo && OMP_NUM_THREADS=4 manifest -- true) >o4.json &&
	jq -e ".vars.CUDA_VISIBLE_DEVICES == \"0\"" c0.json &&
	jq -e ".vars.OMP_NUM_THREADS == \"4\"" o4.json &&
	jq -r .hash a.json c0.json c1.json o4.json | sort -u >hashes &&
	test_line_count = 4 hashes
'

test_expect_success 'variables outside the list are not recorded, unless named' '
	(cd repo && SOME_SETTING=x manifest -- true) >m.json &&
	jq -e ".vars.SOME_SETTING == null and (.vars | has(\"SOME_SETTING\") | not)" m.json &&
	test "$(jq -r .hash m.json)" = "$(jq -r .hash a.json)" &&
	(cd repo && SOME_SETTING=x manifest --env-var SOME_SETTING --env-var UNSET_ONE -- true) >n.json &&
	jq -e ".vars.SOME_SETTING == \"x\"" n.json &&
	jq -e "(.vars | has(\"UNSET_ONE\")) and .vars.UNSET_ONE == null" n.json &&
	test "$(jq -r .hash n.json)" != "$(jq -r .hash a.json)"
'

test_expect_success 'Terraform variables are not TensorFlow variables' '
	(cd repo && TF_VAR_db=x TF_CPP_MIN_LOG_LEVEL=2 manifest -- true) >m.json &&
	jq -e ".vars.TF_CPP_MIN_LOG_LEVEL == \"2\" and (.vars | has(\"TF_VAR_db\") | not)" m.json
'

test_expect_success 'credentials are redacted, also when named with --env-var' '
	(cd repo && HF_TOKEN=s3cr3t-hf TORCH_HUB_TOKEN=s3cr3t-torch \
		AWS_SECRET_ACCESS_KEY=s3cr3t-aws MY_API_KEY=s3cr3t-api \
		TOKENIZERS_PARALLELISM=false HF_ENDPOINT=https://user:s3cr3t-url@hf.example/x \
		HF_HOME=/data/hf \
		manifest --env-var AWS_SECRET_ACCESS_KEY --env-var MY_API_KEY -- true) >m.json &&
	jq -e ".vars.HF_TOKEN == \"<redacted>\" and .vars.TORCH_HUB_TOKEN == \"<redacted>\"" m.json &&
	jq -e ".vars.AWS_SECRET_ACCESS_KEY == \"<redacted>\" and .vars.MY_API_KEY == \"<redacted>\"" m.json &&
	jq -e ".vars.HF_ENDPOINT == \"<redacted>\"" m.json &&
	jq -e ".vars.TOKENIZERS_PARALLELISM == \"false\" and .vars.HF_HOME == \"/data/hf\"" m.json &&
	! grep s3cr3t m.json
'

test_expect_success 'GPUs: models, compute capability and memory; UUIDs are volatile' '
	inv="GPU-aaaa1111,NVIDIA H100 80GB HBM3,81559,9.0,00000000:1B:00.0;GPU-bbbb2222,NVIDIA H100 80GB HBM3,81559,9.0,00000000:2B:00.0" &&
	(cd repo && MLV_GPU_INVENTORY="$inv" mlv env --json -- true) >g.json &&
	jq -e ".gpus.count == 2 and .gpus.models == [\"NVIDIA H100 80GB HBM3\", \"NVIDIA H100 80GB HBM3\"]" g.json &&
	jq -e ".gpus.compute_capabilities == [\"9.0\", \"9.0\"] and .gpus.memory[0] == 81559 * 1048576" g.json &&
	jq -e ".gpus.uuids == [\"GPU-aaaa1111\", \"GPU-bbbb2222\"]" g.json &&
	(cd repo && MLV_GPU_INVENTORY="$inv" CUDA_VISIBLE_DEVICES=GPU-aaaa1111 mlv env --json -- true) >ga.json &&
	(cd repo && MLV_GPU_INVENTORY="$inv" CUDA_VISIBLE_DEVICES=GPU-bbbb2222 mlv env --json -- true) >gb.json &&
	jq -e ".gpus.count == 1 and .gpus.uuids == [\"GPU-aaaa1111\"]" ga.json &&
	jq -e ".gpus.count == 1 and .gpus.uuids == [\"GPU-bbbb2222\"]" gb.json &&
	test "$(jq -r .hash ga.json)" = "$(jq -r .hash gb.json)" &&
	(cd repo && MLV_GPU_INVENTORY="$inv" CUDA_VISIBLE_DEVICES=1 mlv env --json -- true) >g1.json &&
	jq -e ".gpus.count == 1 and .gpus.uuids == [\"GPU-bbbb2222\"]" g1.json &&
	(cd repo && MLV_GPU_INVENTORY="$inv" CUDA_VISIBLE_DEVICES= mlv env --json -- true) >g0.json &&
	jq -e ".gpus.count == 0" g0.json &&
	test "$(jq -r .hash g.json)" != "$(jq -r .hash ga.json)"
'

test_expect_success 'a malformed MLV_GPU_INVENTORY is an error' '
	test_expect_code 128 env MLV_GPU_INVENTORY=x mlv env 2>err &&
	grep "MLV_GPU_INVENTORY" err
'

test_expect_success 'works outside a repository, with no lock files' '
	mkdir -p outside &&
	(cd outside && GIT_CEILING_DIRECTORIES=$(pwd)/.. && export GIT_CEILING_DIRECTORIES &&
	 manifest -- true) >m.json &&
	jq -e ".lockfiles == {}" m.json
'

test_expect_success 'human output names every component and the hash' '
	(cd repo && HF_TOKEN=s3cr3t MLV_GPU_INVENTORY= mlv env -- true) >out &&
	for c in hash host os kernel libc cpu gpus python lockfiles vars
	do
		grep "^$c " out || return 1
	done &&
	grep "HF_TOKEN=<redacted>" out &&
	! grep s3cr3t out
'

test_expect_success 'a command with options of its own needs no --' '
	(cd repo && MLV_GPU_INVENTORY= mlv env true --json) >out &&
	grep "^hash " out
'

test_done
