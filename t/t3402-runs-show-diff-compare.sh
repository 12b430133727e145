#!/bin/sh

test_description='mlv runs show, log, diff and compare'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-runs.sh

IN1=sha256:1111111111111111111111111111111111111111111111111111111111111111
IN2=sha256:2222222222222222222222222222222222222222222222222222222222222222
OUT1=sha256:3333333333333333333333333333333333333333333333333333333333333333

test_expect_success 'setup' '
	test_create_repo repo &&
	(
		cd repo &&
		mlv init &&
		test_seq 1 20000 >stdout.txt &&
		echo "an error" >stderr.txt &&
		mlv add stdout.txt stderr.txt &&
		out=$(git hash-object -w stdout.txt.mlv) &&
		err=$(git hash-object -w stderr.txt.mlv) &&
		logs=$(printf "100644 blob %s\tstderr.mlv\n100644 blob %s\tstdout.mlv\n" "$err" "$out" |
			git mktree) &&
		patch=$(printf "diff --git a/x b/x\n" | git hash-object -w --stdin) &&
		RUN_TREE_EXTRA=$(printf "040000 tree %s\tlogs\n100644 blob %s\tdiff.patch" "$logs" "$patch") &&
		export RUN_TREE_EXTRA &&
		make_run 20261126-060000-aaaa0001 base "{\"lr\": 0.01, \"opt\": \"adam\", \"bs\": 32}" \
			"{\"acc\": 0.91, \"loss\": 0.31}" ok \
			"{\"seed\": 1, \"inputs\": [{\"path\": \"data/train\", \"oid\": \"$IN1\", \"size\": 10, \"kind\": \"data\", \"type\": \"dir\", \"how\": \"traced\"}], \"outputs\": [{\"path\": \"model.bin\", \"oid\": \"$OUT1\", \"size\": 9, \"kind\": \"model\", \"type\": \"file\", \"how\": \"declared\"}]}" &&
		unset RUN_TREE_EXTRA &&
		make_run 20261126-070000-bbbb0002 next "{\"lr\": 0.1, \"opt\": \"adam\", \"bs\": 32}" \
			"{\"acc\": 0.85, \"loss\": 0.5, \"f1\": 0.7}" failed \
			"{\"seed\": 2, \"inputs\": [{\"path\": \"data/train\", \"oid\": \"$IN2\", \"size\": 10, \"kind\": \"data\", \"type\": \"dir\", \"how\": \"traced\"}], \"env\": {\"hash\": \"ffff\"}}"
	)
'

test_expect_success 'show: what the run recorded' '
	(
		cd repo &&
		mlv runs show base >out &&
		grep "^run 20261126-060000-aaaa0001 (base)$" out &&
		grep "^state: *ok, exit 0$" out &&
		grep "^command: *python3 train.py$" out &&
		grep "^start: *2026-11-26 06:00:00 UTC$" out &&
		grep "^seed: *1$" out &&
		grep "^  lr  *0.01$" out &&
		grep "^  acc  *0.91$" out &&
		grep "^inputs:$" out &&
		grep "^  data/train  $IN1 .*(traced)$" out &&
		grep "^outputs:$" out &&
		grep "^  model.bin  $OUT1" out
	)
'

test_expect_success 'show --json: one object with the record and its commit' '
	(
		cd repo &&
		mlv runs show --json bbbb >out.json &&
		jq -e ".id == \"20261126-070000-bbbb0002\" and .state == \"failed\" and .live == false" out.json &&
		commit=$(git rev-parse refs/mlv/runs/20261126-070000-bbbb0002) &&
		jq -e ".commit == \"$commit\" and .run.params.lr == 0.1 and .run.seed == 2" out.json
	)
'

test_expect_success 'log: the saved stdout and stderr, from the store' '
	(
		cd repo &&
		mlv runs log aaaa >out &&
		test_cmp stdout.txt out &&
		mlv runs log --stderr aaaa >out &&
		test_cmp stderr.txt out &&
		test_expect_code 128 mlv runs log bbbb 2>err &&
		grep "has no logs/stdout.mlv" err
	)
'

test_expect_success 'log: a log whose data is not in the store is an error' '
	test_create_repo other &&
	(
		cd other &&
		mlv init &&
		git --git-dir=../repo/.git push -q "$(pwd)" "refs/mlv/*:refs/mlv/*" &&
		test_expect_code 128 mlv runs log aaaa 2>err &&
		grep "fatal:" err
	)
'

test_expect_success 'diff: what differs, one line each' '
	(
		cd repo &&
		mlv runs diff base next >out &&
		cat >expect <<-EOF &&
		name: base -> next
		seed: 1 -> 2
		env: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 -> ffff
		state: ok -> failed
		exit: 0 -> 1
		params.lr: 0.01 -> 0.1
		metrics.acc: 0.91 -> 0.85
		metrics.loss: 0.31 -> 0.5
		metrics.f1: - -> 0.7
		inputs.data/train: $IN1 -> $IN2
		outputs.model.bin: $OUT1 -> -
		EOF
		test_cmp expect out &&
		mlv runs diff base next --json >out.json &&
		jq -e ".a == \"20261126-060000-aaaa0001\" and (.differences | length) == 11" out.json &&
		jq -e ".differences[] | select(.what == \"params.lr\") | .a == 0.01 and .b == 0.1" out.json &&
		mlv runs diff base base >out &&
		test_must_be_empty out &&
		test_expect_code 1 mlv runs diff --exit-code base next >/dev/null &&
		mlv runs diff --exit-code base base
	)
'

test_expect_success 'compare: a table of the params that differ and the metrics' '
	(
		cd repo &&
		mlv runs compare base next >out &&
		head -n 1 out >header &&
		grep "^run  *name  *state  *lr  *acc  *f1  *loss$" header &&
		! grep "opt" header &&
		grep "^20261126-060000-aaaa0001  base  ok  *0.01  *0.91  *-  *0.31$" out &&
		mlv runs compare base next --metrics loss,acc >out &&
		head -n 1 out | grep "lr  *loss  *acc$" &&
		mlv runs compare base >out &&
		head -n 1 out | grep "bs" &&
		head -n 1 out | grep "opt"
	)
'

test_expect_success 'compare --md: a GitHub table' '
	(
		cd repo &&
		mlv runs compare base next --metrics acc --md >out &&
		cat >expect <<-\EOF &&
		| run | name | state | lr | acc |
		|---|---|---|---:|---:|
		| 20261126-060000-aaaa0001 | base | ok | 0.01 | 0.91 |
		| 20261126-070000-bbbb0002 | next | failed | 0.1 | 0.85 |
		EOF
		test_cmp expect out &&
		mlv runs compare base next --json >out.json &&
		jq -e ".params == [\"lr\"] and (.runs | length) == 2 and .runs[1].metrics.f1 == 0.7" out.json
	)
'

test_expect_success 'usage errors' '
	(
		cd repo &&
		test_expect_code 129 mlv runs diff base 2>err &&
		test_expect_code 129 mlv runs compare 2>err &&
		test_expect_code 129 mlv runs show a b 2>err &&
		test_expect_code 129 mlv runs compare base --md --json 2>err &&
		test_expect_code 129 mlv runs log --json 2>err
	)
'

test_done
