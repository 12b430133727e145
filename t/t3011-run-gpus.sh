#!/bin/sh

test_description='mlv run --gpus: concurrent runs get different devices, --wait queues, a busy device fails at once'

. "$(dirname "$0")"/test-lib.sh

MLV_GPU_INVENTORY="GPU-aaaa-1111,Fake A,1024;GPU-bbbb-2222,Fake B,2048"
export MLV_GPU_INVENTORY
LOCKS=$TRASH_DIRECTORY/locks
T=$TRASH_DIRECTORY

# A command that says which GPUs it sees, then runs until <name>.go exists.
cat >"$T/gpujob" <<\EOF
#!/bin/sh
echo "$CUDA_VISIBLE_DEVICES $CUDA_DEVICE_ORDER" >"$1.tmp" && mv "$1.tmp" "$1"
while ! test -e "$1.go"; do sleep 0.05; done
EOF
chmod +x "$T/gpujob"

# wait_for <file>: until it exists (a run holds its lease by then)
wait_for () {
	i=0
	while ! test -e "$1"
	do
		i=$((i + 1))
		test $i -lt 3000 || return 1
		sleep 0.02
	done
}

# bg <name> <mlv run options>...: `mlv run -q <options> -- gpujob <name>` in
# the background; its pid in $T/<name>.pid
bg () {
	name=$1
	shift
	mlv run -q "$@" -- "$T/gpujob" "$T/$name" &
	echo $! >"$T/$name.pid"
}

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	git config mlv.run.lockDir "$LOCKS" &&
	echo "*.out" >.gitignore &&
	git add .gitignore &&
	git commit -q -m init
'

test_expect_success '--gpus 1 sets CUDA_VISIBLE_DEVICES by UUID and records the device' '
	mlv run -q --gpus 1 -- sh -c "echo \"\$CUDA_VISIBLE_DEVICES \$CUDA_DEVICE_ORDER\" >\"$T/one\"" &&
	echo "GPU-aaaa-1111 PCI_BUS_ID" >expect &&
	test_cmp expect "$T/one" &&
	ref=$(git for-each-ref --format="%(refname)" refs/mlv/runs/ | tail -n 1) &&
	git show "$ref:run.json" >run.json &&
	jq -e ".gpus.count == 1 and .gpus.uuids == [\"GPU-aaaa-1111\"] and .gpus.models == [\"Fake A\"]" run.json &&
	mlv gpus --json >gpus.json &&
	jq -e "[.gpus[].holders | length] == [0, 0]" gpus.json
'

test_expect_success '--gpus 0 hides every GPU; --gpus 0,1 and a UUID pick devices' '
	mlv run -q --gpus 0 -- sh -c "echo \"[\$CUDA_VISIBLE_DEVICES]\" >\"$T/none\"" &&
	echo "[]" >expect &&
	test_cmp expect "$T/none" &&
	mlv run -q --gpus 0,1 -- sh -c "echo \"\$CUDA_VISIBLE_DEVICES\" >\"$T/both\"" &&
	echo "GPU-aaaa-1111,GPU-bbbb-2222" >expect &&
	test_cmp expect "$T/both" &&
	mlv run -q --gpus GPU-bbbb-2222 -- sh -c "echo \"\$CUDA_VISIBLE_DEVICES\" >\"$T/byid\"" &&
	echo "GPU-bbbb-2222" >expect &&
	test_cmp expect "$T/byid"
'

test_expect_success 'no GPU, or a device that does not exist: mlv fails before the command' '
	test_must_fail env MLV_GPU_INVENTORY= mlv run --gpus 1 -- touch "$T/ran" 2>err &&
	grep "no GPU: MLV_GPU_INVENTORY names no GPU" err &&
	test_must_fail mlv run --gpus 3 -- touch "$T/ran" 2>err &&
	grep "asked for 3 GPUs, this machine has 2" err &&
	test_must_fail mlv run --gpus 0,5 -- touch "$T/ran" 2>err &&
	grep "no GPU 5 on this machine" err &&
	test_must_fail mlv run --gpus lots -- touch "$T/ran" 2>err &&
	grep "bad --gpus .lots." err &&
	! test -e "$T/ran"
'

test_expect_success 'two concurrent runs get different GPUs; a third fails at once naming a holder' '
	test_when_finished "touch \"$T/a.go\" \"$T/b.go\"; wait" &&
	bg a --name job-a --gpus 1 &&
	bg b --name job-b --gpus 1 &&
	wait_for "$T/a" &&
	wait_for "$T/b" &&
	cat "$T/a" "$T/b" | sort >actual &&
	printf "%s\n" "GPU-aaaa-1111 PCI_BUS_ID" "GPU-bbbb-2222 PCI_BUS_ID" >expect &&
	test_cmp expect actual &&
	mlv gpus --json >gpus.json &&
	jq -e "[.gpus[].holders | length] == [1, 1]" gpus.json &&
	jq -e "[.gpus[].holders[0].run | test(\"^[0-9]{8}-[0-9]{6}-[0-9a-f]{8}$\")] == [true, true]" gpus.json &&
	holder=$(jq -r ".gpus[0].holders[0].run" gpus.json) &&
	test_must_fail mlv run --gpus 1 -- touch "$T/ran" 2>err &&
	grep "GPUs busy (--gpus 1): GPU 0 (GPU-aaaa-1111) is leased by run $holder (pid " err &&
	! test -e "$T/ran" &&
	test_must_fail mlv run --gpus 1 --wait=1 -- touch "$T/ran" 2>err &&
	grep "gave up waiting for GPUs (--gpus 1): GPU 0 (GPU-aaaa-1111) is leased by run $holder" err &&
	! test -e "$T/ran" &&
	! ls "$LOCKS" | grep "^wait\."
'

test_expect_success 'a third run with --wait queues and starts once a device is free' '
	test_when_finished "touch \"$T/c.go\" \"$T/d.go\" \"$T/e.go\"; wait" &&
	rm -f "$T/c" "$T/d" "$T/e" &&
	bg c --gpus 1 &&
	bg d --gpus 1 &&
	wait_for "$T/c" &&
	wait_for "$T/d" &&
	bg e --gpus 1 --wait &&
	i=0 &&
	until mlv gpus --json >gpus.json && jq -e ".waiting | length == 1" gpus.json
	do
		i=$((i + 1)) &&
		test $i -lt 3000 || return 1
		sleep 0.02
	done &&
	! test -e "$T/e" &&
	touch "$T/d.go" &&
	wait_for "$T/e" &&
	test "$(cat "$T/e")" = "$(cat "$T/d")"
'

test_expect_success 'a signal while waiting ends the run and leaves no ticket' '
	test_when_finished "touch \"$T/h.go\" \"$T/i.go\" \"$T/w.go\"; wait" &&
	rm -f "$T/h" "$T/i" "$T/w" &&
	bg h --gpus 1 &&
	bg i --gpus 1 &&
	wait_for "$T/h" &&
	wait_for "$T/i" &&
	bg w --gpus 1 --wait &&
	i=0 &&
	until ls "$LOCKS" | grep "^wait\." >/dev/null
	do
		i=$((i + 1)) &&
		test $i -lt 3000 || return 1
		sleep 0.02
	done &&
	kill -TERM "$(cat "$T/w.pid")" &&
	{ wait "$(cat "$T/w.pid")"; status=$?; } &&
	test $status != 0 &&
	! test -e "$T/w" &&
	! ls "$LOCKS" | grep "^wait\." &&
	mlv gpus --json >gpus.json &&
	jq -e ".waiting == []" gpus.json
'

test_expect_success 'a killed run frees its GPU' '
	test_when_finished "touch \"$T/f.go\" \"$T/g.go\"; wait" &&
	rm -f "$T/f" "$T/g" &&
	bg f --gpus device=1 &&
	pid=$(cat "$T/f.pid") &&
	wait_for "$T/f" &&
	test_must_fail mlv run --gpus device=1 -- true 2>err &&
	grep "is leased by run" err &&
	kill -9 $pid &&
	{ wait $pid || :; } &&
	mlv gpus --json >gpus.json &&
	jq -e "[.gpus[].holders | length] == [0, 0]" gpus.json &&
	bg g --gpus device=1 &&
	wait_for "$T/g" &&
	echo "GPU-bbbb-2222 PCI_BUS_ID" >expect &&
	test_cmp expect "$T/g"
'

test_done
