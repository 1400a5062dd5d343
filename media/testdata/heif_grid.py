#!/usr/bin/env python3
"""heif_grid.py OUT COLS ROWS TILE... writes a HEIF whose primary image is
a 'grid' derived image (ISO/IEC 23008-12 §6.6.2.3) of COLS×ROWS tiles, as
iPhones write every HEIC photo (512×512 tiles). Each TILE is a
single-image HEIC as ImageMagick (libheif) writes it, all of one size,
given row by row; its hvcC, ispe and coded data are taken over as one
hidden 'hvc1' item. The grid's own data is in idat, its tiles are
referenced by 'dimg' in order. For make_attack8.sh only."""
import struct, sys

def box(typ, payload):
    return struct.pack('>I4s', 8 + len(payload), typ) + payload

def fullbox(typ, version, flags, payload):
    return box(typ, struct.pack('>I', version << 24 | flags) + payload)

def children(b, off, end):
    while off + 8 <= end:
        size, typ = struct.unpack('>I4s', b[off:off + 8])
        yield typ, off, size
        off += size

def tile(path):
    b = open(path, 'rb').read()
    meta = next((o, s) for t, o, s in children(b, 0, len(b)) if t == b'meta')
    props, iloc = {}, None
    for t, o, s in children(b, meta[0] + 12, meta[0] + meta[1]):
        if t == b'iprp':
            for t2, o2, s2 in children(b, o + 8, o + s):
                if t2 == b'ipco':
                    for t3, o3, s3 in children(b, o2 + 8, o2 + s2):
                        props[t3] = b[o3:o3 + s3]
        if t == b'iloc':
            iloc = b[o:o + s]
    # iloc of a one-item file: version, sizes, one item with one extent.
    v = iloc[8]
    offset_size, length_size, base_size = iloc[12] >> 4, iloc[12] & 15, iloc[13] >> 4
    q = 14 + (2 if v < 2 else 4)
    q += 2 if v < 2 else 4          # item ID
    q += 2 if v in (1, 2) else 0    # construction method
    q += 2                          # data reference index
    base = int.from_bytes(iloc[q:q + base_size], 'big') if base_size else 0
    q += base_size
    assert struct.unpack('>H', iloc[q:q + 2])[0] == 1
    q += 2
    off = int.from_bytes(iloc[q:q + offset_size], 'big')
    length = int.from_bytes(iloc[q + offset_size:q + offset_size + length_size], 'big')
    w, h = struct.unpack('>II', props[b'ispe'][12:20])
    return props[b'hvcC'], (w, h), b[base + off:base + off + length]

out, cols, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tiles = [tile(p) for p in sys.argv[4:]]
assert len(tiles) == cols * rows
tw, th = tiles[0][1]
n = len(tiles)
grid_id = n + 1
ftyp = box(b'ftyp', b'heic' + struct.pack('>I', 0) + b'mif1heic')
hdlr = fullbox(b'hdlr', 0, 0, struct.pack('>I', 0) + b'pict' + b'\0' * 12 + b'\0')
pitm = fullbox(b'pitm', 0, 0, struct.pack('>H', grid_id))
infes = b''.join(fullbox(b'infe', 2, 1, struct.pack('>HH', i + 1, 0) + b'hvc1' + b'\0') for i in range(n))
infes += fullbox(b'infe', 2, 0, struct.pack('>HH', grid_id, 0) + b'grid' + b'\0')
iinf = fullbox(b'iinf', 0, 0, struct.pack('>H', n + 1) + infes)
iref = fullbox(b'iref', 0, 0, box(b'dimg', struct.pack('>HH', grid_id, n) + b''.join(struct.pack('>H', i + 1) for i in range(n))))
tile_ispe = fullbox(b'ispe', 0, 0, struct.pack('>II', tw, th))
grid_ispe = fullbox(b'ispe', 0, 0, struct.pack('>II', tw * cols, th * rows))
ipco = box(b'ipco', b''.join(t[0] for t in tiles) + tile_ispe + grid_ispe)   # hvcC i at i+1, ispe n+1, n+2
entries = b''.join(struct.pack('>HBBB', i + 1, 2, 0x80 | (i + 1), n + 1) for i in range(n))
entries += struct.pack('>HBB', grid_id, 1, n + 2)
ipma = fullbox(b'ipma', 0, 0, struct.pack('>I', n + 1) + entries)
iprp = box(b'iprp', ipco + ipma)
griddata = struct.pack('>BBBBHH', 0, 0, rows - 1, cols - 1, tw * cols, th * rows)
idat = box(b'idat', griddata)

def iloc(mdat_start):
    items, pos = b'', mdat_start
    for i, t in enumerate(tiles):
        items += struct.pack('>H', i + 1) + struct.pack('>HHH', 0, 0, 1) + struct.pack('>II', pos, len(t[2]))
        pos += len(t[2])
    items += struct.pack('>H', grid_id) + struct.pack('>HHH', 1, 0, 1) + struct.pack('>II', 0, len(griddata))
    return fullbox(b'iloc', 1, 0, bytes([0x44, 0x00]) + struct.pack('>H', n + 1) + items)

meta_len = len(fullbox(b'meta', 0, 0, hdlr + pitm + iloc(0) + iinf + iref + iprp + idat))
mdat_start = len(ftyp) + meta_len + 8
meta = fullbox(b'meta', 0, 0, hdlr + pitm + iloc(mdat_start) + iinf + iref + iprp + idat)
mdat = box(b'mdat', b''.join(t[2] for t in tiles))
open(out, 'wb').write(ftyp + meta + mdat)
