#!/bin/sh

test_description='mlv runs over runs recorded by mlv run'

. "$(dirname "$0")"/test-lib.sh

# wait_for <file> <pattern>: until <file> holds a line matching <pattern> (at most a minute)
wait_for () {
	n=0
	until grep -q "$2" "$1" 2>/dev/null
	do
		n=$((n + 1))
		test $n -lt 600 || { echo "timed out waiting for '$2' in $1"; return 1; }
		sleep 0.1
	done
}

test_expect_success 'setup: two runs' '
	test_create_repo repo &&
	(
		cd repo &&
		mlv init &&
		git add .mlv &&
		git commit -q -m init &&
		mlv run --no-trace --name first -p lr=0.01 -p opt=adam -- \
			sh -c "echo hello; echo oops >&2; echo \"{\\\"step\\\": 1, \\\"loss\\\": 0.5}\" >>\"\$MLV_METRICS\"" &&
		test_expect_code 3 mlv run --no-trace --name second -p lr=0.1 -- sh -c "exit 3"
	)
'

test_expect_success 'listed, newest first, without reading the commits again' '
	(
		cd repo &&
		mlv runs --json >out.json &&
		jq -e ".total == 2 and .runs[0].name == \"second\" and .runs[1].name == \"first\"" out.json &&
		jq -e ".runs[0].status.state == \"failed\" and .runs[0].status.exit == 3" out.json &&
		mlv runs --where params.lr\<0.05 --where metrics.loss=0.5 >out &&
		test_line_count = 2 out &&
		grep "first  *ok" out
	)
'

test_expect_success 'show, log and diff of recorded runs' '
	(
		cd repo &&
		mlv runs show first >out &&
		grep "^run .* (first)$" out &&
		grep "^  lr  *0.01$" out &&
		mlv runs log first >out &&
		echo hello >expect &&
		test_cmp expect out &&
		mlv runs log --stderr first >out &&
		echo oops >expect &&
		test_cmp expect out &&
		mlv runs diff first second >out &&
		grep "^params.lr: 0.01 -> 0.1$" out &&
		grep "^exit: 0 -> 3$" out
	)
'

test_expect_success 'show --follow from another process while mlv run goes' '
	(
		cd repo &&
		{ mlv run --no-trace --name live -- sh -c "echo one; while ! test -f go; do sleep 0.05; done; echo \"{\\\"step\\\": 2, \\\"acc\\\": 0.75}\" >>\"\$MLV_METRICS\"; echo two" >run.out 2>&1 & } &&
		runner=$! &&
		wait_for run.out "^one$" &&
		mlv runs --json --where state=running >out.json &&
		jq -e ".total == 1 and .runs[0].name == \"live\"" out.json &&
		{ mlv runs show --follow live >follow.out 2>&1 & } &&
		follower=$! &&
		wait_for follow.out "^one$" &&
		: >go &&
		wait $runner &&
		wait $follower &&
		grep "^two$" follow.out &&
		grep "^metrics: step=2 acc=0.75$" follow.out &&
		grep "^run .*: ok, exit 0" follow.out &&
		mlv runs --json --where name=live >out.json &&
		jq -e ".total == 1 and .runs[0].status.state == \"ok\" and .runs[0].metrics.final.acc == 0.75" out.json
	)
'

test_expect_success 'runs pushed to a bare repository are listed in a second clone' '
	git init -q --bare shared.git &&
	(
		cd repo &&
		git push -q ../shared.git HEAD:refs/heads/main "refs/mlv/*:refs/mlv/*"
	) &&
	git clone -q shared.git clone &&
	(
		cd clone &&
		git fetch -q origin "refs/mlv/*:refs/mlv/*" &&
		mlv runs --json >out.json &&
		jq -e ".total == 3" out.json &&
		mlv runs show --json first >out.json &&
		jq -e ".run.params.lr == 0.01" out.json
	)
'

test_done
