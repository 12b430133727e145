#!/bin/sh

test_description='fsck --repair never removes the pack it has just salvaged into

A damaged pack whose readable records make the very same pack again (only
its checksum bytes were hit) is salvaged into a file of the same name:
removing "the damaged file" afterwards removed the only good copy.  A pack
that holds one record id twice made a salvaged pack with an unsorted
index, i.e. damaged again, with the same name.'

. "$(dirname "$0")"/test-lib.sh

test_lazy_prereq PYTHON3 'python3 -c "import hashlib, struct"'

# write_pack DIR: a pack in DIR holding the chunk "dup me\n" twice (raw records).
write_pack () {
	python3 - "$1" <<-\PY
	import hashlib, struct, sys, os
	def H(b): return hashlib.sha256(b).digest()
	raw = b"dup me\n"
	hdr = b"MLVPACK\0" + struct.pack(">II", 1, 0)
	body = b""; idx = []; off = len(hdr)
	for _ in range(2):
	    rec = struct.pack(">BBHQQ", 1, 0, 0, len(raw), len(raw)) + H(raw) + raw
	    idx.append((H(raw), off)); body += rec; off += len(rec)
	ib = b"".join(i + struct.pack(">QQQBB", o, len(raw), len(raw), 1, 0) + b"\0" * 6 for i, o in idx)
	f24 = struct.pack(">QQ", off, len(idx)) + b"MLVPIDX\0"
	ck = H(hdr + ib + f24)
	open(os.path.join(sys.argv[1], "pack-" + ck.hex() + ".mlvpack"), "wb").write(hdr + body + ib + f24 + ck)
	PY
}

test_expect_success 'setup' '
	test_create_repo repo &&
	mlv -C repo init -q &&
	echo precious >repo/p &&
	generate_file repo/big.bin 3M big &&
	cp repo/big.bin big.orig &&
	mlv -C repo add -q p big.bin
'

test_expect_success 'a flipped checksum byte: the salvaged twin survives' '
	for f in repo/.git/mlv/packs/pack-*
	do
		chmod u+w $f &&
		printf "\377" | dd of=$f bs=1 seek=$(($(test_file_size $f) - 1)) conv=notrunc 2>/dev/null ||
		return 1
	done &&
	ls repo/.git/mlv/packs >before &&
	mlv -C repo fsck --repair >out 2>err &&
	test_grep "salvaged" out &&
	test_grep ! "cannot open pack" out &&
	ls repo/.git/mlv/packs >after &&
	test_cmp before after &&
	mlv -C repo fsck &&
	rm repo/p repo/big.bin &&
	mlv -C repo checkout &&
	test "$(cat repo/p)" = precious &&
	test_cmp_bin big.orig repo/big.bin
'

test_expect_success 'a salvage of a damaged record: pointer checks read the new pack' '
	f=$(ls repo/.git/mlv/packs/pack-* | head -n 1) &&
	chmod u+w $f &&
	printf "\377" | dd of=$f bs=1 seek=80 conv=notrunc 2>/dev/null &&
	test_might_fail mlv -C repo fsck --repair >out 2>err &&
	test_grep "salvaged" out &&
	test_grep ! "cannot open pack" out
'

test_expect_success PYTHON3 'a pack holding one id twice: salvaged once, never removed' '
	test_create_repo dup &&
	mlv -C dup init -q &&
	write_pack dup/.git/mlv/packs &&
	test_might_fail mlv -C dup fsck --repair >out 2>err &&
	test_grep salvaged out &&
	ls dup/.git/mlv/packs >packs &&
	test_line_count = 1 packs &&
	mlv -C dup fsck &&
	printf "dup me\n" >dup/d &&
	mlv -C dup add -q d &&
	mlv -C dup cat d >got &&
	test "$(cat got)" = "dup me" &&
	mlv -C dup fsck
'

test_done
