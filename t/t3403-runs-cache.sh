#!/bin/sh

test_description='mlv runs: the query cache follows the refs, and is only a cache'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-runs.sh

ids () {
	mlv runs --json >out.json &&
	jq -r ".runs[].id" out.json
}

test_expect_success 'setup' '
	test_create_repo repo &&
	(
		cd repo &&
		mlv init &&
		make_run 20261126-060000-00000001 a "{\"lr\": 1}" "{}" &&
		make_run 20261126-070000-00000002 b "{\"lr\": 2}" "{}" &&
		ids >actual &&
		test_write_lines 20261126-070000-00000002 20261126-060000-00000001 >expect &&
		test_cmp expect actual &&
		test_path_is_file .git/mlv/runs.db
	)
'

test_expect_success 'a new ref is listed' '
	(
		cd repo &&
		make_run 20261126-080000-00000003 c "{}" "{}" &&
		ids >actual &&
		test_write_lines 20261126-080000-00000003 20261126-070000-00000002 \
			20261126-060000-00000001 >expect &&
		test_cmp expect actual
	)
'

test_expect_success 'a deleted ref is gone, a moved ref is read again' '
	(
		cd repo &&
		git update-ref -d refs/mlv/runs/20261126-070000-00000002 &&
		ids >actual &&
		test_write_lines 20261126-080000-00000003 20261126-060000-00000001 >expect &&
		test_cmp expect actual &&
		make_run 20261126-060000-00000001 renamed "{}" "{}" &&
		mlv runs --json --where name=renamed >out.json &&
		jq -e ".total == 1" out.json &&
		mlv runs --json --where name=a >out.json &&
		jq -e ".total == 0" out.json
	)
'

test_expect_success 'packed refs: pack-refs, and a ref packed and loose' '
	(
		cd repo &&
		git pack-refs --all &&
		test_path_is_missing .git/refs/mlv/runs/20261126-080000-00000003 &&
		ids >actual &&
		test_write_lines 20261126-080000-00000003 20261126-060000-00000001 >expect &&
		test_cmp expect actual &&
		make_run 20261126-080000-00000003 loose "{}" "{}" &&
		mlv runs show --json 20261126-080000-00000003 >out.json &&
		jq -e ".run.name == \"loose\"" out.json &&
		mlv runs --json --where name=loose >out.json &&
		jq -e ".total == 1" out.json &&
		git update-ref -d refs/mlv/runs/20261126-080000-00000003 &&
		ids >actual &&
		echo 20261126-060000-00000001 >expect &&
		test_cmp expect actual
	)
'

test_expect_success 'runs the cache knows are not read again' '
	test_create_repo lazy &&
	(
		cd lazy &&
		mlv init &&
		make_run 20261126-060000-0000000a a "{\"lr\": 1}" "{}" &&
		mlv runs >/dev/null &&
		blob=$(git rev-parse refs/mlv/runs/20261126-060000-0000000a:run.json) &&
		rm -f .git/objects/$(echo $blob | cut -c1-2)/$(echo $blob | cut -c3-) &&
		mlv runs --json >out.json &&
		jq -e ".total == 1" out.json &&
		make_run 20261126-070000-0000000b b "{}" "{}" &&
		mlv runs --json >out.json &&
		jq -e ".total == 2 and .runs[1].params.lr == 1" out.json &&
		rm .git/mlv/runs.db* &&
		mlv runs --json >out.json 2>err &&
		jq -e ".total == 1" out.json &&
		grep "warning: ignoring refs/mlv/runs/20261126-060000-0000000a: run 20261126-060000-0000000a: cannot read run.json" err
	)
'

test_expect_success 'loose refs untouched since the last listing are trusted, a rewritten one is read' '
	test_create_repo inplace &&
	(
		cd inplace &&
		mlv init &&
		make_run 20261126-060000-0000000a a "{}" "{}" &&
		make_run 20261126-070000-0000000b b "{}" "{}" &&
		old=$(git rev-parse refs/mlv/runs/20261126-060000-0000000a) &&
		make_run 20261126-060000-0000000a renamed "{}" "{}" &&
		new=$(git rev-parse refs/mlv/runs/20261126-060000-0000000a) &&
		git update-ref refs/mlv/runs/20261126-060000-0000000a $old &&
		sleep 3 &&
		mlv runs >/dev/null &&
		make_run 20261126-080000-0000000c c "{}" "{}" &&
		echo $new >.git/refs/mlv/runs/20261126-060000-0000000a &&
		mlv runs --json >out.json &&
		jq -e ".total == 3 and .runs[2].name == \"renamed\" and .runs[1].name == \"b\"" out.json
	)
'

test_expect_success 'the cache deleted: rebuilt from the refs' '
	(
		cd repo &&
		make_run 20261126-090000-00000004 d "{}" "{}" &&
		ids >expect &&
		rm -f .git/mlv/runs.db .git/mlv/runs.db-wal .git/mlv/runs.db-shm &&
		ids >actual &&
		test_cmp expect actual &&
		test_path_is_file .git/mlv/runs.db
	)
'

test_expect_success 'a corrupt cache: rebuilt' '
	(
		cd repo &&
		ids >expect &&
		rm -f .git/mlv/runs.db-wal .git/mlv/runs.db-shm &&
		echo garbage >.git/mlv/runs.db &&
		ids >actual &&
		test_cmp expect actual &&
		mlv runs show d >/dev/null
	)
'

test_expect_success 'a cache with hostile rows: rebuilt' '
	(
		cd repo &&
		ids >expect &&
		sqlite3 .git/mlv/runs.db "UPDATE runs SET params = \"[not json\"; UPDATE meta SET value = \"x\"" &&
		ids >actual &&
		test_cmp expect actual &&
		sqlite3 .git/mlv/runs.db "DROP TABLE kv" &&
		mlv runs --json --where "params.lr>0" >out.json &&
		jq -e ".total == 0" out.json &&
		sqlite3 .git/mlv/runs.db "UPDATE runs SET id = \"../../x\" WHERE id = (SELECT max(id) FROM runs)" &&
		ids >actual &&
		test_cmp expect actual
	)
'

test_expect_success 'a cache of a newer schema, or a symlink: rebuilt' '
	(
		cd repo &&
		ids >expect &&
		sqlite3 .git/mlv/runs.db "PRAGMA user_version = 99" &&
		ids >actual &&
		test_cmp expect actual &&
		rm -f .git/mlv/runs.db* &&
		echo keep >target &&
		ln -s ../../target .git/mlv/runs.db &&
		ids >actual &&
		test_cmp expect actual &&
		test_path_is_file .git/mlv/runs.db &&
		! test -h .git/mlv/runs.db &&
		echo keep >expect &&
		test_cmp expect target
	)
'

test_expect_success 'runs pushed to a bare repository and fetched into a second clone are listed there' '
	git init -q --bare shared.git &&
	(
		cd repo &&
		git add .mlv && git commit -q -m first &&
		git remote add origin ../shared.git &&
		git push -q origin HEAD:refs/heads/main "refs/mlv/*:refs/mlv/*"
	) &&
	git clone -q shared.git clone2 &&
	(
		cd clone2 &&
		mlv init &&
		mlv runs --json >out.json &&
		jq -e ".total == 0" out.json &&
		git fetch -q origin "refs/mlv/*:refs/mlv/*" &&
		(cd ../repo && ids) >expect &&
		ids >actual &&
		test_cmp expect actual
	) &&
	(
		cd repo &&
		make_run 20261126-100000-00000005 e "{}" "{}" &&
		git push -q origin "refs/mlv/*:refs/mlv/*"
	) &&
	(
		cd clone2 &&
		git fetch -q origin "refs/mlv/*:refs/mlv/*" &&
		mlv runs show --json e >out.json &&
		jq -e ".id == \"20261126-100000-00000005\"" out.json &&
		ids >actual &&
		test_line_count = 3 actual
	)
'

test_expect_success 'a clone without the directory of mlv' '
	git clone -q shared.git clone3 &&
	(
		cd clone3 &&
		git fetch -q origin "refs/mlv/*:refs/mlv/*" &&
		rm -rf .git/mlv &&
		ids >actual &&
		test_line_count = 3 actual
	)
'

test_expect_success 'a linked worktree shares the runs' '
	(
		cd repo &&
		git worktree add -q ../wt &&
		cd ../wt &&
		ids >actual &&
		(cd ../repo && ids) >expect &&
		test_cmp expect actual
	)
'

test_done
