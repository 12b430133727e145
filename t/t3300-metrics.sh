#!/bin/sh

test_description='mlv metrics show/diff: metric files tracked with mlv add --kind metric

Two commits with a metrics file, the work tree changed after them;
show and diff at revisions, in the work tree, --md and --json, files
that are not metrics, and operands that are neither a revision nor a run.'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup: two commits of metrics.json' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	cat >metrics.json <<-\EOF &&
	{"acc": 0.9, "loss": 0.31, "val": {"f1": 0.5, "name": "x"}, "same": 7}
	EOF
	echo "{\"other\": 1}" >eval.json &&
	echo data >data.bin &&
	mlv add --kind metric metrics.json eval.json &&
	mlv add data.bin &&
	git add -A && test_tick && git commit -q -m one &&
	cat >metrics.json <<-\EOF &&
	{
	  "acc": 0.91,
	  "loss": 0.3,
	  "val": {"f1": NaN},
	  "same": 7,
	  "epochs": 10
	}
	EOF
	mlv add --kind metric metrics.json &&
	git commit -q -am two
'

test_expect_success 'show: the work tree, flattened, sorted by path' '
	mlv metrics show >out &&
	cat >expect <<-\EOF &&
	Path          Metric  Value
	eval.json     other   1
	metrics.json  acc     0.91
	metrics.json  loss    0.3
	metrics.json  val.f1  null
	metrics.json  same    7
	metrics.json  epochs  10
	EOF
	test_cmp expect out
'

test_expect_success 'show <rev>: read from the store through the pointer at that revision' '
	mv metrics.json ../saved && rm -f eval.json &&
	mlv metrics show HEAD~1 >out &&
	mv ../saved metrics.json &&
	cat >expect <<-\EOF &&
	Path          Metric  Value
	eval.json     other   1
	metrics.json  acc     0.9
	metrics.json  loss    0.31
	metrics.json  val.f1  0.5
	metrics.json  same    7
	EOF
	test_cmp expect out &&
	mlv checkout -q eval.json
'

test_expect_success 'show --json' '
	mlv metrics show --json HEAD >out &&
	cat >expect <<-\EOF &&
	{"label":"HEAD","rev":"HEAD","run":null,"metrics":{"eval.json":{"other":1},"metrics.json":{"acc":0.91000000000000003,"loss":0.29999999999999999,"val.f1":null,"same":7,"epochs":10}},"errors":[]}
	EOF
	test_cmp expect out
'

test_expect_success 'diff <a> <b>: changed metrics, one-sided ones, NaN' '
	mlv metrics diff HEAD~1 HEAD >out &&
	cat >expect <<-\EOF &&
	Path          Metric  HEAD~1  HEAD  Change
	metrics.json  acc     0.9     0.91  +0.01 (+1.11%)
	metrics.json  epochs  -       10    -
	metrics.json  loss    0.31    0.3   -0.01 (-3.23%)
	metrics.json  val.f1  0.5     null  -
	EOF
	test_cmp expect out
'

test_expect_success 'diff --all lists unchanged metrics too' '
	mlv metrics diff --all HEAD~1 HEAD >out &&
	grep "^metrics.json  same    7       7     +0 (+0.00%)\$" out &&
	grep "^eval.json     other" out
'

test_expect_success 'diff with no operand: HEAD against the work tree' '
	mlv metrics diff >out &&
	test_must_be_empty out &&
	echo "{\"acc\": 0.5, \"loss\": 0.3}" >metrics.json &&
	mlv metrics diff >out &&
	cat >expect <<-\EOF &&
	Path          Metric  HEAD  work tree  Change
	metrics.json  acc     0.91  0.5        -0.41 (-45.05%)
	metrics.json  epochs  10    -          -
	metrics.json  same    7     -          -
	metrics.json  val.f1  null  -          -
	EOF
	test_cmp expect out &&
	mlv metrics diff HEAD~1 >out &&
	grep "^metrics.json  acc     0.9     0.5 " out
'

test_expect_success 'diff --md: a pull-request table' '
	mlv metrics diff --md HEAD~1 HEAD >out &&
	cat >expect <<-\EOF &&
	| Path | Metric | HEAD~1 | HEAD | Change |
	|---|---|---:|---:|---:|
	| metrics.json | acc | 0.9 | 0.91 | +0.01 (+1.11%) |
	| metrics.json | epochs | - | 10 | - |
	| metrics.json | loss | 0.31 | 0.3 | -0.01 (-3.23%) |
	| metrics.json | val.f1 | 0.5 | null | - |
	EOF
	test_cmp expect out &&
	mlv metrics diff --md HEAD HEAD >out &&
	test_line_count = 2 out
'

test_expect_success 'diff --json: exact values, change, relative change, one side only' '
	mlv metrics diff --json HEAD~1 HEAD >out &&
	cat >expect <<-\EOF &&
	{"old":{"label":"HEAD~1","rev":"HEAD~1","run":null},"new":{"label":"HEAD","rev":"HEAD","run":null},"diff":[{"path":"metrics.json","name":"acc","old":0.90000000000000002,"new":0.91000000000000003,"only":null,"change":0.010000000000000009,"relative":0.01111111111111112},{"path":"metrics.json","name":"epochs","old":null,"new":10,"only":"new","change":null,"relative":null},{"path":"metrics.json","name":"loss","old":0.31,"new":0.29999999999999999,"only":null,"change":-0.010000000000000009,"relative":-0.032258064516129059},{"path":"metrics.json","name":"val.f1","old":0.5,"new":null,"only":null,"change":null,"relative":null}],"errors":[]}
	EOF
	test_cmp expect out
'

test_expect_success 'a metrics file that is not a JSON object: an error naming its line, the rest shown' '
	printf "{\n  \"acc\": 0.5,\n  \"loss\": oops\n}\n" >metrics.json &&
	test_expect_code 1 mlv metrics show >out 2>err &&
	grep "^error: metrics.json:3: expected a value, found .o." err &&
	grep "^eval.json  *other  *1" out &&
	test_expect_code 1 mlv metrics diff >out 2>err &&
	grep "^error: metrics.json:3:" err &&
	test_expect_code 1 mlv metrics diff --json >out 2>err &&
	grep "\"errors\":\\[{\"side\":\"new\",\"path\":\"metrics.json\",\"error\":\"metrics.json:3: " out &&
	mlv checkout -q --force metrics.json &&
	mlv metrics show >out 2>err &&
	test_must_be_empty err
'

test_expect_success 'a metrics file that is a symlink is not followed' '
	mv metrics.json ../real.json &&
	ln -s ../real.json metrics.json &&
	test_expect_code 1 mlv metrics show 2>err &&
	grep "^error: .*metrics.json" err &&
	rm metrics.json && mv ../real.json metrics.json
'

test_expect_success 'models and data are not metrics' '
	mlv metrics show >out &&
	! grep data.bin out
'

test_expect_success 'an operand that is neither a revision nor a run' '
	test_expect_code 128 mlv metrics show nosuch 2>err &&
	grep "^fatal: .nosuch. is neither a revision nor a run" err &&
	test_expect_code 128 mlv metrics diff HEAD nosuch 2>err &&
	test_expect_code 128 mlv metrics show run:nosuch 2>err &&
	grep "no run .nosuch." err
'

test_expect_success 'usage errors' '
	test_expect_code 129 mlv metrics &&
	test_expect_code 129 mlv metrics frob &&
	test_expect_code 129 mlv metrics show a b &&
	test_expect_code 129 mlv metrics diff a b c &&
	test_expect_code 129 mlv metrics diff --md --json &&
	test_expect_code 129 mlv metrics show --md
'

test_expect_success 'diff of two revisions works in a bare repository' '
	cd .. &&
	git clone -q --bare repo bare.git &&
	cp -r repo/.git/mlv bare.git/ &&
	cd bare.git &&
	mlv metrics diff HEAD~1 HEAD >out &&
	grep "^metrics.json  acc " out &&
	test_expect_code 128 mlv metrics diff HEAD 2>err &&
	grep "no work tree" err
'

test_done
