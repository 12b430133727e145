#!/bin/sh

test_description='status and add recognise the mlv checkout forgotten after git checkout'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup: two branches with different data' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	mkdir data && echo a >data/a && echo b >data/b &&
	echo m1 >model.bin &&
	mlv add -q data model.bin &&
	git add -A && test_tick && git commit -q -m v1 &&
	git checkout -q -b next &&
	echo A2 >data/a && echo m2 >model.bin &&
	mlv add -q data model.bin &&
	git add -A && test_tick && git commit -q -m "v2 on next" &&
	git checkout -q -
'

test_expect_success 'status names the commit whose version the work tree holds' '
	mlv status >out 2>err &&
	grep "modified: *model.bin (the version of [0-9a-f]* (v2 on next))" out &&
	grep "modified: *data (the version of" out &&
	grep "hint:.*mlv checkout" err &&
	mlv status --json >out.json 2>/dev/null &&
	jq -e ".artifacts | map(.older_version != null) | all" out.json
'

test_expect_success 'add warns before recording another branch data' '
	mlv add model.bin 2>err &&
	grep "warning: .model.bin. holds the version its pointer named at" err &&
	grep "hint:.*git checkout -- .model.bin.mlv. && mlv checkout -- .model.bin." err &&
	git checkout -- model.bin.mlv &&
	mlv checkout &&
	echo m1 >expect && test_cmp expect model.bin &&
	mlv status >out 2>err &&
	! grep "the version of" out && ! grep hint err
'

test_expect_success 'a real edit is not mistaken for an older version' '
	echo "new content" >model.bin &&
	mlv status >out 2>err &&
	grep "modified: *model.bin$" out &&
	! grep "hint:.*another commit" err &&
	mlv add model.bin 2>err &&
	! grep warning err &&
	git checkout -- model.bin.mlv && mlv checkout -f
'

test_expect_success 'a version from HEAD history (git reset without mlv checkout)' '
	echo m3 >model.bin && mlv add -q model.bin &&
	git add -A && test_tick && git commit -q -m v3 &&
	git reset -q --hard HEAD~1 &&
	mlv status >out 2>err &&
	grep "model.bin (the version of [0-9a-f]* (v3))" out &&
	mlv checkout && mlv status >out && ! grep modified out
'

test_expect_success 'the hook-free fix: git checkout then mlv checkout' '
	git checkout -q next && mlv checkout -q &&
	echo m2 >expect && test_cmp expect model.bin &&
	mlv status >out 2>err && ! grep "version of" out &&
	git checkout -q - && mlv checkout -q
'
test_done
