#!/bin/sh

test_description='mlv run records the command, seed, parameters, git state, inputs and outputs'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-runs.sh

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	echo "print(1)" >train.py &&
	git add -A && test_tick && git commit -q -m init &&
	# what the tests write is not the project'"'"'s source
	test_write_lines /err /out /out.txt /out.json /refs /tree /run.json /expect /patch \
		/ptr /saved /args.txt /seed.txt /env.txt /live /first /fifo.out /ran >>.git/info/exclude
'

test_expect_success 'mlv run -- true records a run as a commit on refs/mlv/runs/<id>' '
	mlv run -- true 2>err &&
	grep "^mlv: run [0-9]\{8\}-[0-9]\{6\}-[0-9a-f]\{8\} ok (exit 0" err &&
	git for-each-ref --format="%(refname)" refs/mlv/runs >refs &&
	test_line_count = 1 refs &&
	id=$(sed "s|refs/mlv/runs/||" refs) &&
	git cat-file -p "refs/mlv/runs/$id^{tree}" >tree &&
	grep "run.json" tree && grep "env.json" tree && grep "logs" tree &&
	last_run >run.json &&
	jq -e --arg id "$id" ".id == \$id and .format == 1" run.json &&
	jq -e ".argv == [\"true\"] and .status.state == \"ok\" and .status.code == 0" run.json &&
	jq -e ".git.commit == \"$(git rev-parse HEAD)\" and .git.branch == \"main\" and .git.dirty == false" run.json &&
	jq -e "(.seed | type) == \"number\" and .deterministic == false and .reproduces == null" run.json &&
	jq -e "(.env.hash | length) == 64 and .duration >= 0 and .cwd == \"\"" run.json &&
	test "$(git rev-parse "refs/mlv/runs/$id^")" = "$(git rev-parse HEAD)" &&
	test_path_is_missing .git/mlv/runs/live/$id
'

test_expect_success 'options stop at the command: its own flags pass through' '
	mlv run -q -- sh -c "echo \"\$@\" >args.txt" sh --name x -p y &&
	echo "--name x -p y" >expect &&
	test_cmp expect args.txt &&
	mlv run -q sh -c "echo \"\$0\" >args.txt" --seed &&
	echo "--seed" >expect &&
	test_cmp expect args.txt &&
	rm args.txt
'

test_expect_success 'the seed is given or random, always recorded and exported' '
	mlv run -q --seed 42 -- sh -c "echo \$MLV_SEED \$PYTHONHASHSEED \$PL_GLOBAL_SEED >seed.txt" &&
	echo "42 42 42" >expect &&
	test_cmp expect seed.txt &&
	last_run | jq -e ".seed == 42" &&
	mlv run -q -- sh -c "echo \$MLV_SEED >seed.txt" &&
	last_run | jq -e ".seed == $(cat seed.txt)" &&
	test_expect_code 129 mlv run --seed -1 -- true &&
	test_expect_code 129 mlv run --seed 4294967296 -- true &&
	rm seed.txt
'

test_expect_success '--deterministic sets what GPU frameworks need' '
	XLA_FLAGS=--xla_foo=1 CUBLAS_WORKSPACE_CONFIG=:16:8 mlv run -q --deterministic -- \
		sh -c "env >env.txt" &&
	grep "^CUBLAS_WORKSPACE_CONFIG=:16:8$" env.txt &&
	grep "^XLA_FLAGS=--xla_foo=1 --xla_gpu_deterministic_ops=true$" env.txt &&
	grep "^TF_DETERMINISTIC_OPS=1$" env.txt &&
	grep "^NCCL_ALGO=Ring$" env.txt && grep "^NCCL_PROTO=Simple$" env.txt &&
	grep "^NCCL_NVLS_ENABLE=0$" env.txt && grep "^CUDA_DEVICE_ORDER=PCI_BUS_ID$" env.txt &&
	last_run | jq -e ".deterministic == true" &&
	mlv run -q -- sh -c "env >env.txt" &&
	! grep "^CUBLAS_WORKSPACE_CONFIG=" env.txt &&
	rm env.txt
'

test_expect_success 'parameters from -p and -P keep their types' '
	cat >params.yaml <<-\EOF &&
	# training
	lr: 0.1
	model:
	  depth: 4
	  act: "relu"   # a comment
	opt: adam
	EOF
	mlv run -q -P params.yaml -p lr=0.01 -p epochs=3 -p name=base -p flag=true -p v=1e-3 -- true &&
	last_run >run.json &&
	jq -e ".params == {\"lr\": 0.01, \"model.depth\": 4, \"model.act\": \"relu\", \"opt\": \"adam\", \"epochs\": 3, \"name\": \"base\", \"flag\": true, \"v\": 0.001}" run.json &&
	echo "{\"a\": {\"b\": [1, 2]}, \"c\": \"x\"}" >p.json &&
	mlv run -q -P p.json -- true &&
	last_run | jq -e ".params == {\"a.b\": \"[1,2]\", \"c\": \"x\"}" &&
	mlv runs show >/dev/null &&
	cat >list.yaml <<-\EOF &&
	layers:
	  - 64
	  - 32
	betas:
	- 0.9
	- 0.99
	after: 1
	EOF
	mlv run -q -P list.yaml -p zero=01 -p big=123456789012345678901234 -- true &&
	last_run | jq -e ".params == {\"layers\": \"[64, 32]\", \"betas\": \"[0.9, 0.99]\", \"after\": 1, \"zero\": \"01\", \"big\": \"123456789012345678901234\"}" &&
	mlv runs show >/dev/null &&
	test_expect_code 125 mlv run -p novalue -- true 2>err &&
	grep "novalue" err &&
	echo "- a" >bad.yaml &&
	test_expect_code 125 mlv run -P bad.yaml -- true 2>err &&
	grep "bad.yaml:1" err &&
	rm -f params.yaml p.json bad.yaml list.yaml run.json
'

test_expect_success 'text a run cannot record as JSON is refused before anything runs' '
	n=$(git for-each-ref refs/mlv/runs | wc -l) &&
	test_expect_code 125 mlv run -- printf "%s" "$(printf "a\\377b")" 2>err &&
	grep "argv\[2\] is not valid UTF-8" err &&
	test_expect_code 125 mlv run -p "k=$(printf "\\377")" -- true 2>err &&
	grep "not valid UTF-8" err &&
	test "$(git for-each-ref refs/mlv/runs | wc -l)" = $n &&
	ls .git/mlv/runs/live >live &&
	test_must_be_empty live
'

test_expect_success 'a dirty work tree: the diff, untracked source files included, is stored' '
	echo "print(2)" >train.py &&
	echo "helper" >new_module.py &&
	mlv run -q -- true &&
	last_run | jq -e ".git.dirty == true" &&
	ref=$(git for-each-ref --sort=-refname --count=1 --format="%(refname)" refs/mlv/runs) &&
	git cat-file blob "$ref:diff.patch" >patch &&
	grep "^+print(2)" patch &&
	grep "^+helper" patch &&
	grep "new_module.py" patch &&
	git checkout -q train.py && rm new_module.py &&
	head -c 1048577 /dev/zero >big.dat && echo "TOKEN=1" >.env && echo k >server.pem &&
	echo small >small.txt &&
	mlv run -q -- true 2>err &&
	grep "leaves out untracked .env (named like credentials), big.dat (larger than 1 MiB), server.pem" err &&
	ref=$(git for-each-ref --sort=-refname --count=1 --format="%(refname)" refs/mlv/runs) &&
	git cat-file blob "$ref:diff.patch" >patch &&
	grep "small.txt" patch &&
	! grep "big.dat\|\.env\|server.pem\|TOKEN" patch &&
	rm -f big.dat .env server.pem small.txt
'

test_expect_success 'outputs given with -o are stored, tracked and named in the run' '
	mlv run -q -o model.safetensors -o out -- sh -c "echo weights >model.safetensors && mkdir -p out && echo a >out/a" &&
	test_path_is_file model.safetensors.mlv &&
	grep "^kind model$" model.safetensors.mlv &&
	test_path_is_file out.mlv &&
	last_run >run.json &&
	oid=$(sed -n "s/^oid //p" model.safetensors.mlv) &&
	jq -e --arg oid "$oid" ".outputs[] | select(.path == \"model.safetensors\") | .oid == \$oid and .how == \"declared\" and .kind == \"model\"" run.json &&
	jq -e ".outputs | length == 2" run.json &&
	ref=$(git for-each-ref --sort=-refname --count=1 --format="%(refname)" refs/mlv/runs) &&
	git cat-file blob "$ref:outputs/model.safetensors.mlv" >ptr &&
	test_cmp model.safetensors.mlv ptr
'

test_expect_success 'outputs mlv could not track are refused before the command runs' '
	mkdir -p tracked && echo a >tracked/a && mlv add -q tracked &&
	ln -s tracked lnk &&
	git add train.py &&
	for o in tracked/a lnk lnk/b train.py .git/x "a
b"
	do
		test_expect_code 125 mlv run -o "$o" -- touch ran 2>err &&
		test_path_is_missing ran || return 1
	done &&
	test_expect_code 125 mlv run -o tracked/a -- true 2>err &&
	grep "inside the tracked directory tracked: give -o tracked" err &&
	test_expect_code 125 mlv run -o train.py -- true 2>err &&
	grep "tracked by git" err &&
	rm lnk
'

test_expect_success 'a reader of mlv'"'"'s output that goes away does not stop the run' '
	{ mlv run -o piped2.txt -- sh -c "i=0; while [ \$i -lt 3000 ]; do echo line \$i; i=\$((i+1)); done; echo x >piped2.txt" 2>err | head -n 1 >first; } &&
	echo "line 0" >expect && test_cmp expect first &&
	grep "ok (exit 0" err &&
	test_path_is_file piped2.txt.mlv
'

test_expect_success 'a declared input must be tracked; a tracked one is recorded by id' '
	echo data >data.csv &&
	test_expect_code 125 mlv run -d data.csv -- true 2>err &&
	grep "data.csv" err && grep "mlv add" err &&
	mlv add -q data.csv &&
	mlv run -q --no-trace -d data.csv -- true &&
	last_run >run.json &&
	jq -e ".inputs | length == 1 and .[0].path == \"data.csv\" and .[0].how == \"declared\"" run.json &&
	jq -e ".trace.mode == \"off\"" run.json
'

test_expect_success 'a run in a subdirectory runs there and records it' '
	mkdir -p sub &&
	(cd sub && mlv run -q -- sh -c "pwd >where.txt") &&
	test_path_is_file sub/where.txt &&
	last_run | jq -e ".cwd == \"sub\""
'

test_expect_success 'a failed command: recorded as failed, outputs not stored' '
	test_expect_code 3 mlv run -q -o failed.bin -- sh -c "echo x >failed.bin; exit 3" 2>err &&
	grep "not stored" err &&
	test_path_is_missing failed.bin.mlv &&
	last_run | jq -e ".status.state == \"failed\" and .status.exit == 3 and .status.code == 3 and .outputs == []"
'

test_expect_success '--json prints the record on stdout, the command output on stderr' '
	mlv run --json --name j -- sh -c "echo hello" >out.json 2>err &&
	jq -e ".code == 0 and .run.name == \"j\" and (.id | length) == 24" out.json &&
	grep "^hello$" err
'

test_expect_success 'stdout and stderr are shown and saved in the store' '
	mlv run -- sh -c "echo to-out; echo to-err >&2" >out.txt 2>err &&
	grep "^to-out$" out.txt && grep "^to-err$" err &&
	last_run >run.json &&
	jq -e ".logs.stdout.size == 7 and .logs.stderr.size == 7" run.json &&
	oid=$(jq -r ".logs.stdout.oid" run.json) &&
	mlv cat "$oid" >saved &&
	echo to-out >expect &&
	test_cmp expect saved
'

test_expect_success 'system metrics are sampled: memory, and the GPUs the command can see' '
	MLV_GPU_INVENTORY="GPU-a,Fake GPU,1024" mlv run -q -- sleep 2.5 &&
	last_run | jq -e ".metrics.series | has(\"sys.rss\") and has(\"gpu0.mem\")" &&
	last_run | jq -e ".metrics.final | has(\"sys.rss\") | not" &&
	last_run | jq -e ".gpus.count == 1 and .gpus.models == [\"Fake GPU\"]"
'

test_expect_success 'no command, or --wait without --gpus, is a usage error' '
	test_expect_code 129 mlv run &&
	test_expect_code 129 mlv run --wait -- true
'

test_done
