#!/bin/sh

test_description='mlv run finds inputs and outputs by tracing the files the process tree opens'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-runs.sh

test_lazy_prereq PYTHON 'python3 -c "import multiprocessing"'

test_expect_success 'setup: tracked data, a tracked model, an untracked file' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	mkdir -p data/train data/test &&
	seq 1 100 >data/train/a.csv && seq 1 50 >data/train/b.csv && seq 1 10 >data/test/t.csv &&
	mlv add -q data/train data/test &&
	echo old >model.bin && mlv add -q model.bin &&
	echo plain >notes.txt &&
	git add -A && test_tick && git commit -q -m init &&
	test_write_lines /run.json /err /out >>.git/info/exclude
'

test_expect_success 'a file read by a grandchild is an input; the directory artifact is named' '
	mlv run -q -- sh -c "sh -c \"cat data/train/a.csv >/dev/null\"" &&
	last_run >run.json &&
	jq -e ".trace.mode == \"ptrace\"" run.json &&
	jq -e "[.inputs[] | .path] == [\"data/train\"] and .inputs[0].how == \"traced\"" run.json &&
	oid=$(sed -n "s/^oid //p" data/train.mlv) &&
	jq -e --arg o "$oid" ".inputs[0].oid == \$o" run.json
'

test_expect_success 'files not tracked by mlv, and failed opens, are not inputs' '
	mlv run -q -- sh -c "cat notes.txt train.py data/nope 2>/dev/null; true" &&
	last_run | jq -e ".inputs == []"
'

test_expect_success 'writing to a tracked artifact makes it an output, stored again' '
	mlv run -q -- sh -c "cat data/test/t.csv >/dev/null; echo new >model.bin" &&
	last_run >run.json &&
	jq -e "[.outputs[] | .path] == [\"model.bin\"] and .outputs[0].how == \"traced\"" run.json &&
	jq -e "[.inputs[] | .path] == [\"data/test\"]" run.json &&
	oid=$(sed -n "s/^oid //p" model.bin.mlv) &&
	jq -e --arg o "$oid" ".outputs[0].oid == \$o" run.json &&
	test "$(mlv cat model.bin)" = new
'

test_expect_success 'a file renamed into a declared output directory is part of it' '
	mlv run -q -o out -- sh -c "mkdir -p out && echo w >out/.tmp && mv out/.tmp out/w.bin" &&
	last_run | jq -e "[.outputs[] | .path] == [\"out\"]" &&
	test_path_is_file out.mlv
'

test_expect_success PYTHON 'worker processes of a Python program are traced (multiprocessing)' '
	cat >load.py <<-\EOF &&
	import multiprocessing as mp
	def read(p):
	    with open(p) as f:
	        return len(f.read())
	if __name__ == "__main__":
	    with mp.get_context("fork").Pool(2) as pool:
	        print(sum(pool.map(read, ["data/train/b.csv", "data/test/t.csv"])))
	EOF
	mlv run -q -- python3 load.py &&
	last_run >run.json &&
	jq -e "[.inputs[] | .path] | sort == [\"data/test\", \"data/train\"]" run.json
'

test_expect_success '--no-trace records only what was declared' '
	mlv run -q --no-trace -d data/test -- sh -c "cat data/train/a.csv >/dev/null" &&
	last_run >run.json &&
	jq -e ".trace.mode == \"off\" and [.inputs[] | .path] == [\"data/test\"]" run.json
'

test_expect_success 'where tracing is not permitted, mlv says so once and runs untraced' '
	# LeakSanitizer cannot run in a traced process
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	strace -f -o /dev/null mlv run -d data/test -- sh -c "cat data/train/a.csv >/dev/null" 2>err &&
	test "$(grep -c "cannot trace" err)" = 1 &&
	last_run >run.json &&
	jq -e ".trace.mode == \"unavailable\" and (.trace.why | length) > 0" run.json &&
	jq -e "[.inputs[] | .path] == [\"data/test\"]" run.json
'

test_done
