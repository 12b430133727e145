#!/bin/sh

test_description='mlv run with a command that writes 1 GB to stdout, or one endless line'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-runs.sh

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	test_write_lines /run.json /err /head /gb.sh /line.sh >>.git/info/exclude
'

test_expect_success '1 GB on stdout is saved whole, streamed, and the run ends' '
	write_script gb.sh <<-\EOF &&
	yes 0123456789abcdef | head -c 1073741824
	echo
	echo loss=0.5
	EOF
	mlv run -q --metrics-from "loss=" -- ./gb.sh 2>err &&
	last_run >run.json &&
	jq -e ".logs.stdout.size == 1073741834 and .status.state == \"ok\"" run.json &&
	jq -e ".metrics.final.loss == 0.5" run.json &&
	id=$(jq -r .id run.json) &&
	test_path_is_missing .git/mlv/runs/live/$id &&
	mlv cat "$(jq -r .logs.stdout.oid run.json)" | head -c 17 >head &&
	echo 0123456789abcdef >expect &&
	test_cmp expect head
'

test_expect_success 'one 64 MB line with no newline is saved; the metrics pass it over' '
	write_script line.sh <<-\EOF &&
	head -c 67108864 /dev/zero | tr "\000" x
	EOF
	mlv run -q --metrics-from "x" -- ./line.sh 2>err &&
	last_run >run.json &&
	jq -e ".logs.stdout.size == 67108864 and .metrics.final == {}" run.json
'

test_done
