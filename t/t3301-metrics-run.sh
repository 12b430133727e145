#!/bin/sh

test_description='metrics of mlv run: $MLV_METRICS, --metrics-from, -M

A command that writes no metric, malformed JSON lines (reported with their
line number, the rest ingested), many points, NaN, stdout lines picked by
a regex, a final metrics file, the stored series, and mlv metrics
show/diff over runs.'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-runs.sh

last_id () {
	git for-each-ref --sort=-refname --count=1 --format="%(refname:strip=3)" refs/mlv/runs
}

# The stored series of the latest run, through its pointer.
last_series () {
	ref=$(git for-each-ref --sort=-refname --count=1 --format="%(refname)" refs/mlv/runs) &&
	oid=$(git cat-file blob "$ref:metrics/series.mlv" | sed -n "s/^oid //p") &&
	mlv cat "$oid"
}

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	echo "{}" >.keep &&
	git add .keep && test_tick && git commit -q -m init &&
	test_write_lines /err /out /run.json /expect /series /metrics.json /lines.jsonl \
		/gen.sh /show /diff >>.git/info/exclude
'

test_expect_success 'a command that never writes a metric' '
	mlv run -q -- true 2>err &&
	! grep "warning" err &&
	last_run >run.json &&
	jq -e ".metrics.final == {} and .metrics.series == {} and .metrics.errors == 0" run.json &&
	jq -e "(.metrics.sources | map(select(. != \"system\"))) == []" run.json
'

test_expect_success 'JSON lines: malformed ones named with their line, the rest ingested' '
	cat >lines.jsonl <<-\EOF &&
	{"step": 1, "loss": 0.5, "acc": 0.25}
	{"step": 2, "loss": oops}
	not json at all
	{"step": 3, "loss": 0.25, "val": {"loss": 0.375}, "phase": "train"}
	[1, 2, 3]
	{"step": 4, "loss": NaN}
	{"step": 5, "loss": 0.125}
	EOF
	# the last line without a newline, CRLF on one line
	printf "{\"step\": 6, \"acc\": 0.75}\r\n{\"step\": 7, \"loss\": 0.0625}" >>lines.jsonl &&
	mlv run -q --name bad -- sh -c "cat lines.jsonl >>\"\$MLV_METRICS\"" 2>err &&
	grep "^warning: \$MLV_METRICS:2: expected a value, found .o." err &&
	grep "^warning: \$MLV_METRICS:3: " err &&
	grep "^warning: \$MLV_METRICS:5: not a JSON object" err &&
	test $(grep -c "MLV_METRICS:" err) = 3 &&
	last_run >run.json &&
	jq -e ".metrics.errors == 3" run.json &&
	jq -e ".metrics.sources[0] == \"\$MLV_METRICS\"" run.json &&
	jq -e ".metrics.final == {\"acc\": 0.75, \"loss\": 0.0625, \"val.loss\": 0.375}" run.json &&
	jq -e ".metrics.series.loss == {\"points\": 5, \"first\": 0.5, \"last\": 0.0625, \"min\": 0.0625, \"max\": 0.5, \"last_step\": 7, \"nonfinite\": 1}" run.json &&
	jq -e ".metrics.series.acc.points == 2 and .metrics.series.acc.last_step == 6" run.json
'

test_expect_success 'the stored series: one JSON line per record' '
	last_series >series &&
	grep -v "sys\\.\\|gpu[0-9]" series >lines &&
	test_line_count = 6 lines &&
	sed -e "s/\"t\":[0-9.]*,//" lines >actual &&
	cat >expect <<-\EOF &&
	{"step":1,"m":{"loss":0.5,"acc":0.25}}
	{"step":3,"m":{"loss":0.25,"val.loss":0.375}}
	{"step":4,"m":{"loss":null}}
	{"step":5,"m":{"loss":0.125}}
	{"step":6,"m":{"acc":0.75}}
	{"step":7,"m":{"loss":0.0625}}
	EOF
	test_cmp expect actual &&
	while read -r line
	do
		echo "$line" | jq -e "(.t | type) == \"number\"" >/dev/null || return 1
	done <lines
'

test_expect_success 'many points, written while the run goes' '
	cat >gen.sh <<-\EOF &&
	# written in pieces (fflush), so that lines are cut across reads
	awk "BEGIN { for (i = 0; i < 100000; i++) {
		printf \"{\\\"step\\\": %d, \\\"loss\\\": %d.5, \\\"acc\\\": 0.%d, \\\"val\\\": {\\\"x\\\": %d}}\\n\", i, i, i, i
		if (i % 997 == 0) fflush() } }" >>"$MLV_METRICS"
	EOF
	mlv run -q -- sh gen.sh 2>err &&
	! grep warning err &&
	last_run >run.json &&
	jq -e ".metrics.errors == 0" run.json &&
	jq -e ".metrics.series.loss.points == 100000 and .metrics.series.loss.last == 99999.5" run.json &&
	jq -e ".metrics.series[\"val.x\"].points == 100000 and .metrics.series[\"val.x\"].max == 99999" run.json &&
	jq -e ".metrics.series.acc.last_step == 99999 and .metrics.final.acc == 0.99999" run.json
'

test_expect_success '--metrics-from: name=value pairs of the matching stdout lines' '
	mlv run --name regex --metrics-from "loss=" -- sh -c "
		echo starting
		echo \"epoch 1 loss=0.5000 acc=0.8\"
		echo \"noise=1\"
		echo \"epoch 2 step=20 loss=0.2500, acc=95.5%\"
		printf \"epoch 3 loss=nan\"" >out 2>err &&
	grep "^starting" out &&
	last_run >run.json &&
	jq -e ".metrics.sources[0] == \"stdout\"" run.json &&
	jq -e ".metrics.series.loss.points == 3 and .metrics.series.loss.nonfinite == 1" run.json &&
	jq -e ".metrics.final.acc == 95.5 and .metrics.final.loss == null" run.json &&
	jq -e ".metrics.series.acc.last_step == 20 and (.metrics.series | has(\"noise\") | not)" run.json
'

test_expect_success '--metrics-from with two groups: name and value' '
	mlv run -q --metrics-from "([a-z]+): ([^ ]+)" -- sh -c "echo \"loss: 0.5 acc: high\"" 2>err &&
	grep "^warning: stdout:1: .high. is not a number" err &&
	last_run >run.json &&
	jq -e ".metrics.final == {\"loss\": 0.5} and .metrics.errors == 1" run.json
'

test_expect_success 'a bad --metrics-from regex fails before the command runs' '
	test_expect_code 125 mlv run --metrics-from "(a" -- touch ran 2>err &&
	test_path_is_missing ran &&
	grep "bad regex" err
'

test_expect_success '-M: final metrics from a JSON file, nested keys flattened, NaN kept as null' '
	mlv run -q --name final -M metrics.json -- sh -c "
		echo \"{\\\"loss\\\": 0.9}\" >>\"\$MLV_METRICS\"
		printf \"{\\\"acc\\\": 0.5, \\\"val\\\": {\\\"loss\\\": 0.25, \\\"f1\\\": NaN}, \\\"tag\\\": \\\"x\\\"}\" >metrics.json" 2>err &&
	last_run >run.json &&
	jq -e ".metrics.final == {\"acc\": 0.5, \"val.loss\": 0.25, \"val.f1\": null}" run.json &&
	jq -e "(.metrics.sources | index(\"-M metrics.json\")) != null" run.json &&
	jq -e ".metrics.series.loss.last == 0.9" run.json
'

test_expect_success 'mlv metrics show <run> and diff of two runs' '
	mlv metrics show final >show &&
	cat >expect <<-\EOF &&
	Path          Metric    Value
	metrics.json  acc       0.5
	metrics.json  val.f1    null
	metrics.json  val.loss  0.25
	EOF
	test_cmp expect show &&
	mlv metrics show --json "run:bad" >show &&
	jq -e ".metrics.final.loss == 0.0625 and .run != null and .rev == null" show &&
	mlv metrics diff --json bad final >diff &&
	jq -e ".diff | map(select(.name == \"acc\"))[0] | .old == 0.75 and .new == 0.5 and .path == \"final -> metrics.json\"" diff &&
	mlv metrics diff --md bad final >diff &&
	grep "^| final -> metrics.json | acc | 0.75 | 0.5 | -0.25 (-33.33%) |\$" diff
'

test_expect_success 'a run against a commit of the metrics file it wrote' '
	mlv add --kind metric metrics.json &&
	git add metrics.json.mlv && test_tick && git commit -q -m metrics &&
	mlv metrics diff HEAD final >diff &&
	test_must_be_empty diff &&
	id=$(git for-each-ref --format="%(refname:strip=3)" refs/mlv/runs | sort | tail -n 1) &&
	mlv metrics diff --all HEAD "$id" >diff &&
	grep "^metrics.json  acc " diff
'

test_done
