#!/bin/sh

test_description='mlv rm and mlv mv'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	mkdir -p data/d sub &&
	echo one >data/d/one &&
	echo two >data/d/two &&
	generate_file model.bin 1M m &&
	generate_file keep.bin 1K k &&
	mlv add data/d model.bin keep.bin
'

test_expect_success 'rm removes data, pointer and .gitignore entry' '
	mlv rm model.bin >out &&
	grep "removed model.bin" out &&
	test_path_is_missing model.bin &&
	test_path_is_missing model.bin.mlv &&
	! grep -x "/model.bin" .gitignore &&
	grep -x "/keep.bin" .gitignore
'

test_expect_success 'rm --keep only stops tracking' '
	mlv rm --keep keep.bin.mlv &&
	test_path_is_file keep.bin &&
	test_path_is_missing keep.bin.mlv &&
	! grep -x "/keep.bin" .gitignore
'

test_expect_success 'rm refuses data that is not in the store' '
	echo edit >>data/d/one &&
	test_expect_code 128 mlv rm data/d 2>err &&
	grep "not in the store" err &&
	grep "^hint:" err &&
	test_path_is_file data/d/one &&
	test_path_is_file data/d.mlv
'

test_expect_success 'rm --force removes it anyway' '
	mlv rm --force data/d &&
	test_path_is_missing data/d &&
	test_path_is_missing data/d.mlv
'

test_expect_success 'rm of an untracked path fails' '
	test_expect_code 128 mlv rm keep.bin 2>err &&
	grep "not tracked" err
'

test_expect_success 'mv moves data, pointer and .gitignore entries' '
	mlv add keep.bin &&
	mlv mv keep.bin sub/kept.bin &&
	test_path_is_missing keep.bin &&
	test_path_is_missing keep.bin.mlv &&
	test_path_is_file sub/kept.bin &&
	test_path_is_file sub/kept.bin.mlv &&
	! grep -x "/keep.bin" .gitignore &&
	grep -x "/kept.bin" sub/.gitignore &&
	mlv status sub/kept.bin >out &&
	! grep "^modified" out
'

test_expect_success 'mv into a directory keeps the name' '
	mkdir other &&
	mlv mv sub/kept.bin other &&
	test_path_is_file other/kept.bin.mlv
'

test_expect_success 'mv refuses an existing destination' '
	echo x >taken &&
	test_expect_code 128 mlv mv other/kept.bin taken 2>err &&
	grep "exists" err &&
	test_path_is_file other/kept.bin
'

test_expect_success 'mv a directory' '
	mkdir -p ds && echo a >ds/a && mlv add ds &&
	mlv mv ds renamed &&
	test_path_is_file renamed/a &&
	test_path_is_missing ds.mlv &&
	mlv status renamed >out &&
	! grep "^modified" out
'

test_lazy_prereq STRACE 'strace -o /dev/null true'

test_expect_success STRACE 'a moved directory keeps its stat cache: status reads no file' '
	mkdir -p big/sub && for i in 1 2 3; do echo $i >big/sub/f$i || return 1; done &&
	mlv add big && mlv mv big moved &&
	ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=open,openat -o trace mlv status moved >out &&
	! grep "^modified" out &&
	! grep "moved/sub/f" trace
'

test_expect_success 'mv with a wrong number of arguments' '
	test_expect_code 129 mlv mv renamed
'

test_done
