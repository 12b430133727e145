#!/bin/sh

test_description='mlv repro of the reference trainer on a GPU

The run leases its GPU (--gpus 1) and so does its repro; the default CUDA
kernels reproduce bit for bit, the atomic adds of --nondeterministic do
not.  Skipped without a GPU or without the CUDA path of mlv-refnet.'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-refnet.sh

skip_without_cuda_gpu

run_id () {
	mlv runs --json --where "name=$1" -n 1 | jq -r ".runs[0].id"
}

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	echo gpu >README &&
	git add -A && test_tick && git commit -q -m init &&
	test_write_lines /out /err /out.json /run.json >>.git/info/exclude
'

test_expect_success 'the deterministic CUDA kernels reproduce bit for bit, on a leased GPU' '
	mlv run -q --name cuda --gpus 1 --deterministic -o model.safetensors -- \
		mlv-refnet -q --device cuda --epochs 3 &&
	mlv repro -q --verify --json cuda >out.json &&
	jq -e ".verified == true and .outputs[0].match == true" out.json &&
	git cat-file blob "refs/mlv/runs/$(jq -r .repro out.json):run.json" >run.json &&
	jq -e ".gpus.count == 1 and .options.gpus == \"1\" and .reproduces == \"$(run_id cuda)\"" run.json
'

test_expect_success 'atomic adds (--nondeterministic): exit 1 naming the tensors that differ' '
	mlv run -q --name cuda-nd --gpus 1 -o model.safetensors -- \
		mlv-refnet -q --device cuda --epochs 3 --nondeterministic &&
	i=0 &&
	while test $i -lt 5
	do
		test_expect_code 1 mlv repro -q --verify cuda-nd >out && break
		grep "^reproduced" out || return 1
		i=$((i + 1))
	done &&
	test $i -lt 5 &&
	cat out &&
	grep "^model.safetensors  .*  NO$" out &&
	grep "^    tensor fc[12]\.[a-z]*: [1-9][0-9]* of [0-9]* elements differ, max abs" out
'

test_done
