#!/bin/sh

test_description='mlv add: tracking files and directories'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup' '
	test_create_repo repo &&
	(cd repo && mlv init -q) &&
	generate_file repo/model.bin 9M model &&
	mkdir -p repo/data/train/sub &&
	for i in 1 2 3 4 5; do echo "row $i" >repo/data/train/r$i.csv || return 1; done &&
	generate_file repo/data/train/sub/big.bin 3M big &&
	printf "#!/bin/sh\n" >repo/data/train/run.sh && chmod +x repo/data/train/run.sh
'

test_expect_success 'add a file writes a pointer and a .gitignore entry' '
	(cd repo && mlv add --kind model model.bin >out) &&
	grep "added model.bin (model" repo/out &&
	id=$(sha256sum repo/model.bin | cut -d" " -f1) &&
	cat >expect <<-EOF &&
	version 1
	oid sha256:$id
	size 9437184
	kind model
	type file
	EOF
	test_cmp expect repo/model.bin.mlv &&
	grep -x "/model.bin" repo/.gitignore
'

test_expect_success 'git ignores the data and sees the pointer' '
	(cd repo && git status --porcelain --untracked-files=all) >status &&
	grep "model.bin.mlv" status &&
	! grep "model.bin$" status
'

test_expect_success 'add a directory from a subdirectory' '
	(cd repo/data && mlv add train >../out) &&
	grep "added train (data, 7 files" repo/out &&
	grep -x "type dir" repo/data/train.mlv &&
	grep -x "files 7" repo/data/train.mlv &&
	grep -x "/train" repo/data/.gitignore
'

test_expect_success 'the tree id is what mlv hash computes' '
	(cd repo && mlv hash data/train) >hash &&
	grep "^oid sha256:$(cut -d" " -f1 hash)$" repo/data/train.mlv
'

test_expect_success 're-adding unchanged data is a no-op' '
	(cd repo && mlv add data/train model.bin >out) &&
	test_must_be_empty repo/out
'

test_lazy_prereq STRACE 'strace -o /dev/null true'

test_expect_success STRACE 're-add trusts the stat cache and opens no data file' '
	# LeakSanitizer cannot run under ptrace.
	(cd repo && ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=open,openat -o ../trace \
		mlv add data/train model.bin) &&
	grep "index.db" trace &&
	! grep -E "r[0-9].csv|big.bin|model.bin\"" trace
'

test_expect_success 'a file changed behind the same size and mtime is noticed (ctime)' '
	cp -p repo/data/train/r1.csv saved &&
	echo "row X" >repo/data/train/r1.csv &&
	touch -r saved repo/data/train/r1.csv &&
	(cd repo && mlv add data/train >out) &&
	grep "added data/train" repo/out &&
	cp -p saved repo/data/train/r1.csv &&
	(cd repo && mlv add data/train)
'

test_expect_success 'a changed file gets a new id' '
	echo "row 6" >>repo/data/train/r5.csv &&
	old=$(grep ^oid repo/data/train.mlv) &&
	(cd repo && mlv add data/train) &&
	new=$(grep ^oid repo/data/train.mlv) &&
	test "$old" != "$new"
'

test_expect_success '--kind is kept on re-add and can be changed' '
	echo more >>repo/model.bin &&
	(cd repo && mlv add model.bin) &&
	grep -x "kind model" repo/model.bin.mlv &&
	(cd repo && mlv add --kind metric model.bin) &&
	grep -x "kind metric" repo/model.bin.mlv
'

test_expect_success '--kind rejects other values' '
	test_expect_code 129 mlv -C repo add --kind weights model.bin 2>err &&
	grep "invalid value" err
'

test_expect_success 'add --json' '
	(cd repo && mlv add --json model.bin) >json &&
	grep "\"path\":\"model.bin\"" json &&
	grep "\"changed\":false" json
'

# The store lives in .git/mlv (or, in older layouts, in .mlv).
store_kb () {
	du -sk repo/.git/mlv repo/.mlv 2>/dev/null | awk "{ s += \$1 } END { print s }"
}

test_expect_success 'the store deduplicates identical content' '
	store_kb >before &&
	cp repo/model.bin repo/model-copy.bin &&
	(cd repo && mlv add model-copy.bin) &&
	store_kb >after &&
	test $(($(cat after) - $(cat before))) -lt 100
'

test_expect_success 'an empty file and an empty directory' '
	: >repo/empty &&
	mkdir repo/emptydir &&
	(cd repo && mlv add empty emptydir) &&
	grep -x "size 0" repo/empty.mlv &&
	grep -x "files 0" repo/emptydir.mlv
'

test_expect_success 'add outside an mlv repository fails with a hint' '
	test_create_repo plain &&
	echo x >plain/f &&
	test_expect_code 128 mlv -C plain add f 2>err &&
	grep "^fatal:" err &&
	grep "^hint:.*mlv init" err
'

test_expect_success 'add without a path is a usage error' '
	test_expect_code 129 mlv -C repo add
'

test_expect_success 'the committed pointers pass git fsck' '
	(cd repo && git add -A && test_tick && git commit -q -m data && git fsck --strict)
'

test_done
