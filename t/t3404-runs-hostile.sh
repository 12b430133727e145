#!/bin/sh

test_description='mlv runs: refs and records from other people are not trusted'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-runs.sh

GOOD=20261126-060000-00000001

ids () {
	mlv runs --json >out.json 2>err &&
	jq -r ".runs[].id" out.json
}

test_expect_success 'setup' '
	test_create_repo repo &&
	(
		cd repo &&
		mlv init &&
		make_run $GOOD good "{\"lr\": 1}" "{}" &&
		echo $GOOD >../good
	)
'

test_expect_success 'a ref whose name is not a run id is ignored with a warning, never opened' '
	(
		cd repo &&
		commit=$(git rev-parse refs/mlv/runs/$GOOD) &&
		echo $commit >".git/refs/mlv/runs/a..b" &&
		echo $commit >".git/refs/mlv/runs/20261126-060000-0000000Z" &&
		printf "%s refs/mlv/runs/../../../../etc/passwd\n" $commit >>.git/packed-refs &&
		ids >actual &&
		test_cmp ../good actual &&
		grep "warning: ignoring refs/mlv/runs/a\.\.b: not a run id" err &&
		grep "warning: ignoring refs/mlv/runs/20261126-060000-0000000Z: not a run id" err &&
		grep "warning: ignoring refs/mlv/runs/\.\./\.\./\.\./\.\./etc/passwd: not a run id" err &&
		test_expect_code 128 mlv runs show a..b 2>err &&
		grep "no run" err &&
		rm ".git/refs/mlv/runs/a..b" ".git/refs/mlv/runs/20261126-060000-0000000Z" &&
		sed -i "/etc\/passwd/d" .git/packed-refs &&
		git pack-refs --all &&
		ids >actual &&
		test_cmp ../good actual &&
		test_must_be_empty err
	)
'

test_expect_success 'a control character in a ref name is not printed' '
	(
		cd repo &&
		commit=$(git rev-parse refs/mlv/runs/$GOOD) &&
		mkdir -p .git/refs/mlv/runs &&
		echo $commit >".git/refs/mlv/runs/$(printf "x\033[2Jy")" &&
		ids >actual &&
		test_cmp ../good actual &&
		grep "ignoring refs/mlv/runs/x?\[2Jy" err &&
		! grep "$(printf "\033")" err &&
		rm .git/refs/mlv/runs/x*
	)
'

test_expect_success 'a symlink, a subdirectory, a symbolic ref: ignored' '
	(
		cd repo &&
		echo secret >../outside &&
		mkdir -p .git/refs/mlv/runs &&
		ln -s ../../../../../outside .git/refs/mlv/runs/20261126-070000-00000002 &&
		mkdir .git/refs/mlv/runs/sub &&
		git rev-parse refs/mlv/runs/$GOOD >.git/refs/mlv/runs/sub/20261126-080000-00000003 &&
		echo "ref: refs/mlv/runs/$GOOD" >.git/refs/mlv/runs/20261126-090000-00000004 &&
		ids >actual &&
		test_cmp ../good actual &&
		grep "ignoring refs/mlv/runs/20261126-070000-00000002: not a ref to an object" err &&
		grep "ignoring refs/mlv/runs/sub: not a run id" err &&
		grep "ignoring refs/mlv/runs/20261126-090000-00000004: not a ref to an object" err &&
		rm -r .git/refs/mlv/runs/20261126-070000-00000002 .git/refs/mlv/runs/sub \
			.git/refs/mlv/runs/20261126-090000-00000004
	)
'

test_expect_success 'refs/mlv/runs a symlink: its refs are not followed' '
	(
		cd repo &&
		mkdir -p ../elsewhere/runs &&
		git rev-parse refs/mlv/runs/$GOOD >../elsewhere/runs/20261126-070000-00000009 &&
		mv .git/refs/mlv/runs .git/refs/mlv/runs.real &&
		ln -s ../../../../elsewhere/runs .git/refs/mlv/runs &&
		ids >actual &&
		test_cmp ../good actual &&
		grep "warning: ignoring refs/mlv/runs: .*symbolic link" err &&
		rm .git/refs/mlv/runs &&
		mv .git/refs/mlv/runs.real .git/refs/mlv/runs &&
		ids >actual &&
		test_cmp ../good actual
	)
'

# bad_run <id> <file> <message>: a run whose run.json is <file> is ignored with <message>
bad_run () {
	make_run_raw "$1" "$2" &&
	ids >actual &&
	test_cmp ../good actual &&
	grep "warning: ignoring refs/mlv/runs/$1: .*$3" err &&
	test_expect_code 128 mlv runs show "$1" 2>err &&
	git update-ref -d "refs/mlv/runs/$1" &&
	ids >actual &&
	test_must_be_empty err
}

test_expect_success 'run.json that is not a JSON object' '
	(
		cd repo &&
		echo "[1, 2]" >bad.json &&
		bad_run 20261127-000000-00000001 bad.json "run.json is not a JSON object" &&
		echo "{\"format\": 1," >bad.json &&
		bad_run 20261127-000000-00000002 bad.json "run.json:" &&
		printf "{\"a\": 1, \"a\": 2}" >bad.json &&
		bad_run 20261127-000000-00000003 bad.json "duplicate"
	)
'

test_expect_success 'a 100 MB run.json is not read' '
	(
		cd repo &&
		{
			printf "{\"format\": 1, \"pad\": \"" &&
			dd if=/dev/zero bs=1048576 count=100 2>/dev/null | tr "\0" "x" &&
			printf "\"}"
		} >big.json &&
		bad_run 20261127-000000-00000004 big.json "holds 104857[0-9]* bytes, more than 16777216" &&
		rm big.json
	)
'

test_expect_success 'missing and mistyped fields' '
	(
		cd repo &&
		git cat-file blob refs/mlv/runs/$GOOD:run.json >good.json &&
		jq "del(.id)" good.json >bad.json &&
		bad_run 20261127-000000-00000005 bad.json "\"id\" is missing" &&
		bad_run 20261127-000000-00000006 good.json "\"id\" is $GOOD, not 20261127-000000-00000006" &&
		jq ".id = \"20261127-000000-00000007\" | del(.status)" good.json >bad.json &&
		bad_run 20261127-000000-00000007 bad.json "\"status.state\" is missing" &&
		jq ".id = \"20261127-000000-00000008\" | .params = [1]" good.json >bad.json &&
		bad_run 20261127-000000-00000008 bad.json "\"params\" is not an object" &&
		jq ".id = \"20261127-000000-00000009\" | .params = {\"x\": {\"y\": 1}}" good.json >bad.json &&
		bad_run 20261127-000000-00000009 bad.json "\"params.x\" is not a scalar" &&
		jq ".id = \"20261127-000000-0000000a\" | .outputs = [{\"path\": \"m\", \"oid\": \"sha256:zz\"}]" \
			good.json >bad.json &&
		bad_run 20261127-000000-0000000a bad.json "\"outputs\"\[0\] has a bad oid" &&
		jq ".id = \"20261127-000000-0000000b\" | .format = 2" good.json >bad.json &&
		bad_run 20261127-000000-0000000b bad.json "format 2 is not supported" &&
		jq ".id = \"20261127-000000-0000000c\" | .start = 5" good.json >bad.json &&
		bad_run 20261127-000000-0000000c bad.json "\"start\" is missing or not a string"
	)
'

test_expect_success 'a ref to a blob, or to a missing object' '
	(
		cd repo &&
		blob=$(echo hi | git hash-object -w --stdin) &&
		mkdir -p .git/refs/mlv/runs &&
		echo $blob >.git/refs/mlv/runs/20261127-000000-0000000d &&
		ids >actual &&
		test_cmp ../good actual &&
		grep "ignoring refs/mlv/runs/20261127-000000-0000000d: .*names a blob, not a commit" err &&
		echo 1234567890123456789012345678901234567890 >.git/refs/mlv/runs/20261127-000000-0000000d &&
		ids >actual &&
		test_cmp ../good actual &&
		grep "ignoring refs/mlv/runs/20261127-000000-0000000d: .*cannot read commit" err &&
		rm .git/refs/mlv/runs/20261127-000000-0000000d
	)
'

test_expect_success 'a bad run made good is listed' '
	(
		cd repo &&
		echo "[]" >bad.json &&
		make_run_raw 20261127-000000-0000000e bad.json &&
		ids >actual &&
		test_cmp ../good actual &&
		make_run 20261127-000000-0000000e fixed "{}" "{}" &&
		ids >actual &&
		test_must_be_empty err &&
		test_write_lines 20261127-000000-0000000e $GOOD >expect &&
		test_cmp expect actual
	)
'

test_done
