#!/bin/sh

test_description='mlv run exits as env(1) does, forwards signals and records how the command ended'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-runs.sh

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	test_write_lines /err /out /run.json /started /pid >>.git/info/exclude
'

test_expect_success 'the command'"'"'s exit status passes through' '
	test_expect_code 7 mlv run -q -- sh -c "exit 7" &&
	last_run | jq -e ".status == {\"state\": \"failed\", \"exit\": 7, \"signal\": null, \"code\": 7}"
'

test_expect_success 'not found: 127, recorded as an error' '
	test_expect_code 127 mlv run -- no-such-program-here 2>err &&
	grep "no-such-program-here" err &&
	last_run | jq -e ".status.state == \"error\" and .status.code == 127 and .argv == [\"no-such-program-here\"]"
'

test_expect_success 'not executable: 126' '
	echo "echo hi" >script.sh && chmod -x script.sh &&
	test_expect_code 126 mlv run -- ./script.sh 2>err &&
	grep "script.sh" err &&
	last_run | jq -e ".status.code == 126" &&
	test_expect_code 126 mlv run -- . 2>err
'

test_expect_success 'killed by signal N: 128+N' '
	test_expect_code 137 mlv run -q -- sh -c "kill -9 \$\$" &&
	last_run | jq -e ".status.signal == 9 and .status.code == 137 and .status.state == \"failed\""
'

test_expect_success 'SIGINT mid-run reaches the command and records an interrupted run' '
	rm -f started &&
	{ mlv run -o partial.bin -- sh -c "echo x >partial.bin; echo go >started; sleep 30" >out 2>err & } &&
	pid=$! &&
	for i in $(test_seq 1 100); do test -f started && break; sleep 0.1; done &&
	test_path_is_file started &&
	kill -INT $pid &&
	{ wait $pid; code=$?; } &&
	test $code = 130 &&
	grep "interrupted (exit 130" err &&
	last_run >run.json &&
	jq -e ".status.state == \"interrupted\" and .status.signal == 2" run.json &&
	jq -e ".outputs == []" run.json &&
	test_path_is_missing partial.bin.mlv &&
	id=$(jq -r .id run.json) &&
	test_path_is_missing .git/mlv/runs/live/$id
'

test_expect_success 'SIGTERM reaches the whole process group, grandchildren too' '
	rm -f started &&
	{ mlv run -- sh -c "sh -c \"trap \\\"echo child-term >>out2; exit 0\\\" TERM; echo go >started; sleep 30 & wait\" ; echo parent-done" >out 2>err & } &&
	pid=$! &&
	for i in $(test_seq 1 100); do test -f started && break; sleep 0.1; done &&
	kill -TERM $pid &&
	{ wait $pid; code=$?; } &&
	grep child-term out2 &&
	last_run | jq -e ".status.state == \"interrupted\"" &&
	rm -f out2
'

test_expect_success 'a command that outlives its output: the run ends with the command' '
	mlv run -q -- sh -c "sleep 3 >/dev/null 2>&1 </dev/null & echo bye" &&
	last_run | jq -e ".status.state == \"ok\" and .duration < 3"
'

test_expect_success 'peak memory and CPU are recorded' '
	mlv run -q -- sh -c "i=0; while [ \$i -lt 20000 ]; do i=\$((i+1)); done" &&
	last_run | jq -e ".peak_rss > 0"
'

test_done
