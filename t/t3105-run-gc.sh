#!/bin/sh

test_description='gc keeps what runs name: outputs, inputs, logs and series'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup: a run whose output is no longer tracked' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	test_write_lines /run.json /gc.json >>.git/info/exclude &&
	git add -A && test_tick && git commit -q -m init &&
	mlv run -q -o model.bin -- sh -c "head -c 100000 /dev/urandom >model.bin; echo logged; echo \"{\\\"loss\\\": 1}\" >>\$MLV_METRICS" &&
	ref=$(git for-each-ref --format="%(refname)" refs/mlv/runs) &&
	git cat-file blob "$ref:run.json" >run.json &&
	mlv rm -q model.bin && rm -f model.bin &&
	git config mlv.gc.grace now
'

test_expect_success 'gc keeps the output, the logs and the series while the run ref exists' '
	mlv gc --json >gc.json &&
	out=$(jq -r ".outputs[0].oid" run.json) &&
	log=$(jq -r ".logs.stdout.oid" run.json) &&
	mlv cat "$out" | wc -c >size && echo 100000 >expect && test_cmp expect size &&
	test "$(mlv cat "$log")" = logged &&
	git cat-file blob "$ref:metrics/series.mlv" >series.mlv &&
	series=$(sed -n "s/^oid //p" series.mlv) &&
	mlv cat "$series" | grep loss
'

test_expect_success 'without the ref, gc removes them' '
	git update-ref -d "$ref" &&
	git reflog expire --expire=now --all &&
	mlv gc --json >gc.json &&
	jq -e ".objects_removed > 0" gc.json &&
	test_must_fail mlv cat "$(jq -r ".outputs[0].oid" run.json)"
'

test_done
