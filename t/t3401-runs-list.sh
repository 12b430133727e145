#!/bin/sh

test_description='mlv runs: listing, --where, --sort, -n, --json'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-runs.sh

test_expect_success 'setup' '
	test_create_repo repo &&
	(
		cd repo &&
		mlv init &&
		make_run 20261126-060000-00000001 a "{\"lr\": 0.01, \"opt\": \"adam\", \"depth\": 4}" \
			"{\"acc\": 0.91, \"loss\": 0.31}" &&
		make_run 20261126-070000-00000002 b "{\"lr\": 0.1, \"opt\": \"sgd\", \"depth\": 8}" \
			"{\"acc\": 0.85, \"loss\": 0.5}" &&
		make_run 20261126-080000-00000003 c "{\"lr\": 0.001, \"opt\": \"adamw\"}" \
			"{\"acc\": 0.95}" failed &&
		make_run 20261126-090000-00000004 d "{\"lr\": 0.05, \"opt\": \"adam\"}" \
			"{\"acc\": 0.7, \"loss\": 1}" ok "{\"seed\": 7, \"argv\": [\"python3\", \"eval.py\"], \"git\": {\"commit\": \"1111111111111111111111111111111111111111\", \"branch\": \"exp\", \"dirty\": true}}" &&
		make_run 20261126-100000-00000005 "" "{\"lr\": \"auto\"}" "{}"
	)
'

ids () {
	jq -r ".runs[].id" "$1"
}

test_expect_success 'the listing: newest first, a header, params and metrics columns' '
	(
		cd repo &&
		mlv runs >out &&
		head -n 1 out >header &&
		grep "^ID  *NAME  *STATE  *START  *DURATION" header &&
		grep "lr" header &&
		grep "acc" header &&
		test_line_count = 6 out &&
		sed -n 2p out | grep "^20261126-100000-00000005  -" &&
		sed -n 4p out | grep "^20261126-080000-00000003  c  *failed (1)  2026-11-26 08:00:00  *1.5s" &&
		tail -n 1 out | grep "^20261126-060000-00000001  a  *ok .* 0.01  *adam .*0.91"
	)
'

test_expect_success '--json: one object with the records, newest first' '
	(
		cd repo &&
		mlv runs --json >out.json &&
		jq -e ".total == 5 and (.runs | length) == 5" out.json &&
		ids out.json >actual &&
		test_write_lines 20261126-100000-00000005 20261126-090000-00000004 \
			20261126-080000-00000003 20261126-070000-00000002 20261126-060000-00000001 >expect &&
		test_cmp expect actual &&
		jq -e ".runs[4].params.lr == 0.01 and .runs[4].metrics.final.acc == 0.91" out.json &&
		jq -e ".runs[1].git.branch == \"exp\"" out.json
	)
'

test_expect_success '--where on a numeric param compares numbers' '
	(
		cd repo &&
		mlv runs --json --where "params.lr>=0.01" >out.json &&
		ids out.json >actual &&
		test_write_lines 20261126-090000-00000004 20261126-070000-00000002 \
			20261126-060000-00000001 >expect &&
		test_cmp expect actual &&
		mlv runs --json --where "params.lr < 0.05" >out.json &&
		ids out.json >actual &&
		test_write_lines 20261126-080000-00000003 20261126-060000-00000001 >expect &&
		test_cmp expect actual &&
		mlv runs --json --where "params.lr = 0.1" >out.json &&
		ids out.json >actual &&
		echo 20261126-070000-00000002 >expect &&
		test_cmp expect actual
	)
'

test_expect_success '--where on text: =, !=, ~ substring and glob' '
	(
		cd repo &&
		mlv runs --json --where "params.opt=adam" >out.json &&
		ids out.json >actual &&
		test_write_lines 20261126-090000-00000004 20261126-060000-00000001 >expect &&
		test_cmp expect actual &&
		mlv runs --json --where "params.opt!=adam" >out.json &&
		ids out.json >actual &&
		test_write_lines 20261126-080000-00000003 20261126-070000-00000002 >expect &&
		test_cmp expect actual &&
		mlv runs --json --where "params.opt~dam" >out.json &&
		ids out.json >actual &&
		test_write_lines 20261126-090000-00000004 20261126-080000-00000003 \
			20261126-060000-00000001 >expect &&
		test_cmp expect actual &&
		mlv runs --json --where "params.opt~a*w" >out.json &&
		ids out.json >actual &&
		echo 20261126-080000-00000003 >expect &&
		test_cmp expect actual &&
		mlv runs --json --where "params.lr=auto" >out.json &&
		ids out.json >actual &&
		echo 20261126-100000-00000005 >expect &&
		test_cmp expect actual &&
		mlv runs --json --where "name=\"b\"" >out.json &&
		ids out.json >actual &&
		echo 20261126-070000-00000002 >expect &&
		test_cmp expect actual
	)
'

test_expect_success '--where on the other keys' '
	(
		cd repo &&
		mlv runs --json --where status=failed >out.json &&
		ids out.json >actual &&
		echo 20261126-080000-00000003 >expect &&
		test_cmp expect actual &&
		mlv runs --json --where exit!=0 >out.json &&
		ids out.json >actual &&
		test_cmp expect actual &&
		mlv runs --json --where seed=7 --where branch=exp --where dirty=true \
			--where commit~1111 --where command~eval >out.json &&
		ids out.json >actual &&
		echo 20261126-090000-00000004 >expect &&
		test_cmp expect actual &&
		mlv runs --json --where "start>=2026-11-26T09" >out.json &&
		ids out.json >actual &&
		test_write_lines 20261126-100000-00000005 20261126-090000-00000004 >expect &&
		test_cmp expect actual &&
		mlv runs --json --where duration\>1 --where env~e3b0 --where metrics.acc\>0.9 >out.json &&
		ids out.json >actual &&
		test_write_lines 20261126-080000-00000003 20261126-060000-00000001 >expect &&
		test_cmp expect actual
	)
'

test_expect_success 'several --where must all hold; a missing key matches nothing' '
	(
		cd repo &&
		mlv runs --json --where "params.lr>=0.01" --where "metrics.acc>0.8" >out.json &&
		ids out.json >actual &&
		test_write_lines 20261126-070000-00000002 20261126-060000-00000001 >expect &&
		test_cmp expect actual &&
		mlv runs --json --where "params.depth!=4" >out.json &&
		ids out.json >actual &&
		echo 20261126-070000-00000002 >expect &&
		test_cmp expect actual
	)
'

test_expect_success '--sort, descending, missing last; -n' '
	(
		cd repo &&
		mlv runs --json --sort -metrics.acc >out.json &&
		ids out.json >actual &&
		test_write_lines 20261126-080000-00000003 20261126-060000-00000001 \
			20261126-070000-00000002 20261126-090000-00000004 \
			20261126-100000-00000005 >expect &&
		test_cmp expect actual &&
		mlv runs --json --sort metrics.loss >out.json &&
		ids out.json >actual &&
		test_write_lines 20261126-060000-00000001 20261126-070000-00000002 \
			20261126-090000-00000004 20261126-100000-00000005 \
			20261126-080000-00000003 >expect &&
		test_cmp expect actual &&
		mlv runs --json --where "params.lr>=0.01" --sort -metrics.acc -n 2 >out.json &&
		jq -e ".total == 3" out.json &&
		ids out.json >actual &&
		test_write_lines 20261126-060000-00000001 20261126-070000-00000002 >expect &&
		test_cmp expect actual &&
		mlv runs -n 1 >out &&
		test_line_count = 2 out &&
		mlv runs --sort name >out &&
		sed -n 2p out | grep "^20261126-060000-00000001"
	)
'

test_expect_success 'numbers sort as numbers, not as text' '
	(
		cd repo &&
		mlv runs --json --sort params.depth >out.json &&
		ids out.json >actual &&
		head -n 2 actual >top &&
		test_write_lines 20261126-060000-00000001 20261126-070000-00000002 >expect &&
		test_cmp expect top
	)
'

test_expect_success 'bad expressions and keys are usage errors' '
	(
		cd repo &&
		test_expect_code 128 mlv runs --where "params.lr" 2>err &&
		grep "bad expression" err &&
		test_expect_code 128 mlv runs --where "bogus=1" 2>err &&
		grep "unknown key .bogus." err &&
		test_expect_code 128 mlv runs --where "=1" 2>err &&
		grep "no key" err &&
		test_expect_code 128 mlv runs --sort -bogus 2>err &&
		grep "bad sort key" err &&
		test_expect_code 129 mlv runs --where x=1 show 2>err &&
		test_expect_code 129 mlv runs nosuch 2>err
	)
'

test_done
