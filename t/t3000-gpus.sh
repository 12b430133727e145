#!/bin/sh

test_description='mlv gpus: NVML when there is a GPU, an inventory variable, none at all'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'no NVML library: no GPU, exit 0, one JSON object' '
	MLV_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 mlv gpus >out &&
	grep "^no GPU: no NVML library" out &&
	MLV_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 mlv gpus --json >out.json &&
	jq -e ".source == \"none\" and (.gpus | length) == 0 and (.none | test(\"NVML\"))" out.json
'

test_expect_success 'MLV_GPU_INVENTORY describes the GPUs' '
	MLV_GPU_INVENTORY="GPU-aaaa,NVIDIA H100 80GB HBM3,81559,9.0,00000000:1B:00.0;GPU-bbbb,Other GPU,1024" \
		mlv gpus --json >out.json &&
	jq -e ".source == \"MLV_GPU_INVENTORY\" and (.gpus | length) == 2" out.json &&
	jq -e ".gpus[0].uuid == \"GPU-aaaa\" and .gpus[0].compute_capability == \"9.0\"" out.json &&
	jq -e ".gpus[0].memory_total == 81559 * 1048576 and .gpus[1].index == 1" out.json &&
	jq -e ".gpus[1].pci_bus_id == null and .gpus[1].compute_capability == null" out.json &&
	MLV_GPU_INVENTORY="GPU-aaaa,NVIDIA H100 80GB HBM3,81559,9.0" mlv gpus >out &&
	grep "^0  NVIDIA H100 80GB HBM3 *sm_90 .*GPU-aaaa$" out
'

test_expect_success 'an empty MLV_GPU_INVENTORY means no GPU' '
	MLV_GPU_INVENTORY= mlv gpus --json >out.json &&
	jq -e "(.gpus | length) == 0 and .none != null" out.json
'

test_expect_success 'a malformed MLV_GPU_INVENTORY is an error naming the entry' '
	for bad in "x" "uuid,name" "uuid,name,lots" "uuid,name,1,nine" ",name,1" "a,b,1,9.0,bus,extra" \
		"uuid,name,-5" "uuid,name, 5" "uuid,name,+5" "uuid,name,99999999999999999999"
	do
		test_expect_code 128 env MLV_GPU_INVENTORY="$bad" mlv gpus 2>err &&
		grep "MLV_GPU_INVENTORY: bad entry" err || return 1
	done &&
	test_expect_code 128 env MLV_GPU_INVENTORY="GPU-a,X,5;GPU-a,Y,6" mlv gpus 2>err &&
	grep "GPU GPU-a is listed twice" err
'

test_expect_success 'works outside a repository' '
	(cd / && MLV_GPU_INVENTORY= mlv gpus) >out &&
	grep "^no GPU" out
'

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1
then
	test_set_prereq GPU
fi

test_expect_success GPU 'with a GPU: NVML lists what nvidia-smi lists' '
	nvidia-smi --query-gpu=uuid --format=csv,noheader | sort >expect &&
	mlv gpus --json >out.json &&
	jq -e ".source == \"nvml\" and .driver != null and .cuda != null" out.json &&
	jq -r ".gpus[].uuid" out.json | sort >actual &&
	test_cmp expect actual &&
	nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -n 1 >mib &&
	jq -e ".gpus[0].memory_total == $(cat mib) * 1048576" out.json
'

test_done
