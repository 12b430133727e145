#!/bin/sh

test_description='GPU leases seen by mlv gpus: holders, waiters, stale records, the lock directory'

. "$(dirname "$0")"/test-lib.sh

# t/unit/bin/t-lease holds a lease from the shell (see t/unit/t-lease.c).
HOLD=$MLV_BUILD_DIR/t/unit/bin/t-lease
if test -x "$HOLD"
then
	test_set_prereq HOLD
fi

MLV_GPU_INVENTORY="GPU-aaaa-1111,Fake A,1024;GPU-bbbb-2222,Fake B,2048"
export MLV_GPU_INVENTORY
LOCKS=$TRASH_DIRECTORY/locks

# hold <out file> <slots> <spec> <run id> [<wait ms>]: start a holder in
# the background; its pid is in <out file>.pid once it holds (or failed).
hold () {
	out=$1 &&
	shift &&
	slots=$1 &&
	shift &&
	rm -f "$out" "$out.pid" &&
	("$HOLD" hold "$LOCKS" "$slots" "$@" >"$out" 2>&1 & echo $! >"$out.pid") &&
	i=0 &&
	while ! grep -q "^held\|^error" "$out"
	do
		i=$((i + 1)) &&
		test $i -lt 3000 || return 1
		sleep 0.02
	done
}

# stop <out file>: kill the holder, and wait until it is gone (its locks with it)
stop () {
	if test -s "$1.pid"
	then
		pid=$(cat "$1.pid") &&
		kill -9 "$pid" 2>/dev/null
		i=0
		while test -d /proc/$pid && ! grep -q "^[0-9]* (.*) Z" /proc/$pid/stat 2>/dev/null &&
			test $i -lt 3000
		do
			i=$((i + 1))
			sleep 0.02
		done
	fi
	rm -f "$1.pid"
	return 0
}

test_expect_success 'setup: run.lockDir in the user configuration' '
	git config --global mlv.run.lockDir "$LOCKS"
'

test_expect_success 'no lock directory yet: no holders, nothing made' '
	mlv gpus --json >out.json &&
	jq -e ".lock_dir == \"$LOCKS\" and .slots == 1 and .waiting == []" out.json &&
	jq -e "[.gpus[].holders | length] == [0, 0]" out.json &&
	! test -e "$LOCKS"
'

test_expect_success HOLD 'a holder is listed with its run, pid, user and request' '
	test_when_finished "stop held1" &&
	hold held1 1 1 20261126-060512-3f9a1c0d &&
	grep "^held GPU-aaaa-1111$" held1 &&
	test "$(stat -c %a "$LOCKS")" = 1777 &&
	mlv gpus --json >out.json &&
	jq -e ".gpus[0].holders | length == 1" out.json &&
	jq -e ".gpus[0].holders[0] | .run == \"20261126-060512-3f9a1c0d\" and .pid == $(cat held1.pid) and .slot == 0 and .request == \"1\"" out.json &&
	jq -e ".gpus[0].holders[0] | (.since | test(\"^[0-9-]+T[0-9:]+Z$\")) and .user != null and .host != null" out.json &&
	jq -e ".gpus[1].holders == []" out.json &&
	mlv gpus >out &&
	grep "^   leased by run 20261126-060512-3f9a1c0d, pid $(cat held1.pid), user .*, --gpus 1$" out
'

test_expect_success HOLD 'a killed holder frees the device; its record is no holder' '
	hold held1 1 device=1 run-K &&
	grep "^held GPU-bbbb-2222$" held1 &&
	stop held1 &&
	test -s "$LOCKS/gpu.GPU-bbbb-2222.0" &&
	mlv gpus --json >out.json &&
	jq -e "[.gpus[].holders | length] == [0, 0]" out.json &&
	test_when_finished "stop held2" &&
	hold held2 1 device=1 run-L &&
	grep "^held GPU-bbbb-2222$" held2
'

test_expect_success HOLD 'a busy device fails at once naming its holder' '
	test_when_finished "stop held1; stop held2" &&
	hold held1 1 1 run-A &&
	hold held2 1 1 run-B &&
	sort held1 held2 >both &&
	printf "held GPU-aaaa-1111\nheld GPU-bbbb-2222\n" >expect &&
	test_cmp expect both &&
	hold held3 1 1 run-C &&
	grep "^error: GPUs busy (--gpus 1): GPU 0 (GPU-aaaa-1111) is leased by run run-A (pid $(cat held1.pid), user " held3 &&
	grep "GPU 1 (GPU-bbbb-2222) is leased by run run-B" held3
'

test_expect_success HOLD 'a waiter is listed, and gets the device once it is free' '
	test_when_finished "stop held1; stop held3" &&
	hold held1 1 all run-A &&
	rm -f held3 &&
	("$HOLD" hold "$LOCKS" 1 device=0 run-W -1 >held3 2>&1 & echo $! >held3.pid) &&
	i=0 &&
	until mlv gpus --json >out.json && jq -e ".waiting | length == 1" out.json
	do
		i=$((i + 1)) &&
		test $i -lt 3000 || return 1
		sleep 0.02
	done &&
	jq -e ".waiting[0] | .run == \"run-W\" and .position == 1 and .request == \"device=0\"" out.json &&
	mlv gpus >out &&
	grep "^   waiting: run run-W, pid $(cat held3.pid), .*--gpus device=0$" out &&
	ls "$LOCKS" | grep "^wait\.[0-9]\{20\}$" &&
	stop held1 &&
	i=0 &&
	while ! grep -q "^held" held3
	do
		i=$((i + 1)) &&
		test $i -lt 3000 || return 1
		sleep 0.02
	done &&
	grep "^held GPU-aaaa-1111$" held3 &&
	! ls "$LOCKS" | grep "^wait\."
'

test_expect_success HOLD 'run.gpuSlots lets two holders share a device' '
	test_when_finished "stop held1; stop held2; git config --global --unset mlv.run.gpuSlots" &&
	git config --global mlv.run.gpuSlots 2 &&
	hold held1 2 device=0 run-S1 &&
	hold held2 2 device=0 run-S2 &&
	mlv gpus --json >out.json &&
	jq -e ".slots == 2 and ([.gpus[0].holders[].run] == [\"run-S1\", \"run-S2\"])" out.json &&
	jq -e "[.gpus[0].holders[].slot] == [0, 1]" out.json
'

test_expect_success 'a committed .mlv/config cannot choose the lock directory; local config can' '
	test_create_repo repo &&
	mkdir repo/.mlv &&
	printf "[run]\n\tlockDir = %s\n\tgpuSlots = 3\n" "$TRASH_DIRECTORY/other" >repo/.mlv/config &&
	git config --global --unset mlv.run.lockDir &&
	test_when_finished "git config --global mlv.run.lockDir \"$LOCKS\"" &&
	(cd repo && mlv gpus --json) >out.json &&
	jq -e ".lock_dir == \"/tmp/mlv-gpu-locks\" and .slots == 1" out.json &&
	printf "[run]\n\tlockDir = %s\n\tgpuSlots = 3\n" "$TRASH_DIRECTORY/other" >repo/.mlv/config.local &&
	(cd repo && mlv gpus --json) >out.json &&
	jq -e ".lock_dir == \"$TRASH_DIRECTORY/other\" and .slots == 3" out.json &&
	(cd repo && git config mlv.run.gpuSlots 2 && mlv gpus --json) >out.json &&
	jq -e ".slots == 2" out.json
'

# with_config <key> <value> <command>...: mlv.<key> set in the user configuration meanwhile
with_config () {
	git config --global "mlv.$1" "$2" &&
	shift 2 &&
	"$@"
	ret=$?
	git config --global mlv.run.lockDir "$LOCKS" &&
	git config --global --unset mlv.run.gpuSlots
	return $ret
}

test_expect_success 'bad settings are errors naming the key' '
	with_config run.lockDir relative test_must_fail mlv gpus 2>err &&
	grep "run.lockDir .relative. is not an absolute path" err &&
	for bad in 0 65 x -1
	do
		with_config run.gpuSlots $bad test_must_fail mlv gpus 2>err &&
		grep "run.gpuSlots .$bad. is not a number from 1 to 64" err || return 1
	done
'

test_expect_success SYMLINKS 'a lock directory that is a symlink, or open to all without the sticky bit' '
	mkdir real &&
	ln -s real linked &&
	with_config run.lockDir "$TRASH_DIRECTORY/linked" test_must_fail mlv gpus 2>err &&
	grep "GPU lock directory .*linked. is a symbolic link" err &&
	chmod 0777 real &&
	with_config run.lockDir "$TRASH_DIRECTORY/real" test_must_fail mlv gpus 2>err &&
	grep "writable by others without the sticky bit" err &&
	chmod 1777 real &&
	with_config run.lockDir "$TRASH_DIRECTORY/real" mlv gpus
'

test_expect_success SYMLINKS 'a symlink planted in the lock directory is an error naming it' '
	mkdir -p "$LOCKS" &&
	rm -f "$LOCKS/gpu.GPU-aaaa-1111.0" &&
	ln -s /etc/passwd "$LOCKS/gpu.GPU-aaaa-1111.0" &&
	test_when_finished "rm -f \"$LOCKS/gpu.GPU-aaaa-1111.0\"" &&
	test_must_fail mlv gpus 2>err &&
	grep "gpu.GPU-aaaa-1111.0. is a symbolic link" err
'

test_expect_success 'no GPU: no holders asked for' '
	MLV_GPU_INVENTORY= mlv gpus --json >out.json &&
	jq -e ".gpus == [] and .waiting == [] and .none != null" out.json
'

test_done
