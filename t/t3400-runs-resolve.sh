#!/bin/sh

test_description='mlv runs: naming a run by id, id prefix, hex prefix or name'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-runs.sh

test_expect_success 'setup' '
	test_create_repo repo &&
	(
		cd repo &&
		mlv init &&
		make_run 20261126-060512-3f9a1c0d baseline "{\"lr\": 0.01}" "{\"acc\": 0.91}" &&
		make_run 20261126-070000-3f9b0001 baseline "{\"lr\": 0.1}" "{\"acc\": 0.85}" &&
		make_run 20261127-080000-c0ffee02 big "{\"lr\": 0.001}" "{\"acc\": 0.95}" failed &&
		make_run 20261128-090000-beef0003 "" "{}" "{}"
	)
'

show_id () {
	mlv runs show --json "$1" >show.json &&
	jq -r .id show.json
}

test_expect_success 'a full id' '
	(
		cd repo &&
		echo 20261126-060512-3f9a1c0d >expect &&
		show_id 20261126-060512-3f9a1c0d >actual &&
		test_cmp expect actual
	)
'

test_expect_success 'a unique prefix of an id' '
	(
		cd repo &&
		echo 20261127-080000-c0ffee02 >expect &&
		show_id 20261127 >actual &&
		test_cmp expect actual &&
		show_id 20261126-0605 >actual &&
		echo 20261126-060512-3f9a1c0d >expect &&
		test_cmp expect actual
	)
'

test_expect_success 'a unique prefix of the hex part' '
	(
		cd repo &&
		echo 20261127-080000-c0ffee02 >expect &&
		show_id c0ff >actual &&
		test_cmp expect actual &&
		show_id c0ffee02 >actual &&
		test_cmp expect actual &&
		echo 20261128-090000-beef0003 >expect &&
		show_id beef >actual &&
		test_cmp expect actual
	)
'

test_expect_success 'a name is the latest run of that name' '
	(
		cd repo &&
		echo 20261126-070000-3f9b0001 >expect &&
		show_id baseline >actual &&
		test_cmp expect actual &&
		echo 20261127-080000-c0ffee02 >expect &&
		show_id big >actual &&
		test_cmp expect actual
	)
'

test_expect_success 'no run: the latest' '
	(
		cd repo &&
		echo 20261128-090000-beef0003 >expect &&
		mlv runs show --json >show.json &&
		jq -r .id show.json >actual &&
		test_cmp expect actual
	)
'

test_expect_success 'an ambiguous prefix lists the candidates' '
	(
		cd repo &&
		test_expect_code 128 mlv runs show 2026 2>err &&
		grep "ambiguous" err &&
		grep "20261126-060512-3f9a1c0d (baseline)" err &&
		grep "20261127-080000-c0ffee02 (big)" err &&
		test_expect_code 128 mlv runs show 20261126 2>err &&
		grep "ambiguous" err &&
		test_expect_code 128 mlv runs show 3f9 2>err &&
		grep "no run .3f9." err
	)
'

test_expect_success 'a hex prefix shared by two runs is ambiguous' '
	(
		cd repo &&
		make_run 20261129-100000-3f9a7777 other "{}" "{}" &&
		test_expect_code 128 mlv runs show 3f9a 2>err &&
		grep "ambiguous" err &&
		grep 20261126-060512-3f9a1c0d err &&
		grep 20261129-100000-3f9a7777 err &&
		echo 20261126-060512-3f9a1c0d >expect &&
		show_id 3f9a1 >actual &&
		test_cmp expect actual
	)
'

test_expect_success 'a name that is also a prefix of another run is ambiguous' '
	(
		cd repo &&
		make_run 20261130-100000-12345678 c0ff "{}" "{}" &&
		test_expect_code 128 mlv runs show c0ff 2>err &&
		grep "ambiguous" err &&
		grep "20261130-100000-12345678 (c0ff)" err &&
		grep "20261127-080000-c0ffee02 (big)" err
	)
'

test_expect_success 'a missing run' '
	(
		cd repo &&
		test_expect_code 128 mlv runs show nosuchrun 2>err &&
		grep "no run .nosuchrun." err &&
		test_expect_code 128 mlv runs show 20991231-000000-00000000 2>err &&
		grep "no run" err &&
		test_expect_code 128 mlv runs show dead 2>err &&
		grep "no run .dead." err
	)
'

test_expect_success 'no runs at all' '
	test_create_repo empty &&
	(
		cd empty &&
		mlv init &&
		mlv runs >out &&
		test_must_be_empty out &&
		test_expect_code 128 mlv runs show 2>err &&
		grep "no runs" err
	)
'

test_done
