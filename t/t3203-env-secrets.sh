#!/bin/sh

test_description='no secret from the environment lands on disk

Secrets planted in the environment of `mlv env` and `mlv run` (with a
Python command, so that the interpreter cache is written too) are found
nowhere in the work tree, .git (objects decompressed), mlv directories,
the store (logs read back through mlv cat) or the cache.'

. "$(dirname "$0")"/test-lib.sh

test_lazy_prereq SYSPYTHON '/usr/bin/python3 -c "import sys"'

SECRET1=s3cr3t-hf-0a1b2c3d
SECRET2=s3cr3t-aws-4e5f6a7b
SECRET3=s3cr3t-torch-8c9d0e1f
SECRET4=s3cr3t-named-2a3b4c5d
SECRET5=s3cr3t-url-6e7f8a9b

with_secrets () {
	HF_TOKEN=$SECRET1 AWS_SECRET_ACCESS_KEY=$SECRET2 TORCH_SOMETHING_TOKEN=$SECRET3 \
	MY_PASSWORD=$SECRET4 HF_ENDPOINT="https://me:$SECRET5@hub.example/" \
	MLV_GPU_INVENTORY= "$@"
}

# Every byte mlv could have written: files as they are, git objects
# decompressed, stored data read back.
all_bytes () {
	find . "$HOME" -type f -exec cat {} + &&
	git cat-file --batch-all-objects --batch &&
	for ref in $(git for-each-ref --format="%(refname)" refs/mlv/runs/)
	do
		git ls-tree -r --name-only "$ref" | grep "\.mlv$" |
		while read -r p
		do
			mlv cat "$ref:$p" || exit 1
		done || return 1
	done
}

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	echo x >requirements.txt &&
	git add -A && git commit -q -m setup
'

test_expect_success 'the secrets are redacted in mlv env --json' '
	with_secrets mlv env --json --env-var MY_PASSWORD --env-var AWS_SECRET_ACCESS_KEY -- python3 x.py >env.json &&
	jq -e ".vars.HF_TOKEN == \"<redacted>\" and .vars.TORCH_SOMETHING_TOKEN == \"<redacted>\"" env.json &&
	jq -e ".vars.AWS_SECRET_ACCESS_KEY == \"<redacted>\" and .vars.MY_PASSWORD == \"<redacted>\"" env.json &&
	jq -e ".vars.HF_ENDPOINT == \"<redacted>\"" env.json &&
	! grep s3cr3t env.json &&
	rm env.json
'

test_expect_success SYSPYTHON 'a recorded Python run leaves no secret on disk' '
	printf "import os\nprint(\"hello\")\n" >train.py &&
	with_secrets mlv run --env-var MY_PASSWORD -- /usr/bin/python3 train.py >out &&
	grep hello out &&
	git for-each-ref refs/mlv/runs/ >runs &&
	test_line_count = 1 runs &&
	git show "$(cut -f2 runs):env.json" >env.json &&
	jq -e ".vars.HF_TOKEN == \"<redacted>\" and .vars.MY_PASSWORD == \"<redacted>\"" env.json &&
	jq -e ".python.version != null" env.json &&
	ls .git/mlv/cache/python-*.json &&
	rm env.json out &&
	all_bytes >../bytes &&
	test -s ../bytes &&
	grep -c "hello" ../bytes &&
	for s in $SECRET1 $SECRET2 $SECRET3 $SECRET4 $SECRET5 s3cr3t
	do
		! grep -a -l "$s" ../bytes || return 1
	done
'

test_expect_success 'a run of a command that is not Python either' '
	with_secrets mlv run -- sh -c "echo done" >out &&
	grep done out &&
	rm out &&
	all_bytes >../bytes &&
	! grep -a s3cr3t ../bytes
'

test_done
