#!/bin/sh

test_description='mlv checkout <rev>, cat <rev>:<path>, ls <rev>, and bare repositories'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup: three versions' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	mkdir -p data/images/cat data/images/dog &&
	echo one >data/images/cat/001.jpg &&
	echo two >data/images/cat/002.jpg &&
	echo woof >data/images/dog/001.jpg &&
	echo m1 >model.bin &&
	mlv add -q data model.bin &&
	git add -A && test_tick && git commit -q -m v1 && git tag v1 &&
	cp -r data ../data.v1 &&
	echo ONE >data/images/cat/001.jpg &&
	echo three >data/images/cat/003.jpg &&
	echo m2 >model.bin &&
	echo extra >extra.bin &&
	mlv add -q data model.bin extra.bin &&
	git add -A && test_tick && git commit -q -m v2 && git tag v2 &&
	cp -r data ../data.v2 &&
	echo m3 >model.bin &&
	mlv add -q model.bin &&
	git add -A && test_tick && git commit -q -m v3
'

test_expect_success 'checkout <tag> restores pointers and data without moving HEAD' '
	git rev-parse HEAD >head.before &&
	mlv checkout v1 >out &&
	git rev-parse HEAD >head.after &&
	test_cmp head.before head.after &&
	echo m1 >expect && test_cmp expect model.bin &&
	diff -r ../data.v1 data &&
	git show v1:model.bin.mlv >expect && test_cmp expect model.bin.mlv &&
	git show v1:data.mlv >expect && test_cmp expect data.mlv &&
	mlv status >st &&
	! grep modified st
'

test_expect_success 'an artifact the revision lacks is removed when it is stored' '
	test_path_is_missing extra.bin &&
	test_path_is_missing extra.bin.mlv &&
	! grep -x /extra.bin .gitignore &&
	grep "1 artifact removed" out
'

test_expect_success 'checkout HEAD brings everything back' '
	mlv checkout HEAD &&
	echo m3 >expect && test_cmp expect model.bin &&
	diff -r ../data.v2 data &&
	echo extra >expect && test_cmp expect extra.bin &&
	git diff --exit-code &&
	test -z "$(git status --porcelain -- "*.mlv" .gitignore data model.bin extra.bin)"
'

test_expect_success 'only the files that differ are rewritten' '
	mlv checkout v1 &&
	mlv checkout --json HEAD >out.json &&
	jq -e ".written == 4" out.json &&
	mlv checkout --json HEAD >out.json &&
	jq -e ".written == 0 and .pointers == 0" out.json &&
	ls -i data/images/dog/001.jpg >ino.before &&
	mlv checkout HEAD~1 &&
	ls -i data/images/dog/001.jpg >ino.after &&
	test_cmp ino.before ino.after &&
	mlv checkout HEAD
'

test_expect_success 'revisions: HEAD~2, a short hash, a branch' '
	mlv checkout HEAD~2 -- model.bin &&
	echo m1 >expect && test_cmp expect model.bin &&
	mlv checkout $(git rev-parse --short HEAD~1) model.bin &&
	echo m2 >expect && test_cmp expect model.bin &&
	git branch old v1 &&
	mlv checkout old -- model.bin &&
	echo m1 >expect && test_cmp expect model.bin &&
	mlv checkout HEAD
'

test_expect_success 'a path inside a tracked directory restores that file only' '
	mlv checkout v1 -- data/images/cat/001.jpg &&
	echo one >expect && test_cmp expect data/images/cat/001.jpg &&
	test_cmp ../data.v2/images/cat/003.jpg data/images/cat/003.jpg &&
	git diff --exit-code data.mlv &&
	mlv status >st && grep "modified:.*data/images/cat/001.jpg" st &&
	mlv checkout HEAD -- data
'

test_expect_success 'local changes are not overwritten without --force' '
	echo mine >model.bin &&
	test_must_fail mlv checkout v1 2>err &&
	grep "local changes" err &&
	echo mine >expect && test_cmp expect model.bin &&
	git diff --exit-code model.bin.mlv &&
	mlv checkout -f v1 -- model.bin &&
	echo m1 >expect && test_cmp expect model.bin &&
	mlv checkout HEAD
'

test_expect_success 'an artifact whose data is not stored is kept with a warning' '
	echo new >new.bin &&
	mlv add -q new.bin &&
	echo changed >new.bin &&
	mlv checkout v2 2>err &&
	grep "warning: kept .new.bin." err &&
	echo changed >expect && test_cmp expect new.bin &&
	test_path_is_file new.bin.mlv &&
	mlv rm -f -q new.bin
'

test_expect_success 'unknown revisions and paths' '
	test_expect_code 128 mlv checkout nosuch-rev -- model.bin 2>err &&
	grep "unknown revision .nosuch-rev." err &&
	test_expect_code 128 mlv checkout v1 -- nosuch 2>err &&
	grep "nosuch" err &&
	test_expect_code 128 mlv cat nosuch:model.bin 2>err &&
	grep "unknown revision" err &&
	test_expect_code 128 mlv cat v1:extra.bin 2>err &&
	grep "not tracked by mlv in .v1." err &&
	test_expect_code 128 mlv ls nosuch-rev -- 2>err &&
	grep "unknown revision" err &&
	mlv checkout HEAD
'

test_expect_success 'a revision past the start of history is an unknown revision' '
	test_expect_code 128 mlv checkout HEAD~40 2>err &&
	grep "unknown revision .HEAD~40." err &&
	test_expect_code 128 mlv ls "HEAD^2" 2>err &&
	grep "unknown revision" err
'

test_expect_success 'a name that is both a revision and a path is ambiguous' '
	git tag model.bin v1 &&
	test_expect_code 128 mlv ls model.bin 2>err &&
	grep ambiguous err &&
	mlv ls model.bin -- >out &&
	grep "3 B" out &&
	mlv ls -- model.bin &&
	git tag -d model.bin
'

test_expect_success 'cat <rev>:<path>, also inside a tracked directory' '
	echo one >expect &&
	mlv cat v1:data/images/cat/001.jpg >actual && test_cmp expect actual &&
	echo m2 >expect &&
	mlv cat v2:model.bin >actual && test_cmp expect actual &&
	(cd data/images && mlv cat v1:./cat/002.jpg >../../actual) &&
	echo two >expect && test_cmp expect actual &&
	(cd data && mlv cat v1:data/images/dog/001.jpg >../actual) &&
	echo woof >expect && test_cmp expect actual
'

test_expect_success 'ls <rev> and ls <rev> <path>' '
	mlv ls v1 >out &&
	grep "model.bin" out && ! grep extra.bin out &&
	mlv ls v2 >out && grep extra.bin out &&
	mlv ls --json v1 data/images/cat >out.json &&
	jq -e ".files | length == 2" out.json &&
	mlv ls --json v2 data >out.json &&
	jq -e ".files | length == 4" out.json
'

test_expect_success 'a hostile pointer in history is named, not followed' '
	git checkout -q -b hostile &&
	mkdir -p evil &&
	printf "version 1\noid sha256:%064d\nsize 1\nkind data\ntype file\n" 0 >evil/x.mlv &&
	printf "not a pointer\n" >bad.mlv &&
	git add -f evil bad.mlv && test_tick && git commit -q -m hostile &&
	test_expect_code 1 mlv ls HEAD >out 2>err &&
	grep bad.mlv err &&
	test_must_fail mlv checkout HEAD -- bad 2>err &&
	grep bad.mlv err &&
	test_path_is_missing bad &&
	test_must_fail mlv checkout HEAD -- evil/x 2>err &&
	test_path_is_missing evil/x &&
	git checkout -q - &&
	rm -rf evil bad.mlv
'

test_expect_success 'a pointer that is a symlink or a tree in git is a bad pointer' '
	git checkout -q -b linky v1 &&
	ln -s model.bin.mlv link.mlv &&
	git add link.mlv && test_tick && git commit -q -m link &&
	rm link.mlv &&
	test_expect_code 1 mlv ls HEAD >out 2>err &&
	grep "link.mlv" err &&
	test_must_fail mlv checkout HEAD -- link &&
	test_path_is_missing link &&
	git checkout -q - && mlv checkout HEAD
'

test_expect_success 'detached HEAD' '
	git checkout -q --detach v1 &&
	mlv checkout HEAD &&
	echo m1 >expect && test_cmp expect model.bin &&
	mlv cat HEAD:model.bin >actual && test_cmp expect actual &&
	git checkout -q - && mlv checkout HEAD
'

test_expect_success 'a pointer whose object is not in the store: named, nothing written' '
	git checkout -q -b missing v1 &&
	printf "version 1\noid sha256:%064d\nsize 3\nkind data\ntype file\n" 7 >ghost.bin.mlv &&
	git add ghost.bin.mlv && test_tick && git commit -q -m ghost &&
	rm ghost.bin.mlv &&
	git checkout -q - &&
	test_must_fail mlv checkout missing 2>err &&
	grep "ghost.bin" err &&
	test_path_is_missing ghost.bin.mlv &&
	echo m3 >expect && test_cmp expect model.bin &&
	test_expect_code 1 mlv checkout --allow-missing missing 2>err &&
	echo m1 >expect && test_cmp expect model.bin &&
	test_path_is_missing ghost.bin &&
	mlv checkout HEAD &&
	test_path_is_missing ghost.bin.mlv
'

test_expect_success 'an artifact only mlv add wrote is never removed by checkout <rev>' '
	echo "three days of training" >model.pt &&
	mlv add -q model.pt &&
	mlv checkout v1 2>err &&
	grep "warning: kept .model.pt.*never committed or staged" err &&
	test_path_is_file model.pt && test_path_is_file model.pt.mlv &&
	grep -x /model.pt .gitignore &&
	git add model.pt.mlv &&
	mlv checkout v1 &&
	test_path_is_missing model.pt &&
	git reset -q -- model.pt.mlv &&
	mlv checkout HEAD
'

test_expect_success 'checkout <rev> makes missing parent directories, and removes them after' '
	git checkout -q -b deep &&
	mkdir -p new/sub && echo x >new/sub/x &&
	mlv add -q new/sub/x &&
	git add -A && test_tick && git commit -q -m deep &&
	git checkout -q - &&
	rm -rf new &&
	mlv checkout deep -- new/sub/x &&
	echo x >expect && test_cmp expect new/sub/x &&
	mlv checkout deep &&
	mlv checkout HEAD &&
	test_path_is_missing new
'

test_expect_success 'a name .gitignore cannot list is refused before anything is written' '
	b=$(git hash-object -w model.bin.mlv) &&
	printf "100644 %s\t%s\0" $b "$(printf "a\nb.mlv")" | git update-index -z --index-info &&
	c=$(git commit-tree $(git write-tree) -p HEAD -m evil) &&
	git reset -q &&
	test_must_fail mlv checkout $c 2>err &&
	grep "newline" err &&
	test_path_is_missing "$(printf "a\nb")" &&
	test -z "$(git status --porcelain -- "*.mlv")"
'

test_expect_success 'a huge blob named *.mlv is judged by its size, never read' '
	git checkout -q -b huge v1 &&
	dd if=/dev/zero bs=1M count=8 2>/dev/null >big.mlv &&
	git add big.mlv && test_tick && git commit -q -m huge &&
	rm big.mlv && git checkout -q - &&
	test_expect_code 1 mlv ls huge >out 2>err &&
	grep "big.mlv. is larger than 4096 bytes (8388608)" err &&
	test_must_fail mlv cat huge:big 2>err &&
	grep "larger than" err
'

test_expect_success 'a symlink-mode pointer in history is named as such' '
	test_expect_code 1 mlv ls linky 2>err &&
	grep "link.mlv. is not a regular file in git (mode 120000)" err
'

test_expect_success 'a git tree that reuses subtrees (2^30 paths) is refused at once' '
	t=$(git mktree </dev/null) &&
	b=$(git hash-object -w model.bin.mlv) &&
	t=$(printf "100644 blob %s\tx.mlv\n" $b | git mktree) &&
	for i in $(test_seq 1 30)
	do
		t=$(printf "040000 tree %s\ta\n040000 tree %s\tb\n" $t $t | git mktree) || return 1
	done &&
	c=$(git commit-tree $t -m dag) &&
	test_expect_code 128 timeout 120 mlv ls $c 2>err &&
	grep "holds more than" err &&
	test_expect_code 128 timeout 120 mlv checkout $c 2>err &&
	grep "holds more than" err &&
	test_must_fail timeout 120 mlv log $c 2>err &&
	grep "more than" err
'

test_expect_success 'diff names a conflicted pointer and exits 1' '
	git checkout -q -b conflicted v1 &&
	printf "<<<<<<< ours\nx\n=======\ny\n>>>>>>> theirs\n" >model.bin.mlv &&
	test_expect_code 1 mlv diff --name-status v1 -- model.bin >out 2>err &&
	grep "merge conflict" err &&
	git checkout -q -f - && mlv checkout -q HEAD
'

test_expect_success 'checkout --json says why it failed' '
	echo mine >model.bin &&
	test_expect_code 1 mlv checkout --json v1 -- model.bin >out.json &&
	jq -e ".conflicts == [\"model.bin\"] and .error == null" out.json &&
	mlv checkout -q -f HEAD
'

test_expect_success 'bare repository: cat, ls with a revision; no work tree commands' '
	cd .. &&
	git clone -q --bare repo bare.git &&
	cp -r repo/.git/mlv bare.git/mlv &&
	echo one >expect &&
	mlv -C bare.git cat v1:data/images/cat/001.jpg >actual &&
	test_cmp expect actual &&
	mlv -C bare.git ls v1 >out && grep model.bin out &&
	mlv -C bare.git ls v1 data/images/cat >out && grep 001.jpg out &&
	test_expect_code 128 mlv -C bare.git ls 2>err && grep "work tree" err &&
	test_expect_code 128 mlv -C bare.git status 2>err && grep "work tree" err &&
	! grep "git init" err &&
	test_expect_code 128 mlv -C bare.git checkout v1 2>err && grep "work tree" err &&
	test_expect_code 128 mlv -C bare.git cat model.bin 2>err && grep "work tree" err
'

test_done
