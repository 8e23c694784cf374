#!/usr/bin/env python3
"""Small HDF5 files, written by real h5py/libhdf5, for zoo's own HDF5 reader.

Run with an environment that has h5py (either reference environment does):

    PYK=$(bash scripts/venv.sh keras)
    $PYK scripts/make_h5_fixtures.py [OUT_DIR]

Writes into OUT_DIR (default Tests/Fixtures/h5) the same content in every layout
of the HDF5 format Keras and h5py files use:

  earliest.h5   h5py's default (libver 'earliest'): superblock v0, version-1
                object headers, groups as symbol tables (B-tree + local heap),
                version-1 attributes and dataspaces
  v108.h5       libver ('v108', 'v108'): superblock v2, version-2 object headers
                ("OHDR"/"OCHK"), compact link groups, version-3 attributes
  latest.h5     libver 'latest': superblock v3, otherwise as v108
  sizes4.h5     earliest, with 4-byte offsets and 4-byte lengths
  sizes84.h5    earliest, with 8-byte offsets and 4-byte lengths (which fields are
                offsets and which lengths matters)
  userblock.h5  earliest, with a 1024-byte user block: the superblock is found
                at byte 1024 and every address is relative to it
  smallk.h5     earliest, superblock v1 (non-default indexed-storage K) and
                symbol-table K = 1/2, so a group of 100 links is a B-tree
                several levels deep

Content (every file; no group has more than 8 links, the most a version-2 group
keeps in its header before libhdf5 moves them to dense storage, except
refused/many):

  /                     attributes: title (variable-length UTF-8 scalar),
                        names (1-D variable-length strings), fixed (1-D
                        fixed-length strings), fixed_scalar, empty (an empty
                        float64 array, as h5py writes weight_names = []),
                        blank (an empty variable-length string), number (an
                        int64 scalar: not strings)
  floats/               f32le (3, 4), f32be (2, 3), f16 (5,), f64le (2, 2),
                        f64be (3,), scalar (), empty (0,), compact (2, 3)
                        (compact layout); value i of each is base + i / 8
                        with base 1, 2, ...
  nested/wide (16, 33), nested/deeper/deepest/leaf (4,)   a path of groups;
                        nested/again is a hard link back to nested (a cycle)
  grown/                a group whose attributes were added one by one until its
                        object header needed continuation blocks
  typed                 float32 (3,) whose datatype is a committed (named)
                        datatype, /float_type
  refused/ints          int32 (4,)          — not floating point: refused
  refused/chunked       float32 (4, 4) stored in 2x2 chunks — refused
  refused/many/         40 hard links to floats/f32le (item_000 …; 100 in
                        smallk.h5, a B-tree three levels deep): a B-tree in
                        the symbol-table files, dense link storage (refused)
                        in v108/latest
  refused/many_attrs/   12 attributes: dense attribute storage in v108/latest
  soft                  a soft link to /floats
"""
import ctypes
import glob
import os
import sys

import h5py
import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "h5")


def values(base, shape):
    n = int(np.prod(shape)) if shape else 1
    return (base + np.arange(n, dtype=np.float64) / 8).reshape(shape)


def content(f, links=40):
    vlen_utf8 = h5py.string_dtype("utf-8")
    vlen_ascii = h5py.string_dtype("ascii")
    f.attrs.create("title", "zoo h5 fixture", dtype=vlen_utf8)
    f.attrs.create("names", np.array(["conv1", "bn", "ünïcode"], dtype=object), dtype=vlen_utf8)
    f.attrs.create("fixed", np.array([b"abc", b"defghijk"], dtype="S8"))
    f.attrs.create("fixed_scalar", np.bytes_(b"xyz"))
    f.attrs.create("empty", np.array([], dtype=np.float64))
    f.attrs.create("blank", "", dtype=vlen_ascii)
    f.attrs.create("number", np.int64(3))

    floats = f.create_group("floats")
    floats.create_dataset("f32le", data=values(1, (3, 4)).astype("<f4"))
    floats.create_dataset("f32be", data=values(2, (2, 3)).astype(">f4"))
    floats.create_dataset("f16", data=values(3, (5,)).astype("<f2"))
    floats.create_dataset("f64le", data=values(4, (2, 2)).astype("<f8"))
    floats.create_dataset("f64be", data=values(5, (3,)).astype(">f8"))
    floats.create_dataset("scalar", data=np.float32(6.5))
    floats.create_dataset("empty", shape=(0,), dtype="<f4")
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    space = h5py.h5s.create_simple((2, 3))
    compact = h5py.h5d.create(floats.id, b"compact", h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)
    compact.write(h5py.h5s.ALL, h5py.h5s.ALL, values(7, (2, 3)).astype("<f4"))

    nested = f.create_group("nested")
    nested.create_dataset("wide", data=values(8, (16, 33)).astype("<f4"))
    nested.create_group("deeper/deepest").create_dataset("leaf", data=values(9, (4,)).astype("<f4"))
    nested["again"] = nested  # a hard link to itself: HDF5 allows cycles, walkers must not loop

    grown = f.create_group("grown")
    for i in range(6):
        grown.attrs.create(f"note{i}", f"{i}:" + "x" * 200, dtype=vlen_utf8)
    grown.attrs.create("fixed_long", np.array([b"y" * 120] * 3, dtype="S120"))

    f["float_type"] = np.dtype("<f4")
    f.create_dataset("typed", data=values(10, (3,)).astype("<f4"), dtype=f["float_type"])
    refused = f.create_group("refused")
    refused.create_dataset("ints", data=np.arange(4, dtype="<i4"))
    refused.create_dataset("chunked", data=values(11, (4, 4)).astype("<f4"), chunks=(2, 2))
    many = refused.create_group("many")
    for i in range(links):
        many[f"item_{i:03d}"] = floats["f32le"]
    many_attrs = refused.create_group("many_attrs")
    for i in range(12):
        many_attrs.attrs.create(f"a{i:02d}", f"value {i}", dtype=vlen_utf8)
    f["soft"] = h5py.SoftLink("/floats")


def hdf5_library():
    """The libhdf5 h5py itself uses (its wheel bundles one), for the two settings h5py does not expose."""
    folder = os.path.join(os.path.dirname(h5py.__file__), os.pardir, "h5py.libs")
    found = sorted(glob.glob(os.path.join(folder, "libhdf5-*.so*")))
    return ctypes.CDLL(found[0]) if found else ctypes.CDLL("libhdf5.so")


def create(name, libver=None, userblock=0, sizes=None, small_k=False):
    path = os.path.join(OUT, name)
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    if userblock:
        fcpl.set_userblock(userblock)
    if sizes:
        fcpl.set_sizes(*sizes)
    if small_k:
        lib = hdf5_library()
        # indexed-storage K other than 32 needs superblock v1; symbol-table K 2/1 makes tiny B-tree nodes
        assert lib.H5Pset_istore_k(ctypes.c_int64(fcpl.id), ctypes.c_uint(64)) >= 0
        assert lib.H5Pset_sym_k(ctypes.c_int64(fcpl.id), ctypes.c_uint(2), ctypes.c_uint(1)) >= 0
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    if libver:
        fapl.set_libver_bounds(*libver)
    fid = h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl)
    with h5py.File(fid) as f:
        content(f, links=100 if small_k else 40)
    with open(path, "rb") as raw:
        data = raw.read()
    start = data.find(b"\x89HDF\r\n\x1a\n")
    print(f"{name}: {len(data)} bytes, superblock v{data[start + 8]} at {start}")


def main():
    os.makedirs(OUT, exist_ok=True)
    create("earliest.h5")
    create("v108.h5", libver=(h5py.h5f.LIBVER_V18, h5py.h5f.LIBVER_V18))
    create("latest.h5", libver=(h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST))
    create("sizes4.h5", sizes=(4, 4))
    create("sizes84.h5", sizes=(8, 4))
    create("userblock.h5", userblock=1024)
    create("smallk.h5", small_k=True)


if __name__ == "__main__":
    main()
