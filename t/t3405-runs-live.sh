#!/bin/sh

test_description='mlv runs: live runs are listed, followed from another terminal, and found crashed'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-runs.sh

ID=20261126-060000-1111aaaa
LIVE=.git/mlv/runs/live/$ID

# live_run <id> <pid>: a live directory as mlv run keeps one
live_run () {
	mkdir -p .git/mlv/runs/live/$1 &&
	jq -n --arg id "$1" --arg host "$(uname -n)" --argjson pid "$2" '{
		format: 1, id: $id, name: "going", argv: ["python3", "train.py"],
		start: "2026-11-26T06:00:00.000000Z", pid: $pid, host: $host,
		params: {lr: 0.5}}' >.git/mlv/runs/live/$1/run.json &&
	: >.git/mlv/runs/live/$1/stdout.log &&
	: >.git/mlv/runs/live/$1/stderr.log &&
	: >.git/mlv/runs/live/$1/metrics.jsonl
}

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

test_expect_success 'setup' '
	test_create_repo repo &&
	(
		cd repo &&
		mlv init &&
		make_run 20261125-060000-00000001 done "{\"lr\": 0.1}" "{\"acc\": 0.5}"
	)
'

test_expect_success 'a live run is listed as running, and shown' '
	(
		cd repo &&
		{ sleep 300 >/dev/null 2>&1 & } &&
		echo $! >sleeper.pid &&
		live_run $ID $(cat sleeper.pid) &&
		mlv runs >out &&
		grep "^$ID  going  running  2026-11-26 06:00:00  *-  *0.5" out &&
		mlv runs --json --where state=running >out.json &&
		jq -e ".total == 1 and .runs[0].id == \"$ID\" and .runs[0].status.state == \"running\"" out.json &&
		mlv runs show --json >out.json &&
		jq -e ".id == \"$ID\" and .live == true and .state == \"running\" and .commit == null" out.json &&
		mlv runs show 1111 >out &&
		grep "^state: *running$" out &&
		mlv runs show going >out &&
		grep "^run $ID (going)$" out &&
		echo "so far" >$LIVE/stdout.log &&
		mlv runs log 1111 >out &&
		echo "so far" >expect &&
		test_cmp expect out
	)
'

test_expect_success 'show --follow prints output and metrics as they come, then the final state' '
	(
		cd repo &&
		: >$LIVE/stdout.log &&
		{ mlv runs show --follow $ID >follow.out 2>follow.err & } &&
		follower=$! &&
		echo "epoch 1" >>$LIVE/stdout.log &&
		wait_for follow.out "^epoch 1$" &&
		echo "{\"t\":0.5,\"step\":1,\"m\":{\"loss\":0.9}}" >>$LIVE/metrics.jsonl &&
		wait_for follow.out "^metrics: step=1 loss=0.9$" &&
		printf "{\"t\":1.0,\"step\":2," >>$LIVE/metrics.jsonl &&
		echo "epoch 2" >>$LIVE/stdout.log &&
		wait_for follow.out "^epoch 2$" &&
		! grep "step=2" follow.out &&
		echo "\"m\":{\"loss\":0.5,\"acc\":0.7}}" >>$LIVE/metrics.jsonl &&
		wait_for follow.out "^metrics: step=2 loss=0.5 acc=0.7$" &&
		echo "a warning" >>$LIVE/stderr.log &&
		wait_for follow.err "^a warning$" &&
		make_run $ID going "{\"lr\": 0.5}" "{\"acc\": 0.7, \"loss\": 0.5}" &&
		rm -r $LIVE &&
		wait $follower &&
		grep "^run $ID: ok, exit 0 in 1.5s$" follow.out &&
		grep "^  acc  *0.7$" follow.out &&
		kill $(cat sleeper.pid)
	)
'

test_expect_success 'the stored run replaces the live one' '
	(
		cd repo &&
		mlv runs --json >out.json &&
		jq -e ".total == 2 and .runs[0].id == \"$ID\" and .runs[0].status.state == \"ok\"" out.json
	)
'

test_expect_success 'a live run whose process is gone is crashed' '
	(
		cd repo &&
		{ sh -c "exit 0" & } &&
		dead=$! &&
		wait $dead &&
		live_run 20261126-070000-2222bbbb $dead &&
		mlv runs --json --where state=crashed >out.json &&
		jq -e ".total == 1 and .runs[0].id == \"20261126-070000-2222bbbb\"" out.json &&
		echo "last words" >.git/mlv/runs/live/20261126-070000-2222bbbb/stdout.log &&
		test_expect_code 1 mlv runs show --follow 2222 >out &&
		grep "^last words$" out &&
		grep "crashed" out
	)
'

test_expect_success 'a pid reused by another process, or from another boot, is crashed' '
	(
		cd repo &&
		live_run 20261126-070000-3333cccc $$ &&
		mlv runs --json --where state=running >out.json &&
		jq -e "[.runs[].id] | index(\"20261126-070000-3333cccc\")" out.json &&
		f=.git/mlv/runs/live/20261126-070000-3333cccc/run.json &&
		jq ".pid_start = 1" $f >$f.new && mv $f.new $f &&
		mlv runs --json --where state=crashed >out.json &&
		jq -e "[.runs[].id] | index(\"20261126-070000-3333cccc\")" out.json &&
		jq "del(.pid_start) | .boot_id = \"another-boot\"" $f >$f.new && mv $f.new $f &&
		mlv runs --json --where state=crashed >out.json &&
		jq -e "[.runs[].id] | index(\"20261126-070000-3333cccc\")" out.json &&
		rm -r .git/mlv/runs/live/20261126-070000-3333cccc
	)
'

test_expect_success 'a live run on another host is running' '
	(
		cd repo &&
		live_run 20261126-080000-3333cccc 1 &&
		jq ".host = \"elsewhere\" | .pid = 999999" .git/mlv/runs/live/20261126-080000-3333cccc/run.json >tmp &&
		mv tmp .git/mlv/runs/live/20261126-080000-3333cccc/run.json &&
		mlv runs --json --where state=running >out.json &&
		jq -e ".total == 1 and .runs[0].id == \"20261126-080000-3333cccc\"" out.json
	)
'

test_expect_success 'a bad live directory is ignored with a warning' '
	(
		cd repo &&
		mkdir -p .git/mlv/runs/live/not-an-id .git/mlv/runs/live/20261126-090000-4444dddd &&
		echo "[]" >.git/mlv/runs/live/20261126-090000-4444dddd/run.json &&
		mlv runs >out 2>err &&
		grep "warning: ignoring runs/live/not-an-id: not a run id" err &&
		grep "warning: ignoring runs/live/20261126-090000-4444dddd: .*does not name it" err &&
		! grep 4444dddd out
	)
'

test_done
