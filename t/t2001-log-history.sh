#!/bin/sh

test_description='mlv log: merges, detached HEAD, renames, bad pointers, shallow and bare clones'

. "$(dirname "$0")"/test-lib.sh

commit () {
	test_tick &&
	git add -A &&
	git commit -q -m "$1"
}

# A pointer file written by hand (its object need not be in the store).
write_pointer () {
	printf "version 1\noid sha256:%s\nsize %s\nkind data\ntype %s\n" "$2" "$3" "$4" >"$1" &&
	if test "$4" = dir; then echo "files $5" >>"$1"; fi
}

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	commit init &&
	echo one >data.bin &&
	mlv add data.bin &&
	commit "first data" &&
	echo "two two" >data.bin &&
	mlv add data.bin &&
	commit "second data"
'

test_expect_success 'a merge that brought in a change is one entry (first parent)' '
	git checkout -q -b side &&
	echo "side side side" >data.bin &&
	mlv add data.bin &&
	commit "side change" &&
	git checkout -q main &&
	mlv checkout &&
	echo other >other.txt &&
	commit "main change" &&
	test_tick &&
	git merge -q --no-ff -m "merge side" side &&
	mlv log data.bin >out &&
	grep "^    merge side$" out &&
	! grep "side change" out &&
	grep -c "^commit " out >n &&
	echo 3 >expect &&
	test_cmp expect n &&
	mlv log side -- data.bin >out &&
	grep "^    side change$" out
'

test_expect_success 'detached HEAD' '
	git checkout -q --detach HEAD~1 &&
	mlv log data.bin >out &&
	! grep "merge side" out &&
	grep -c "^commit " out >n &&
	echo 2 >expect &&
	test_cmp expect n &&
	git checkout -q main
'

test_expect_success '--follow through mlv mv' '
	mlv checkout &&
	mkdir -p models &&
	mlv mv data.bin models/moved.bin &&
	commit "move with mlv" &&
	mlv log models/moved.bin >out &&
	grep -c "^commit " out >n &&
	echo 1 >expect &&
	test_cmp expect n &&
	grep "^    added    models/moved.bin" out &&
	mlv log --follow models/moved.bin >out &&
	grep "^    renamed  models/moved.bin (from data.bin)  [0-9a-f]\{12\}  15 B (+0 B)$" out &&
	grep "^    merge side$" out &&
	grep "^    first data$" out &&
	grep "^    modified data.bin  .* 8 B (+4 B)$" out
'

test_expect_success '--follow through git mv of the pointer, modified in the same commit' '
	git mv models/moved.bin.mlv renamed.bin.mlv &&
	sed "s/^kind data$/kind model/" renamed.bin.mlv >tmp &&
	mv tmp renamed.bin.mlv &&
	git add renamed.bin.mlv &&
	test_tick &&
	git commit -q -m "move with git" &&
	mlv log --follow renamed.bin >out &&
	grep "^    renamed  renamed.bin (from models/moved.bin)" out &&
	grep "^    renamed  models/moved.bin (from data.bin)" out &&
	grep "^    first data$" out &&
	mlv log --follow --json renamed.bin >json &&
	python3 - <<-\PY
	import json
	e = json.load(open("json"))["entries"]
	a = e[0]["artifacts"][0]
	assert a["status"] == "renamed" and a["old_path"] == "models/moved.bin", a
	assert [x["artifacts"][0]["path"] for x in e][-1] == "data.bin", e
	PY
'

test_expect_success 'a malformed pointer in history is named with its commit and skipped' '
	printf "version 1\nthis is not a pointer\n" >bad.bin.mlv &&
	commit "bad pointer" &&
	bad=$(git rev-parse --short=12 HEAD) &&
	write_pointer bad.bin.mlv $(printf "%064d" 7) 70 file &&
	commit "good pointer" &&
	test_expect_code 1 mlv log bad.bin >out 2>err &&
	grep "^error: $bad:bad.bin.mlv:2: " err &&
	grep "^    modified bad.bin  000000000000  70 B$" out &&
	grep "^    added    bad.bin  bad pointer$" out &&
	grep "^    good pointer$" out &&
	test_expect_code 1 mlv log >out 2>err &&
	grep "^error: $bad:bad.bin.mlv:2: " err &&
	grep "^    first data$" out
'

test_expect_success 'hostile pointers in history: a symlink, a huge blob, a bad name' '
	ln -s /etc/passwd link.mlv &&
	awk "BEGIN { for (i = 0; i < 5000; i++) print \"x\" }" >huge.mlv &&
	write_pointer .GIT.mlv $(printf "%064d" 5) 5 file &&
	commit "hostile" &&
	h=$(git rev-parse --short=12 HEAD) &&
	test_expect_code 1 mlv log >out 2>err &&
	grep "^error: $h:link.mlv: not a regular file (mode 120000)$" err &&
	grep "^error: $h:huge.mlv: too large for a pointer file" err &&
	grep "^    added    link  bad pointer$" out &&
	grep "^    first data$" out &&
	grep "^error: $h:.GIT.mlv: " err &&
	test_expect_code 1 mlv log --json >json 2>err &&
	python3 - <<-\PY &&
	import json
	a = json.load(open("json"))["entries"][0]["artifacts"]
	assert {x["path"] for x in a} == {".GIT", "huge", "link"}, a
	assert all("error" in x and "oid" not in x for x in a), a
	PY
	git rm -q link.mlv huge.mlv .GIT.mlv &&
	commit "drop hostile"
'

test_expect_success 'a pointer whose object is not in the store: size from the pointer, --stat says so' '
	write_pointer ghost.mlv $(printf "%064d" 1) 1000 dir 3 &&
	commit "ghost v1" &&
	write_pointer ghost.mlv $(printf "%064d" 2) 3000 dir 5 &&
	commit "ghost v2" &&
	mlv log ghost >out &&
	grep "^    modified ghost  000000000000  2.9 KiB (+2.0 KiB)  5 files (+2)$" out &&
	test_expect_code 1 mlv log --stat ghost >out &&
	grep "^        ! ghost (tree not in the store)$" out &&
	grep "tree.* not in the store" out &&
	grep "^    ghost v1$" out
'

test_expect_success 'shallow clone: history stops at the boundary, said so' '
	cd .. &&
	git clone -q --no-local --depth 2 "file://$PWD/repo" shallow &&
	cd shallow &&
	mlv log ghost >out &&
	grep "^    modified ghost" out &&
	grep "^    present  ghost  000000000000  1000 B  3 files$" out &&
	grep "^history stops at [0-9a-f]\{12\}: a shallow boundary" out &&
	mlv log >out &&
	grep "^history stops at [0-9a-f]\{12\}: a shallow boundary" out &&
	mlv log --json >json &&
	python3 - <<-\PY
	import json
	o = json.load(open("json"))
	assert o["history_stops"]["reason"] == "shallow", o
	PY
'

test_expect_success 'shallow clone: an artifact only in the missing history' '
	test_expect_code 128 mlv log -- data.bin >out 2>err &&
	grep "history stops at" out &&
	grep "^fatal: .data.bin. has no pointer in the history of HEAD" err
'

test_expect_success 'bare repository with a revision, without a store' '
	cd .. &&
	git clone -q --bare repo bare.git &&
	cd bare.git &&
	mlv log HEAD -- ghost >out &&
	grep "^    ghost v2$" out &&
	test_expect_code 1 mlv log main >out 2>err &&
	grep "^    first data$" out &&
	grep "link.mlv: not a regular file" err
'

test_done
