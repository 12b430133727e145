#!/bin/sh

test_description='the executable bit of a tracked file survives add, status and checkout'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	printf "#!/bin/sh\necho hi\n" >repo/tool.sh &&
	chmod 755 repo/tool.sh &&
	echo plain >repo/plain.txt &&
	mlv -C repo add tool.sh plain.txt &&
	git -C repo add -A &&
	git -C repo commit -q -m tools
'

test_expect_success 'the pointer of an executable file says so, and only that one' '
	test_grep -x "exec yes" repo/tool.sh.mlv &&
	test_grep ! "^exec" repo/plain.txt.mlv
'

test_expect_success 'status notices the bit changing, in both directions' '
	mlv -C repo status --exit-code tool.sh plain.txt &&
	chmod -x repo/tool.sh &&
	test_expect_code 1 mlv -C repo status --exit-code tool.sh >out &&
	test_grep modified out &&
	chmod +x repo/tool.sh &&
	chmod +x repo/plain.txt &&
	test_expect_code 1 mlv -C repo status --exit-code plain.txt >out &&
	test_grep modified out &&
	chmod -x repo/plain.txt
'

test_expect_success 'checkout restores the bit' '
	rm repo/tool.sh repo/plain.txt &&
	mlv -C repo checkout &&
	test -x repo/tool.sh &&
	! test -x repo/plain.txt &&
	test "$(repo/tool.sh)" = hi
'

test_expect_success 'checkout puts back a bit that was taken away' '
	chmod -x repo/tool.sh &&
	mlv -C repo checkout --force tool.sh &&
	test -x repo/tool.sh
'

test_expect_success 'adding the file again after chmod -x drops the line' '
	chmod -x repo/tool.sh &&
	mlv -C repo add tool.sh &&
	test_grep ! "^exec" repo/tool.sh.mlv
'

test_expect_success 'a malformed exec line is a bad pointer' '
	sed "s/^kind data$/kind data\nexec no/" repo/plain.txt.mlv >repo/bad.mlv &&
	test_must_fail mlv -C repo checkout bad 2>err &&
	test_grep "bad.mlv:.*invalid exec" err &&
	rm repo/bad.mlv
'

test_done
