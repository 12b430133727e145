#!/bin/sh

test_description='mlv add: what is recorded is what was read'

. "$(dirname "$0")"/test-lib.sh

# start_appender FILE: append to FILE in the background until stopped
# (appender_pid), and return once FILE has grown.
start_appender () {
	start_appender_size_=$(wc -c <"$1") &&
	(
		while :
		do
			echo more >>"$1" || exit 1
		done
	) &
	appender_pid=$!
	start_appender_i_=0
	while test "$(wc -c <"$1")" = "$start_appender_size_"
	do
		start_appender_i_=$(($start_appender_i_ + 1))
		test $start_appender_i_ -lt 100000 || return 1
	done
}

stop_appender () {
	kill $appender_pid 2>/dev/null
	wait $appender_pid 2>/dev/null
	return 0
}

test_expect_success 'setup' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	generate_file repo/big.bin 64M big
'

# The writer appends for as long as the add runs: both readings see the
# file change, so the add refuses (and writes no pointer).  Should the
# add ever finish between two appends, the pointer must still describe
# exactly the bytes that were stored.
test_expect_success 'a file appended to while add reads it is refused' '
	test_when_finished stop_appender &&
	start_appender repo/big.bin &&
	if mlv -C repo add big.bin 2>err
	then
		size=$(sed -n "s/^size //p" repo/big.bin.mlv) &&
		mlv -C repo cat big.bin >stored &&
		test "$(wc -c <stored)" = "$size" &&
		oid=$(sed -n "s/^oid sha256://p" repo/big.bin.mlv) &&
		echo "$oid  -" >expect &&
		sha256sum <stored >actual &&
		test_cmp expect actual
	else
		test_grep "'"'big.bin'"' changed while reading" err &&
		test_path_is_missing repo/big.bin.mlv &&
		test_path_is_missing repo/.gitignore
	fi
'

test_expect_success 'inside a directory too, and the size is the bytes read' '
	mkdir repo/dir &&
	generate_file repo/dir/a 64M a &&
	echo small >repo/dir/b &&
	test_when_finished stop_appender &&
	start_appender repo/dir/a &&
	test_expect_code 128 mlv -C repo add dir 2>err &&
	stop_appender &&
	test_grep "'"'dir/a'"' changed while reading" err &&
	test_path_is_missing repo/dir.mlv &&
	mlv -C repo add dir &&
	test_grep -x "size $(($(wc -c <repo/dir/a) + 6))" repo/dir.mlv
'

test_expect_success 'a file that stays put is read once and recorded' '
	mlv -C repo add big.bin &&
	test_grep -x "size $(wc -c <repo/big.bin)" repo/big.bin.mlv
'

test_done
