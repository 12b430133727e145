#!/bin/sh

test_description='mlv checkout gives back exactly the tree that was added'

. "$(dirname "$0")"/test-lib.sh

# listing DIR: type, mode, size, sha256 and link target of everything below DIR.
listing () {
	python3 - "$1" <<-\EOF
	import hashlib, os, stat, sys
	def walk(d):
	    for name in sorted(os.listdir(d)):
	        p = os.path.join(d, name)
	        st = os.lstat(p)
	        if stat.S_ISLNK(st.st_mode):
	            print("link", p, os.readlink(p))
	        elif stat.S_ISDIR(st.st_mode):
	            print("dir ", p)
	            walk(p)
	        else:
	            h = hashlib.sha256(open(p, "rb").read()).hexdigest()
	            print("file", p, oct(st.st_mode & 0o777), st.st_size, h)
	walk(sys.argv[1])
	EOF
}

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	echo outside >../outside.txt
'

test_expect_success 'executable bits, empty directories, long names, deep paths' '
	mkdir -p d/empty d/nested/empty/too d/bin &&
	printf "#!/bin/sh\necho hi\n" >d/bin/run && chmod 755 d/bin/run &&
	echo plain >d/bin/data &&
	name=$(printf "n%.0s" $(test_seq 255)) &&
	echo long >d/$name &&
	deep=d && i=0 &&
	while test $i -lt 19; do
		deep=$deep/$(printf "p%.0s" $(test_seq 200)) && i=$((i + 1)) || return 1
	done &&
	mkdir -p $deep &&
	echo deep >$deep/$(printf "f%.0s" $(test_seq 150)) &&
	test $(find d -type f | awk "{ print length }" | sort -n | tail -n 1) -gt 3900 &&
	mlv add -q d &&
	git add -A && test_tick && git commit -q -m d &&
	listing d >../before &&
	rm -rf d &&
	mlv checkout d &&
	listing d >../after &&
	test_cmp ../before ../after &&
	mlv status --exit-code d
'

test_expect_success 'status and checkout agree on the executable bit' '
	chmod 644 d/bin/run &&
	test_expect_code 1 mlv status --exit-code d &&
	mlv checkout d &&
	test_path_is_executable d/bin/run &&
	mlv status --exit-code d
'

test_expect_success SYMLINKS 'symlinks come back with their stored target, wherever it points' '
	mkdir -p links/sub &&
	echo t >links/sub/t &&
	ln -s sub/t links/inside &&
	ln -s ../t links/sub/up &&
	ln -s ../../outside.txt links/outward &&
	ln -s /etc/passwd links/absolute &&
	ln -s no/such/file links/dangling &&
	ln -s sub links/dirlink &&
	mlv add -q links &&
	git add -A && test_tick && git commit -q -m links &&
	listing links >../before &&
	rm -rf links &&
	mlv checkout links &&
	listing links >../after &&
	test_cmp ../before ../after &&
	mlv status --exit-code links
'

test_expect_success SYMLINKS 'nothing is ever written through a checked-out link' '
	cp ../outside.txt ../outside.saved &&
	rm links/sub/t &&
	mlv checkout links &&
	test_cmp ../outside.saved ../outside.txt &&
	test_path_is_file links/sub/t
'

test_done
