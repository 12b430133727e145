#!/bin/sh

test_description='mlv lineage: an artifact back through the runs that wrote it

Runs are stored by hand with git plumbing (run.json and env.json in a
commit on refs/mlv/runs/<id>), so that the graph is exactly what each test
needs: a chain, a repro writing the same bytes, a cycle, a long chain.'

. "$(dirname "$0")"/test-lib.sh

# oid_of POINTER: the "sha256:<hex>" a pointer file names.
oid_of () {
	sed -n 's/^oid //p' "$1"
}

# io_json "path oid" ...: a JSON array of inputs or outputs.
io_json () {
	sep=
	printf '['
	for io in "$@"
	do
		printf '%s{"path": "%s", "oid": "%s", "size": 1, "kind": "data", "type": "file", "how": "declared"}' \
			"$sep" "${io%% *}" "${io#* }"
		sep=,
	done
	printf ']'
}

# store_run ID NAME-JSON SEED INPUTS-JSON OUTPUTS-JSON [REPRODUCES-JSON]:
# a stored run on refs/mlv/runs/ID whose parent is HEAD.
store_run () {
	cat >run.json <<-EOF &&
	{
	  "format": 1, "id": "$1", "name": $2,
	  "argv": ["./train", "--id", "$1"], "cwd": "", "user": "u", "host": "h",
	  "mlv_version": "0.1.0",
	  "git": {"commit": "$(git rev-parse HEAD)", "branch": "main", "dirty": false},
	  "seed": $3, "deterministic": true, "params": {},
	  "inputs": $4, "outputs": $5,
	  "metrics": {"final": {}, "series": {}, "sources": [], "errors": 0},
	  "env": {"hash": "$(printf %064d 7)"},
	  "gpus": {"count": 0, "models": [], "uuids": [], "lease": null},
	  "status": {"state": "ok", "exit": 0, "signal": null, "code": 0},
	  "start": "2026-11-26T06:05:12.000000Z", "end": "2026-11-26T06:05:13.000000Z",
	  "duration": 1.0, "peak_rss": 1000,
	  "trace": {"mode": "off", "why": null},
	  "reproduces": ${6:-null},
	  "options": {"metrics_from": null, "metric_files": [], "param_files": [],
	              "env_vars": [], "gpus": null, "wait": false, "trace": false, "quiet": false}
	}
	EOF
	echo '{"format": 1}' >env.json &&
	run_blob=$(git hash-object -w run.json) &&
	env_blob=$(git hash-object -w env.json) &&
	run_tree=$(printf "100644 blob %s\tenv.json\n100644 blob %s\trun.json\n" "$env_blob" "$run_blob" | git mktree) &&
	run_commit=$(git commit-tree -p HEAD -m "mlv run $1" "$run_tree") &&
	git update-ref "refs/mlv/runs/$1" "$run_commit" &&
	rm -f run.json env.json
}

test_expect_success 'setup: raw data, a prep run, a training run and its repro' '
	test_create_repo repo &&
	cd "$TRASH_DIRECTORY/repo" &&
	mlv init &&
	echo raw >raw.csv &&
	echo train >train.bin &&
	echo model >model.bin &&
	echo config >config.json &&
	mlv add raw.csv train.bin model.bin config.json &&
	git add . &&
	test_tick &&
	git commit -q -m data &&
	RAW=$(oid_of raw.csv.mlv) && TRAIN=$(oid_of train.bin.mlv) &&
	MODEL=$(oid_of model.bin.mlv) && CONF=$(oid_of config.json.mlv) &&
	store_run 20261125-100000-0000aaaa "\"prep\"" 7 \
		"$(io_json "raw.csv $RAW")" "$(io_json "train.bin $TRAIN")" &&
	store_run 20261126-100000-0000bbbb "\"train\"" 1234 \
		"$(io_json "train.bin $TRAIN" "config.json $CONF")" "$(io_json "model.bin $MODEL")" &&
	store_run 20261127-100000-0000cccc null 1234 \
		"$(io_json "train.bin $TRAIN" "config.json $CONF")" "$(io_json "model.bin $MODEL")" \
		"\"20261126-100000-0000bbbb\"" &&
	echo "$MODEL" >../model.oid
'

test_expect_success 'a model back to the raw data: runs, commits, seeds, env hashes' '
	cd "$TRASH_DIRECTORY/repo" &&
	mlv lineage model.bin >out &&
	cat out &&
	head -n 1 out >first &&
	grep "^model.bin sha256:[0-9a-f]\{12\}$" first &&
	grep "run 20261126-100000-0000bbbb (train): ok" out &&
	grep "run 20261127-100000-0000cccc: ok" out &&
	grep "reproduces 20261126-100000-0000bbbb" out &&
	grep "run 20261125-100000-0000aaaa (prep): ok" out &&
	grep "commit $(git rev-parse --short=12 HEAD), seed 1234, env 000000000000" out &&
	grep "seed 7" out &&
	grep "command: ./train --id 20261126-100000-0000bbbb" out &&
	grep "raw.csv sha256:.*: not produced by a recorded run" out &&
	grep "config.json sha256:.*: not produced by a recorded run" out &&
	# the prep run is reached from both training runs: shown once
	test $(grep -c "run 20261125-100000-0000aaaa" out) = 2 &&
	grep "run 20261125-100000-0000aaaa (prep): ok, shown above" out
'

test_expect_success 'the pointer file, a revision, an id and a prefix name the same artifact' '
	cd "$TRASH_DIRECTORY/repo" &&
	mlv lineage model.bin >expect &&
	mlv lineage model.bin.mlv >actual &&
	test_cmp expect actual &&
	mlv lineage "$(cat ../model.oid)" | tail -n +2 >actual &&
	tail -n +2 expect >expect.tail &&
	test_cmp expect.tail actual &&
	mlv lineage "$(cat ../model.oid | cut -c1-17)" | tail -n +2 >actual &&
	test_cmp expect.tail actual &&
	mlv lineage HEAD:model.bin >actual &&
	grep "^HEAD:model.bin sha256:" actual &&
	tail -n +2 actual >actual.tail &&
	test_cmp expect.tail actual.tail
'

test_expect_success 'a revision names the artifact as it was then' '
	cd "$TRASH_DIRECTORY/repo" &&
	echo model2 >model.bin &&
	mlv add model.bin &&
	mlv lineage model.bin >now &&
	grep "model.bin sha256:.*: not produced by a recorded run" now &&
	mlv lineage HEAD:model.bin >then &&
	grep "run 20261126-100000-0000bbbb (train)" then
'

test_expect_success 'a run by id, by prefix and by name: the lineage of its inputs' '
	cd "$TRASH_DIRECTORY/repo" &&
	mlv lineage 20261126-100000-0000bbbb >by-id &&
	head -n 1 by-id | grep "^\`-- run 20261126-100000-0000bbbb (train): ok$" &&
	grep "train.bin sha256:" by-id &&
	grep "run 20261125-100000-0000aaaa (prep)" by-id &&
	mlv lineage 0000bbbb >by-prefix &&
	test_cmp by-id by-prefix &&
	mlv lineage train >by-name &&
	test_cmp by-id by-name
'

test_expect_success '--json: one object with the target, the artifacts and the runs' '
	cd "$TRASH_DIRECTORY/repo" &&
	mlv lineage --json HEAD:model.bin >out.json &&
	test_line_count = 1 out.json &&
	jq -e ".target.kind == \"artifact\" and .target.rev == \"HEAD:model.bin\"" out.json &&
	jq -e ".target.oid == \"$(cat ../model.oid)\" and .truncated == false" out.json &&
	jq -e "(.runs | length) == 3 and (.artifacts | length) == 4" out.json &&
	jq -e ".artifacts[0].produced_by == [\"20261127-100000-0000cccc\", \"20261126-100000-0000bbbb\"] or
	       .artifacts[0].produced_by == [\"20261126-100000-0000bbbb\", \"20261127-100000-0000cccc\"]" out.json &&
	jq -e ".runs[] | select(.id == \"20261126-100000-0000bbbb\") |
	       .name == \"train\" and .seed == 1234 and .dirty == false and
	       .env_hash == \"$(printf %064d 7)\" and .commit == \"$(git rev-parse HEAD)\" and
	       (.inputs | length) == 2 and .outputs[0].path == \"model.bin\"" out.json &&
	jq -e ".runs[] | select(.id == \"20261127-100000-0000cccc\") |
	       .reproduces == \"20261126-100000-0000bbbb\" and .name == null" out.json &&
	jq -e "[.artifacts[] | select(.path == \"raw.csv\")][0].produced_by == []" out.json &&
	mlv lineage --json train >run.json &&
	jq -e ".target == {\"kind\": \"run\", \"run\": \"20261126-100000-0000bbbb\"}" run.json
'

test_expect_success '--dot: a Graphviz graph with input and output edges' '
	cd "$TRASH_DIRECTORY/repo" &&
	mlv lineage --dot HEAD:model.bin >out.dot &&
	head -n 1 out.dot | grep "^digraph lineage {$" &&
	tail -n 1 out.dot | grep "^}$" &&
	grep "\"run:20261126-100000-0000bbbb\" \[shape=ellipse" out.dot &&
	grep "\"run:20261126-100000-0000bbbb\" -> \"$(cat ../model.oid)\" \[label=\"model.bin\"\];" out.dot &&
	grep "\"sha256:[0-9a-f]*\" -> \"run:20261126-100000-0000bbbb\" \[label=\"config.json\"\];" out.dot &&
	grep "\"run:20261125-100000-0000aaaa\" -> \"sha256:[0-9a-f]*\" \[label=\"train.bin\"\];" out.dot &&
	if command -v dot >/dev/null
	then
		dot -Tsvg out.dot >out.svg
	fi
'

test_expect_success 'names with quotes and control bytes cannot forge output' '
	cd "$TRASH_DIRECTORY/repo" &&
	echo odd >odd.bin &&
	mlv add odd.bin &&
	store_run 20261128-100000-0000dddd "\"a\\\"b\\nc\"" 1 "[]" "$(io_json "odd.bin $(oid_of odd.bin.mlv)")" &&
	mlv lineage odd.bin >out &&
	grep "run 20261128-100000-0000dddd (a\"b?c): ok" out &&
	mlv lineage --dot odd.bin >out.dot &&
	cat >expect <<-\EOF &&
	label="run 20261128-100000-0000dddd\na\"b?c\ncommit
	EOF
	grep -F -f expect out.dot &&
	! grep -v "^[}d	]" out.dot &&
	mlv lineage --json odd.bin >out.json &&
	jq -e ".runs[0].name == \"a\\\"b\\nc\"" out.json &&
	grep "no recorded inputs" out
'

test_expect_success 'a cycle ends where it closes' '
	cd "$TRASH_DIRECTORY/repo" &&
	echo a >cyc-a && echo b >cyc-b &&
	mlv add cyc-a cyc-b &&
	A=$(oid_of cyc-a.mlv) && B=$(oid_of cyc-b.mlv) &&
	store_run 20261129-100000-0000eee1 null 1 "$(io_json "cyc-a $A")" "$(io_json "cyc-b $B")" &&
	store_run 20261129-100000-0000eee2 null 2 "$(io_json "cyc-b $B")" "$(io_json "cyc-a $A")" &&
	mlv lineage cyc-a >out &&
	cat out &&
	test_line_count = 10 out &&
	grep "run 20261129-100000-0000eee2: ok" out &&
	grep "run 20261129-100000-0000eee1: ok" out &&
	test $(grep -c "cyc-a sha256:[0-9a-f]*$" out) = 2 &&
	mlv lineage --json cyc-a >out.json &&
	jq -e "(.runs | length) == 2 and (.artifacts | length) == 2" out.json
'

test_expect_success 'a long chain is cut and says so' '
	cd "$TRASH_DIRECTORY/repo" &&
	prev=$(oid_of raw.csv.mlv) &&
	i=10 &&
	while test $i -lt 60
	do
		echo "step $i" >chain.bin &&
		mlv add chain.bin >/dev/null &&
		cur=$(oid_of chain.bin.mlv) &&
		store_run 20261130-1000$i-000000$i null $i "$(io_json "in $prev")" "$(io_json "chain.bin $cur")" &&
		prev=$cur &&
		i=$((i + 1)) || return 1
	done &&
	mlv lineage --json chain.bin >out.json &&
	jq -e ".truncated == true and (.runs | length) < 50 and (.runs | length) >= 30" out.json &&
	mlv lineage chain.bin >out &&
	tail -n 1 out | grep "^(lineage cut at"
'

test_expect_success 'errors: nothing named, both formats asked' '
	cd "$TRASH_DIRECTORY/repo" &&
	test_expect_code 128 mlv lineage no-such-thing 2>err &&
	grep "fatal: .no-such-thing. is neither a tracked path nor a run" err &&
	test_expect_code 128 mlv lineage sha256:zz 2>err &&
	grep "is not an object id" err &&
	test_expect_code 128 mlv lineage HEAD:nothing.bin 2>err &&
	grep "nothing.bin" err &&
	test_expect_code 129 mlv lineage --json --dot model.bin 2>err &&
	grep "cannot be used together" err &&
	test_expect_code 129 mlv lineage 2>err
'

test_expect_success 'an ambiguous run prefix lists the candidates' '
	cd "$TRASH_DIRECTORY/repo" &&
	test_expect_code 128 mlv lineage 20261129 2>err &&
	grep "20261129-100000-0000eee1" err &&
	grep "20261129-100000-0000eee2" err
'

test_expect_success 'works in a bare clone, from revisions and runs' '
	cd "$TRASH_DIRECTORY" &&
	git clone -q --bare repo bare.git &&
	git -C repo push -q ../bare.git "refs/mlv/*:refs/mlv/*" &&
	mkdir bare.git/mlv && cp -R repo/.git/mlv/packs repo/.git/mlv/index.db bare.git/mlv/ &&
	(
		cd bare.git &&
		mlv lineage main:model.bin >out &&
		grep "run 20261126-100000-0000bbbb (train)" out &&
		mlv lineage train >out &&
		grep "run 20261125-100000-0000aaaa (prep)" out
	)
'

test_done
