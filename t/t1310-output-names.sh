#!/bin/sh

test_description='file names in output: quoted for humans, unambiguous in JSON'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup' '
	test_create_repo repo &&
	mlv -C repo init -q
'

test_expect_success 'a name with a newline cannot forge a line of ls or status' '
	mkdir repo/e &&
	printf x >"repo/e/$(printf "n\nnothing to report")" &&
	mlv -C repo add -q e &&
	mlv -C repo ls e >out &&
	test_line_count = 1 out &&
	test_grep -F "\"e/n\\nnothing to report\"" out &&
	printf y >"repo/e/$(printf "n\nnothing to report")" &&
	mlv -C repo status >out &&
	test_grep ! "^nothing to report" out
'

test_expect_success 'JSON keeps a byte that is not UTF-8 apart from a backslash' '
	mkdir "repo/$(printf "d\377")" "repo/d\\xff" &&
	echo 1 >"repo/$(printf "d\377")/x" &&
	echo 2 >"repo/d\\xff/y" &&
	mlv -C repo add -q "$(printf "d\377")" "d\\xff" &&
	mlv -C repo ls --json >out &&
	jq -r ".artifacts[].path" out | grep "^d" | sort >paths &&
	printf "%s\n" "d\\\\xff" "d\\xff" | sort >expect &&
	test_cmp expect paths
'

test_done
