#!/bin/sh

test_description='mlv run --gpus on a real GPU: NVML UUIDs in CUDA_VISIBLE_DEVICES are what CUDA sees'

. "$(dirname "$0")"/test-lib.sh

unset MLV_GPU_INVENTORY
LOCKS=$TRASH_DIRECTORY/locks
T=$TRASH_DIRECTORY

# What the CUDA driver sees under the environment it is given: one line
# per device, its UUID as NVML writes it ("GPU-xxxxxxxx-xxxx-...").
cat >"$T/cuda-devices.py" <<\EOF
import ctypes, sys
cuda = ctypes.CDLL("libcuda.so.1")
rc = cuda.cuInit(0)
if rc == 100:  # CUDA_ERROR_NO_DEVICE: none visible
    sys.exit(0)
if rc != 0:
    sys.exit("cuInit failed: %d" % rc)
n = ctypes.c_int()
cuda.cuDeviceGetCount(ctypes.byref(n))
for i in range(n.value):
    dev = ctypes.c_int()
    cuda.cuDeviceGet(ctypes.byref(dev), i)
    u = (ctypes.c_ubyte * 16)()
    getuuid = getattr(cuda, "cuDeviceGetUuid_v2", None) or cuda.cuDeviceGetUuid
    getuuid(u, dev)
    h = bytes(u).hex()
    print("GPU-%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32]))
EOF

# hold: a run that leases every GPU until $T/hold.go exists
hold () {
	mlv run -q --gpus all -- sh -c "touch \"$T/hold\"; while ! test -e \"$T/hold.go\"; do sleep 0.05; done" &
}

test_lazy_prereq CUDA_PY '
	python3 "$T/cuda-devices.py" >/dev/null 2>&1
'

test_expect_success GPU 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	git config mlv.run.lockDir "$LOCKS" &&
	nvidia-smi --query-gpu=uuid --format=csv,noheader >../uuids &&
	head -n 1 ../uuids >../uuid0
'

test_expect_success GPU '--gpus 1 passes the first free GPU by its NVML UUID' '
	mlv run -q --gpus 1 -- sh -c "echo \"\$CUDA_VISIBLE_DEVICES \$CUDA_DEVICE_ORDER\" >\"$T/one\"" &&
	echo "$(cat ../uuid0) PCI_BUS_ID" >expect &&
	test_cmp expect "$T/one" &&
	ref=$(git for-each-ref --format="%(refname)" refs/mlv/runs/ | tail -n 1) &&
	git show "$ref:run.json" >run.json &&
	jq -e ".gpus.count == 1 and .gpus.uuids == [\"$(cat ../uuid0)\"]" run.json
'

test_expect_success GPU,CUDA_PY 'CUDA sees exactly the leased device' '
	mlv run --gpus 1 -- python3 "$T/cuda-devices.py" >seen &&
	test_cmp ../uuid0 seen &&
	mlv run --gpus all -- python3 "$T/cuda-devices.py" >seen &&
	test_cmp ../uuids seen &&
	mlv run --gpus 0 -- python3 "$T/cuda-devices.py" >seen &&
	test_must_be_empty seen
'

test_expect_success GPU 'a leased GPU is busy for the next run, and mlv gpus names the holder' '
	test_when_finished "touch \"$T/hold.go\"; wait" &&
	hold &&
	i=0 &&
	while ! test -e "$T/hold"
	do
		i=$((i + 1)) &&
		test $i -lt 3000 || return 1
		sleep 0.02
	done &&
	mlv gpus --json >gpus.json &&
	jq -e ".source == \"nvml\" and ([.gpus[].holders | length] | all(. == 1))" gpus.json &&
	holder=$(jq -r ".gpus[0].holders[0].run" gpus.json) &&
	test_must_fail mlv run --gpus 1 -- true 2>err &&
	grep "is leased by run $holder (pid " err &&
	mlv gpus >out &&
	grep "^   leased by run $holder, pid " out
'

test_done
