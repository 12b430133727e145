#!/bin/sh

test_description='mlv-refnet --device cuda: on a GPU

Skipped without a GPU or without the CUDA path (no nvcc at build time).
The same seed gives the same weights on the GPU; the default kernels sum
in the CPU order with the same arithmetic, so the GPU gives the CPU bits;
--nondeterministic uses atomic adds and gives weights that differ between
runs; CUDA_VISIBLE_DEVICES is honoured.'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-refnet.sh

skip_without_cuda_gpu

test_expect_success 'trains on the GPU and names the device on stderr' '
	mlv-refnet --seed 1 --device cuda -o gpu1.safetensors >out 2>err &&
	cat err &&
	grep "^mlv-refnet: device cuda:0: .* (sm_[0-9]*, GPU-[0-9a-f-]*), driver CUDA [0-9.]*, deterministic\$" err &&
	test_line_count = 5 out &&
	grep "^epoch 5 loss=" out &&
	mlv-refnet -q --seed 1 --device cuda -o quiet.safetensors 2>err &&
	grep "^mlv-refnet: device cuda:0: " err
'

test_expect_success 'the same seed gives the same weights on the GPU' '
	mlv-refnet -q --seed 1 --device cuda -o gpu2.safetensors 2>/dev/null &&
	cmp gpu1.safetensors gpu2.safetensors &&
	mlv-refnet -q --seed 2 --device cuda -o gpu-seed2.safetensors 2>/dev/null &&
	! same_tensors gpu1.safetensors gpu-seed2.safetensors
'

test_expect_success 'the GPU gives the bits the CPU gives, metrics too' '
	MLV_METRICS=cpu.jsonl mlv-refnet -q --seed 1 --device cpu -o cpu1.safetensors &&
	MLV_METRICS=gpu.jsonl mlv-refnet -q --seed 1 --device cuda -o gpu3.safetensors 2>/dev/null &&
	cmp cpu1.safetensors gpu3.safetensors &&
	test_cmp cpu.jsonl gpu.jsonl
'

test_expect_success 'odd sizes: the same on the GPU and the CPU' '
	args="--seed 9 --samples 1001 --batch 300 --hidden 17 --features 5 --classes 3 --epochs 2" &&
	mlv-refnet -q $args --threads 3 -o odd-cpu.safetensors &&
	mlv-refnet -q $args --device cuda -o odd-gpu.safetensors 2>/dev/null &&
	cmp odd-cpu.safetensors odd-gpu.safetensors
'

test_expect_success 'a data file on the GPU' '
	awk "BEGIN { for (i = 0; i < 500; i++) printf \"%d,%d,%d\n\", i % 7, (i * 13) % 11 - 5, (i % 7 > 3) }" >data.csv &&
	mlv-refnet -q --seed 5 -d data.csv -o data-cpu.safetensors &&
	mlv-refnet -q --seed 5 -d data.csv --device cuda -o data-gpu.safetensors 2>/dev/null &&
	cmp data-cpu.safetensors data-gpu.safetensors
'

test_expect_success '--nondeterministic on the GPU: atomic adds give different weights' '
	mlv-refnet -q --seed 1 --device cuda --nondeterministic -o nd.safetensors 2>err &&
	grep "nondeterministic (atomic adds)" err &&
	differ_across_runs 5 --seed 1 --device cuda --nondeterministic --batch 256
'

test_expect_success 'CUDA_VISIBLE_DEVICES chooses the device' '
	nvidia-smi --query-gpu=uuid --format=csv,noheader | head -n 1 >uuid &&
	CUDA_VISIBLE_DEVICES=$(cat uuid) mlv-refnet -q --seed 1 --device cuda \
		-o visible.safetensors 2>err &&
	grep "$(cat uuid)" err &&
	cmp gpu1.safetensors visible.safetensors
'

test_expect_success 'no visible device: exit 1, says why' '
	test_expect_code 1 env CUDA_VISIBLE_DEVICES= mlv-refnet -q --device cuda \
		-o none.safetensors 2>err &&
	grep "^mlv-refnet: error: --device cuda: no usable CUDA device (cuInit): CUDA_ERROR_NO_DEVICE" err &&
	test_path_is_missing none.safetensors
'

test_expect_success 'a device number past the last: exit 1, says how many there are' '
	test_expect_code 1 mlv-refnet -q --device cuda:1023 -o none.safetensors 2>err &&
	grep "^mlv-refnet: error: --device cuda:1023: there .* CUDA device" err &&
	test_path_is_missing none.safetensors
'

test_done
