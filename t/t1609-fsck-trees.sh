#!/bin/sh

test_description='fsck checks every tree as checkout does before it writes

fsck passed trees that checkout refused: a symlink entry whose target
holds a NUL byte or is longer than 4095 bytes, a file entry whose size is
not its blob'\''s, a directory pointer whose files count is not its
tree'\''s.  Crafted packs plant each one.'

. "$(dirname "$0")"/test-lib.sh

test_lazy_prereq PYTHON3 'python3 -c "import hashlib, struct"'

# plant DIR: write a pack of crafted trees into DIR/.git/mlv/packs and a
# directory pointer for each tree (NAME.mlv); prints "NAME TREE-ID" lines.
plant () {
	python3 - "$1" <<-\PY
	import hashlib, struct, sys, os
	def H(b): return hashlib.sha256(b).digest()
	def tree(entries):
	    out = b"mlvtree 1\n"
	    for m, s, n, i in sorted(entries, key=lambda e: e[2]):
	        out += m + b" " + str(s).encode() + b" " + n + b"\0" + i
	    return out
	top = sys.argv[1]
	hello = b"hello\n"; nul = b"ab\0cd"; huge = b"x" * 5000
	objs = [(1, hello), (1, nul), (1, huge)]
	trees = {
	    "nullink": ([(b"120000", len(nul), b"l", H(nul))], 1),
	    "hugelink": ([(b"120000", len(huge), b"l", H(huge))], 1),
	    "sizelie": ([(b"100644", 600, b"a", H(hello))], 1),
	    "fileslie": ([(b"100644", 6, b"a", H(hello))], 0),
	    "good": ([(b"100644", 6, b"a", H(hello)), (b"120000", 6, b"l", H(hello))], 2),
	}
	for name, (entries, files) in trees.items():
	    t = tree(entries); objs.append((3, t))
	    size = sum(e[1] for e in entries)
	    open(os.path.join(top, name + ".mlv"), "w").write(
	        "version 1\noid sha256:%s\nsize %d\nkind data\ntype dir\nfiles %d\n" % (H(t).hex(), size, files))
	    print(name, H(t).hex())
	hdr = b"MLVPACK\0" + struct.pack(">II", 1, 0)
	body = b""; idx = []; off = len(hdr)
	for t, raw in objs:
	    rec = struct.pack(">BBHQQ", t, 0, 0, len(raw), len(raw)) + H(raw) + raw
	    idx.append((H(raw), off, len(raw), t)); body += rec; off += len(rec)
	idx.sort()
	ib = b"".join(i + struct.pack(">QQQBB", o, n, n, t, 0) + b"\0" * 6 for i, o, n, t in idx)
	f24 = struct.pack(">QQ", off, len(idx)) + b"MLVPIDX\0"
	ck = H(hdr + ib + f24)
	open(os.path.join(top, ".git/mlv/packs/pack-" + ck.hex() + ".mlvpack"), "wb").write(hdr + body + ib + f24 + ck)
	PY
}

test_expect_success PYTHON3 'setup' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	plant repo >trees &&
	test_line_count = 5 trees
'

# tree NAME: the id of crafted tree NAME.
tree () {
	sed -n "s/^$1 //p" trees
}

test_expect_success PYTHON3 'checkout refuses each bad tree, takes the good one' '
	for t in nullink hugelink sizelie fileslie
	do
		test_must_fail mlv -C repo checkout $t 2>err || return 1
		test_path_is_missing repo/$t || return 1
	done &&
	mlv -C repo checkout good &&
	test "$(cat repo/good/a)" = hello
'

test_expect_success PYTHON3 'fsck finds a symlink target with a NUL byte' '
	test_expect_code 1 mlv -C repo fsck >out 2>err &&
	test_grep "^corrupt: $(tree nullink): .*holds a NUL byte" out
'

test_expect_success PYTHON3 'fsck finds a symlink target longer than 4095 bytes' '
	test_grep "^corrupt: $(tree hugelink): .*longer than 4095 bytes" out
'

test_expect_success PYTHON3 'fsck finds an entry whose size is not its blob'\''s' '
	test_grep "^corrupt: $(tree sizelie): .*holds 6 bytes, but 600 were recorded" out
'

test_expect_success PYTHON3 'fsck passes the good tree' '
	test_grep ! "$(tree good)" out
'

# Needs cmd/fsck.c to compare the pointer's files with mlv_tree_count()'s.
test_expect_success PYTHON3 'fsck finds a directory pointer whose files count is not its tree'\''s' '
	test_grep "fileslie" out
'

test_expect_success PYTHON3 'fsck --repair cannot mend a tree: it still fails' '
	test_expect_code 1 mlv -C repo fsck --repair >out &&
	test_grep "^corrupt: $(tree nullink)" out
'

test_done
