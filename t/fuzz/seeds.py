#!/usr/bin/env python3
"""Write the seed inputs in t/fuzz/corpus/{path,recipe,packidx,tree}/.

The seeds are committed; run this again after a format change.  It needs
only Python 3 and, for one compressed record, the zstd command (skipped
when absent).  Formats: lib/store/pack.h, include/mlv/tree.h, and the
input layout described at the top of each fuzz-*.c.
"""
import hashlib
import os
import shutil
import struct
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
CHUNK, RECIPE, TREE = 1, 2, 3


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def sha(b):
    return hashlib.sha256(b).digest()


# Paths: control byte, then arg NUL prefix NUL top.
def path_seed(name, arg, prefix=b"", top=b"/repo", ctl=0):
    put("path", name, bytes([ctl]) + arg + b"\0" + prefix + b"\0" + top)


def paths():
    path_seed("plain", b"data/train.csv", b"sub")
    path_seed("dotdot", b"../x/./y//z/", b"a/b")
    path_seed("outside", b"../../..", b"a")
    path_seed("absolute", b"/repo/sub/../data", b"", b"/repo/")
    path_seed("root-top", b"/x/y", b"", b"/")
    path_seed("null-prefix", b"x", b"", b"/repo", ctl=1)
    path_seed("null-top", b"/repo/x", b"", b"", ctl=2)
    for i, bad in enumerate([b".git", b".GiT", b".git.", b".git  . ", b".git::$INDEX_ALLOCATION",
                             b"GIT~1", b"mlv~1", b".\xe2\x80\x8cgit", b".g\xef\xbb\xbfit",
                             b".mlv", b".MLV:x", b"a/.git/config", b"x/../.git"]):
        path_seed("reserved-%02d" % i, bad, b"sub")
    # Limits: a component of MLV_NAME_MAX and one more; a tracked name of
    # MLV_ARTIFACT_NAME_MAX and one more; a whole path at MLV_PATH_MAX.
    path_seed("name-255", b"d/" + b"n" * 255)
    path_seed("name-256", b"d/" + b"n" * 256)
    path_seed("artifact-246", b"d/" + b"a" * 246)
    path_seed("artifact-247", b"d/" + b"a" * 247)
    long = b"/".join([b"c" * 199] * 20)  # 3999 bytes
    path_seed("path-3999", long)
    path_seed("path-4001", long + b"/xy")


def recipes():
    magic = b"mlvrecipe 1\n"
    ent = lambda n, c: struct.pack(">Q", n) + sha(c)
    put("recipe", "two", magic + ent(262144, b"a") + ent(1000, b"b"))
    put("recipe", "max", magic + ent(4 << 20, b"a") + ent(4 << 20, b"b") + ent(1, b"c"))
    put("recipe", "one", magic + ent(5, b"a"))
    put("recipe", "zero-len", magic + ent(0, b"a") + ent(1, b"b"))
    put("recipe", "too-big", magic + ent((4 << 20) + 1, b"a") + ent(1, b"b"))
    put("recipe", "ragged", magic + ent(1, b"a") + ent(1, b"b")[:39])
    put("recipe", "huge-len", magic + ent(2**64 - 1, b"a") + ent(2**63, b"b"))


def tree(entries):
    out = b"mlvtree 1\n"
    for mode, size, name, oid in sorted(entries, key=lambda e: e[2]):
        out += b"%s %d %s\0" % (mode, size, name) + oid
    return out


def pack(records, fix=True, ctl=1, index_type=None):
    """records: (type, comp, stored bytes, raw_len, id); index_type
    overrides the type the index gives every record."""
    body = b"MLVPACK\0" + struct.pack(">II", 1, 0)
    hdr = body
    idx = []
    for typ, comp, stored, raw_len, oid in records:
        idx.append((oid, len(body), len(stored), raw_len, index_type or typ, comp))
        body += struct.pack(">BBHQQ", typ, comp, 0, len(stored), raw_len) + oid + stored
    idx.sort()
    idx_off = len(body)
    index = b"".join(oid + struct.pack(">QQQBB", off, sl, rl, t, c) + b"\0" * 6
                     for oid, off, sl, rl, t, c in idx)
    foot = struct.pack(">QQ", idx_off, len(idx)) + b"MLVPIDX\0"
    foot += sha(hdr + index + foot) if fix else b"\0" * 32
    return bytes([ctl]) + body + index + foot


def packs():
    c1 = b"hello, chunk\n"
    c2 = b"x" * 3000
    t = tree([(b"100644", len(c1), b"hello", sha(c1)), (b"40000", 0, b"sub", sha(b"mlvtree 1\n"))])
    r = b"mlvrecipe 1\n" + struct.pack(">Q", len(c1)) + sha(c1) + struct.pack(">Q", len(c2)) + sha(c2)
    recs = [(CHUNK, 0, c1, len(c1), sha(c1)),
            (TREE, 0, t, len(t), sha(t)),
            (RECIPE, 0, r, len(r), sha(c1 + c2)),
            (TREE, 0, b"mlvtree 1\n", 10, sha(b"mlvtree 1\n"))]
    if shutil.which("zstd"):
        z = subprocess.run(["zstd", "-q", "-c", "--no-check"], input=c2,
                           stdout=subprocess.PIPE, check=True).stdout
        recs.append((CHUNK, 1, z, len(c2), sha(c2)))
    put("packidx", "empty", pack([]))
    put("packidx", "one-chunk", pack(recs[:1]))
    put("packidx", "mixed", pack(recs))
    put("packidx", "bad-checksum", pack(recs, fix=False, ctl=0))
    # The index calls the empty tree a recipe: the parser accepts it (fsck's
    # verify_records() compares the two), readers must not trust the index.
    put("packidx", "type-mismatch", pack(recs[3:4], index_type=RECIPE))
    put("packidx", "short", bytes([1]) + b"MLVPACK\0" + struct.pack(">II", 1, 0))


def trees():
    z = b"\0" * 32
    put("tree", "modes", tree([(b"100644", 1, b"f", z), (b"100755", 2, b"x", z),
                               (b"120000", 3, b"l", z), (b"40000", 4, b"d", z)]))
    put("tree", "odd-names", tree([(b"100644", 1, b"a\nb", z), (b"100644", 1, b"...", z),
                                   (b"100644", 1, b".gitx", z), (b"100644", 1, b"git~2", z),
                                   (b"100644", 1, b"\xe2\x80\x8c", z)]))
    put("tree", "dotgit", tree([(b"40000", 0, b".git", z)]))
    put("tree", "ntfs-dotgit", tree([(b"40000", 0, b".git . .", z)]))
    put("tree", "hfs-dotgit", tree([(b"40000", 0, b".gi\xe2\x80\x8ct", z)]))
    put("tree", "long-name", tree([(b"100644", 1, b"n" * 255, z)]))


if __name__ == "__main__":
    paths()
    recipes()
    packs()
    trees()
