#!/bin/sh

test_description='mlv-refnet: the reference trainer on the CPU

The same seed gives bit-identical weights whatever the thread count, a
different seed different ones; --nondeterministic races threads so that
runs differ; the weights are a valid safetensors file written atomically;
metrics go to stdout and $MLV_METRICS; bad arguments are refused.'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-refnet.sh

test_expect_success '-h and --version' '
	mlv-refnet -h >out &&
	grep "^usage: mlv-refnet " out &&
	grep -e "--nondeterministic" out &&
	mlv-refnet --version >out &&
	grep "^mlv-refnet [0-9]" out &&
	grep "^cuda kernels: " out
'

test_expect_success 'the man page has the usage of -h and every option' '
	page=$MLV_BUILD_DIR/man/mlv-refnet.1 &&
	mlv-refnet -h >help &&
	sed -n -e "s/^usage: //p" -e "s/^   or: //p" -e "s/^                  /           /p" help >expect &&
	sed -n "/^\.SH SYNOPSIS/,/^\.SH /p" "$page" | sed -e "/^\./d" -e "s/\\\\f[BIRP]//g" -e "s/\\\\-/-/g" >actual &&
	test_cmp expect actual &&
	sed -n -e "s/^    \(-[a-z]\), \(--[a-z-]*\).*/\1 \2/p" -e "s/^    \(--[a-z-]*\).*/\1/p" help |
	tr " " "\n" >options &&
	test_line_count = 20 options &&
	sed -n "/^\.SH OPTIONS/,/^\.SH /p" "$page" | sed -e "s/\\\\-/-/g" >page-options &&
	while read -r opt
	do
		grep -e "^\.B.* \"*$opt\b" -e "^\.B.* \"*[-a-z]*, $opt\b" page-options >/dev/null || {
			echo "$opt is not in the man page" &&
			return 1
		}
	done <options
'

test_expect_success 'a default run trains and writes model.safetensors' '
	mlv-refnet --seed 1 >out 2>err &&
	test_path_is_file model.safetensors &&
	test_line_count = 5 out &&
	grep "^epoch 1 loss=[0-9.]* acc=[0-9.]*\$" out &&
	grep "^epoch 5 loss=" out &&
	grep "seed 1 (--seed)" err &&
	grep "wrote model.safetensors" err &&
	first=$(sed -n "s/^epoch 1 loss=\([0-9.]*\) .*/\1/p" out) &&
	last=$(sed -n "s/^epoch 5 loss=\([0-9.]*\) .*/\1/p" out) &&
	awk "BEGIN { exit !($last < $first) }" &&
	cp model.safetensors seed1.safetensors
'

test_expect_success 'the same seed gives the same weights, bit for bit' '
	mlv-refnet -q --seed 1 -o again.safetensors >out 2>err &&
	test_must_be_empty out &&
	test_must_be_empty err &&
	cmp seed1.safetensors again.safetensors
'

test_expect_success 'the seed comes from MLV_SEED; --seed wins over it' '
	MLV_SEED=1 mlv-refnet -q -o env.safetensors &&
	cmp seed1.safetensors env.safetensors &&
	MLV_SEED=7 mlv-refnet -q --seed 1 -o both.safetensors &&
	cmp seed1.safetensors both.safetensors &&
	MLV_SEED=1 mlv-refnet -o env2.safetensors 2>err >/dev/null &&
	grep "seed 1 (MLV_SEED)" err
'

test_expect_success 'without --seed or MLV_SEED the seed is 0' '
	mlv-refnet -o default.safetensors 2>err >/dev/null &&
	grep "seed 0 (default)" err &&
	mlv-refnet -q --seed 0 -o zero.safetensors &&
	cmp default.safetensors zero.safetensors
'

test_expect_success 'a different seed gives different weights' '
	mlv-refnet -q --seed 2 -o seed2.safetensors &&
	! same_tensors seed1.safetensors seed2.safetensors &&
	MLV_SEED=4294967296 mlv-refnet -q -o big.safetensors &&
	! same_tensors seed1.safetensors big.safetensors
'

test_expect_success 'the thread count does not change a bit' '
	for n in 1 2 3 4 7
	do
		mlv-refnet -q --seed 1 --threads $n -o t$n.safetensors &&
		cmp seed1.safetensors t$n.safetensors || return 1
	done
'

test_expect_success 'the thread count does not change a bit: odd sizes' '
	for n in 1 3 5
	do
		mlv-refnet -q --seed 9 --threads $n --samples 1001 --batch 300 \
			--hidden 17 --features 5 --classes 3 --epochs 2 -o odd$n.safetensors ||
		return 1
	done &&
	cmp odd1.safetensors odd3.safetensors &&
	cmp odd1.safetensors odd5.safetensors
'

test_expect_success TWO_CPUS '--nondeterministic: racing threads give different weights' '
	differ_across_runs 10 --seed 1 --threads 4 --nondeterministic
'

test_expect_success '--nondeterministic with one thread has no race: the deterministic weights' '
	mlv-refnet -q --seed 1 --threads 1 --nondeterministic -o nd1.safetensors &&
	same_tensors seed1.safetensors nd1.safetensors &&
	st_header nd1.safetensors | jq -e ".__metadata__.deterministic == \"false\""
'

test_expect_success 'the safetensors header is valid' '
	mlv-refnet -q --seed 3 --hidden 20 --features 7 --classes 4 -o m.safetensors &&
	st_header m.safetensors >header.json &&
	jq -e . header.json >/dev/null &&
	len=$(od -An -tu8 -N8 m.safetensors | tr -d " ") &&
	test $(( (8 + len) % 8 )) = 0 &&
	jq -r "keys_unsorted[]" header.json >names &&
	printf "%s\n" __metadata__ fc1.bias fc1.weight fc2.bias fc2.weight >expect &&
	test_cmp expect names &&
	jq -c "[.\"fc1.bias\", .\"fc1.weight\", .\"fc2.bias\", .\"fc2.weight\"] | map([.dtype, .shape, .data_offsets])" \
		header.json >actual &&
	echo "[[\"F32\",[20],[0,80]],[\"F32\",[20,7],[80,640]],[\"F32\",[4],[640,656]],[\"F32\",[4,20],[656,976]]]" >expect &&
	test_cmp expect actual &&
	test $(wc -c <m.safetensors) = $((8 + len + 976)) &&
	jq -e ".__metadata__ | .seed == \"3\" and .hidden == \"20\" and .lr == \"0.1\" and .deterministic == \"true\" and (to_entries | all(.value | type == \"string\"))" \
		header.json
'

test_expect_success '$MLV_METRICS gets one JSON line per epoch, appended' '
	echo "{\"step\": 0, \"note\": \"before\"}" >metrics.jsonl &&
	MLV_METRICS=$PWD/metrics.jsonl mlv-refnet --seed 1 --epochs 3 -o m3.safetensors >out 2>/dev/null &&
	test_line_count = 4 metrics.jsonl &&
	head -n 1 metrics.jsonl | grep before &&
	tail -n 3 metrics.jsonl | jq -s -e "map(.step) == [1,2,3] and all(.loss | type == \"number\") and all(.acc >= 0 and .acc <= 1)" &&
	tail -n 3 metrics.jsonl | jq -s -e "map(keys) | all(. == [\"acc\",\"loss\",\"step\"])" &&
	# stdout rounds what the JSON gives in full
	loss=$(sed -n 2p metrics.jsonl | jq .loss) &&
	grep "^epoch 1 loss=$(printf %.6f "$loss") " out
'

test_expect_success '-q: no progress, but the metrics still' '
	rm -f metrics.jsonl &&
	MLV_METRICS=metrics.jsonl mlv-refnet -q --seed 1 --epochs 2 -o q.safetensors >out 2>err &&
	test_must_be_empty out &&
	test_must_be_empty err &&
	test_line_count = 2 metrics.jsonl
'

test_expect_success 'an unwritable $MLV_METRICS fails before training' '
	test_expect_code 1 env MLV_METRICS=nodir/m.jsonl mlv-refnet -q -o nometrics.safetensors 2>err &&
	grep "cannot open .nodir/m.jsonl. (MLV_METRICS)" err &&
	test_path_is_missing nometrics.safetensors
'

test_expect_success 'the output replaces the old file whole, no temporary left' '
	mkdir outdir &&
	echo old >outdir/model.safetensors &&
	mlv-refnet -q --seed 1 -o outdir/model.safetensors &&
	cmp seed1.safetensors outdir/model.safetensors &&
	ls -a outdir >list &&
	printf "%s\n" . .. model.safetensors >expect &&
	test_cmp expect list
'

test_expect_success 'an output that cannot be written: exit 1, nothing left' '
	test_expect_code 1 mlv-refnet -q -o nodir/model.safetensors 2>err &&
	grep "^mlv-refnet: error: cannot create a temporary file for .nodir/model.safetensors." err &&
	mkdir isdir &&
	test_expect_code 1 mlv-refnet -q -o isdir 2>err &&
	grep "^mlv-refnet: error: -o .isdir.: is a directory" err &&
	ls -a isdir >list &&
	printf "%s\n" . .. >expect &&
	test_cmp expect list
'

test_expect_success 'a FIFO as the output is written into, not replaced' '
	mkfifo fifo &&
	{ cat fifo >from-fifo & } &&
	mlv-refnet -q --seed 1 -o fifo &&
	wait &&
	test -p fifo &&
	cmp seed1.safetensors from-fifo &&
	ls -a >list &&
	! grep "^\.fifo\." list
'

test_expect_success 'a symbolic link as the output is replaced by the file' '
	echo old >target &&
	ln -s target link.safetensors &&
	mlv-refnet -q --seed 1 -o link.safetensors &&
	test_path_is_file link.safetensors &&
	! test -h link.safetensors &&
	cmp seed1.safetensors link.safetensors &&
	echo old >expect &&
	test_cmp expect target
'

test_expect_success 'bad arguments: exit 2 with the reason and the usage' '
	for args in "--seed -1" "--seed abc" "--seed 18446744073709551616" "--seed=" \
		"--epochs 0" "--epochs x" "--hidden 0" "--lr 0" "--lr -1" "--lr nan" \
		"--lr 1e9" "--batch 0" "--samples 0" "--classes 1" "--threads 0" \
		"--threads 1000" "--device tpu" "--device cuda:x" "--bogus" "-x" \
		"extra" "-d data.csv --samples 10" "-d data.csv --features 3" "--seed"
	do
		test_expect_code 2 mlv-refnet $args -o bad.safetensors 2>err &&
		grep "^mlv-refnet: error: " err &&
		grep "^usage: mlv-refnet" err &&
		test_path_is_missing bad.safetensors || return 1
	done
'

test_expect_success 'a bad MLV_SEED is refused' '
	for seed in "" -3 1.5 0x10 " 1"
	do
		test_expect_code 2 env MLV_SEED="$seed" mlv-refnet -q -o bad.safetensors 2>err &&
		grep "MLV_SEED: expected a whole number" err || return 1
	done
'

test_expect_success REFNET_CUDA '--device cuda without a CUDA driver: exit 1, says why' '
	test_expect_code 1 env MLV_REFNET_LIBCUDA=/nonexistent/libcuda.so.1 \
		mlv-refnet -q --device cuda -o gpu.safetensors 2>err &&
	grep "^mlv-refnet: error: --device cuda: no CUDA driver: /nonexistent/libcuda.so.1" err &&
	test_path_is_missing gpu.safetensors
'

test_expect_success !REFNET_CUDA '--device cuda in a build without nvcc: exit 1, says why' '
	test_expect_code 1 mlv-refnet -q --device cuda -o gpu.safetensors 2>err &&
	grep "built without CUDA kernels" err &&
	test_path_is_missing gpu.safetensors
'

test_done
