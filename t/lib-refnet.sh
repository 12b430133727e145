# t/lib-refnet.sh: helpers for the tests of mlv-refnet (t35xx), sourced
# after test-lib.sh.  Puts the mlv-refnet just built (or the one of
# $MLV_TEST_INSTALLED) on $PATH beside mlv.

if test -n "$MLV_TEST_INSTALLED"
then
	REFNET_BINARY=$MLV_TEST_INSTALLED/mlv-refnet
else
	REFNET_BINARY=$MLV_BUILD_DIR/mlv-refnet
fi
if ! test -x "$REFNET_BINARY"
then
	say "Bail out! $REFNET_BINARY is not built: run 'make' in $MLV_BUILD_DIR first"
	exit 1
fi
test -e "$MLV_TEST_BIN/mlv-refnet" ||
ln -s "$REFNET_BINARY" "$MLV_TEST_BIN/mlv-refnet" || exit 1

# Built with its CUDA path (nvcc was there at build time)?
if ! mlv-refnet --version | grep "^cuda kernels: none" >/dev/null
then
	test_set_prereq REFNET_CUDA
fi

# skip_without_cuda_gpu: skip the whole script unless mlv-refnet has its
# CUDA path and a GPU is here.
skip_without_cuda_gpu () {
	if ! test_have_prereq REFNET_CUDA
	then
		skip_all='mlv-refnet was built without its CUDA path (no nvcc)'
		test_done
	fi
	if ! test_have_prereq GPU
	then
		skip_all='no GPU (nvidia-smi -L lists none)'
		test_done
	fi
}

# Two CPUs to race on: the nondeterministic CPU path needs threads that
# really run at once (on one CPU, the scheduler's order is mostly fixed).
test_lazy_prereq TWO_CPUS '
	test "$(nproc)" -ge 2
'

# st_header FILE: the JSON header of safetensors FILE.
st_header () {
	st_len_=$(od -An -tu8 -N8 "$1" | tr -d " ") &&
	tail -c +9 "$1" | head -c "$st_len_"
}

# st_data FILE: the tensor bytes of safetensors FILE (after the header).
st_data () {
	st_len_=$(od -An -tu8 -N8 "$1" | tr -d " ") &&
	tail -c +$((9 + $st_len_)) "$1"
}

# same_tensors A B: the tensor bytes of A and B are identical.
same_tensors () {
	st_data "$1" >"$1.data" &&
	st_data "$2" >"$2.data" &&
	cmp "$1.data" "$2.data"
}

# differ_across_runs N ARGS...: run "mlv-refnet -q ARGS -o run<i>" up to N
# times; succeed as soon as two results differ.
differ_across_runs () {
	dar_n_=$1 &&
	shift &&
	mlv-refnet -q "$@" -o run0.safetensors &&
	dar_i_=1 &&
	while test $dar_i_ -le "$dar_n_"
	do
		mlv-refnet -q "$@" -o run$dar_i_.safetensors || return 1
		if ! cmp -s run0.safetensors run$dar_i_.safetensors
		then
			echo "differed at run $dar_i_"
			return 0
		fi
		dar_i_=$(($dar_i_ + 1))
	done
	echo "all $dar_n_ runs gave the same weights"
	return 1
}
