#!/bin/bash
#
# Generate the benchmark data, deterministically, once.
#
#   bench/gen.sh            into $MLV_BENCH_DIR (default bench/work)
#
#   MLV_BENCH_SCALE=full    (default) 2 GiB file, 100,000 files of 4 KiB
#   MLV_BENCH_SCALE=small   256 MiB file, 10,000 files of 4 KiB
#
# Writes, under $MLV_BENCH_DIR/data-$MLV_BENCH_SCALE/:
#
#   big.bin     (a) incompressible: the AES-128-CTR keystream of key A
#   files/      (b) 100 directories d00..d99; even-numbered files are
#               CSV-like text (*.csv), odd ones random bytes (*.bin),
#               every file exactly 4096 bytes and distinct
#   big-v2.bin  (c) big.bin with 16 MiB in the middle overwritten and
#               32 MiB appended (keystreams of keys B and C)
#   .stamp      the parameters; when it matches, nothing is regenerated
#
# Every byte comes from `openssl enc -aes-128-ctr` with fixed keys, so two
# machines generate identical data.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=${MLV_BENCH_DIR:-$here/work}
scale=${MLV_BENCH_SCALE:-full}

case "$scale" in
full)	big_mib=2048 nfiles=100000 ;;
small)	big_mib=256 nfiles=10000 ;;
*)	echo "gen.sh: MLV_BENCH_SCALE must be 'full' or 'small'" >&2; exit 129 ;;
esac
ndirs=100
file_size=4096
mid_mib=16
app_mib=32

key_a=000102030405060708090a0b0c0d0e0f
key_b=101112131415161718191a1b1c1d1e1f
key_c=202122232425262728292a2b2c2d2e2f
key_f=303132333435363738393a3b3c3d3e3f
iv=00000000000000000000000000000000

data=$work/data-$scale
stamp="v1 big=${big_mib}MiB files=$nfiles x $file_size in $ndirs dirs mid=${mid_mib}MiB append=${app_mib}MiB"

if [ -f "$data/.stamp" ] && [ "$(cat "$data/.stamp")" = "$stamp" ]; then
	echo "gen.sh: $data is up to date" >&2
	exit 0
fi

# keystream <key> <bytes>: that many bytes of the AES-128-CTR keystream
keystream() {
	# openssl dies of SIGPIPE when head has enough; that is not an error
	{ openssl enc -aes-128-ctr -nosalt -K "$1" -iv "$iv" -in /dev/zero \
		2>/dev/null || true; } | head -c "$2"
}

echo "gen.sh: generating $scale data in $data" >&2
rm -rf "$data"
mkdir -p "$data"

# (a)
keystream $key_a $((big_mib << 20)) >"$data/big.bin.tmp"
mv "$data/big.bin.tmp" "$data/big.bin"

# (c): 16 MiB overwritten at the middle, 32 MiB appended
cp "$data/big.bin" "$data/big-v2.bin.tmp"
keystream $key_b $((mid_mib << 20)) |
	dd of="$data/big-v2.bin.tmp" bs=1M seek=$(((big_mib - mid_mib) / 2)) \
		conv=notrunc iflag=fullblock status=none
keystream $key_c $((app_mib << 20)) >>"$data/big-v2.bin.tmp"
mv "$data/big-v2.bin.tmp" "$data/big-v2.bin"

# (b): one keystream feeds every file; a CSV file turns its 4096 bytes
# into rows of numbers, a .bin file is the bytes themselves.
read -r -d '' mkfiles <<'PY' || true
import os, struct, sys

root, nfiles, ndirs, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
per_dir = nfiles // ndirs
inp = sys.stdin.buffer
os.makedirs(root)
header = b"id,timestamp,sensor,value,label\n"
labels = (b"cat", b"dog", b"bird", b"fish", b"frog", b"cow", b"owl", b"fox")

def csv(n, raw):
    out = [header]
    length = len(header)
    row = n * 1000
    for (a, b, c, d) in struct.iter_unpack("<IIII", raw):
        line = b"%d,%d,s%03d,%d.%04d,%s\n" % (
            row, 1600000000 + (a % 100000000), b % 1000,
            (c % 2000) - 1000, d % 10000, labels[d % 8])
        out.append(line)
        length += len(line)
        row += 1
        if length >= size:
            break
    text = b"".join(out)[:size - 1] + b"\n"
    assert len(text) == size, (n, len(text))
    return text

for d in range(ndirs):
    dpath = os.path.join(root, "d%02d" % d)
    os.mkdir(dpath)
    for i in range(per_dir):
        n = d * per_dir + i
        raw = inp.read(size)
        if len(raw) != size:
            sys.exit("gen.sh: short keystream")
        if n % 2 == 0:
            name, body = "f%06d.csv" % n, csv(n, raw)
        else:
            name, body = "f%06d.bin" % n, raw
        with open(os.path.join(dpath, name), "wb") as f:
            f.write(body)
PY
keystream $key_f $((nfiles * file_size)) |
	python3 -c "$mkfiles" "$data/files.tmp" "$nfiles" "$ndirs" "$file_size"
mv "$data/files.tmp" "$data/files"

sync
echo "$stamp" >"$data/.stamp"
echo "gen.sh: done" >&2
