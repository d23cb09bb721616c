#!/usr/bin/env python3
"""Writes tidal's envelope fuzz seeds (fuzz/corpus/envelope) with a tiny msgpack writer."""
import os, struct, sys

def uint(v, width=None):
    if width is None:
        if v < 0x80: return bytes([v])
        width = 8 if v < 0x100 else 16 if v < 0x10000 else 32 if v < 0x100000000 else 64
    code, fmt = {8: (0xcc, '>B'), 16: (0xcd, '>H'), 32: (0xce, '>I'), 64: (0xcf, '>Q')}[width]
    return bytes([code]) + struct.pack(fmt, v)

def sint(v):
    if 0 <= v: return uint(v)
    if v >= -32: return struct.pack('>b', v)
    for code, fmt, lo in ((0xd0, '>b', -128), (0xd1, '>h', -32768), (0xd2, '>i', -2**31)):
        if v >= lo: return bytes([code]) + struct.pack(fmt, v)
    return b'\xd3' + struct.pack('>q', v)

def s(x):
    x = x.encode() if isinstance(x, str) else x
    if len(x) < 32: return bytes([0xa0 | len(x)]) + x
    if len(x) < 256: return b'\xd9' + bytes([len(x)]) + x
    return b'\xda' + struct.pack('>H', len(x)) + x

def b(x):
    x = x.encode() if isinstance(x, str) else x
    if len(x) < 256: return b'\xc4' + bytes([len(x)]) + x
    return b'\xc5' + struct.pack('>H', len(x)) + x

def arr(*items):
    assert len(items) < 16
    return bytes([0x90 | len(items)]) + b''.join(items)

NIL, TRUE, FALSE = b'\xc0', b'\xc3', b'\xc2'

def env(type_, payload, version=1, reply=True, flags=0, id_=42, corr=0, frm='alice', to='bob',
        hlc=(1700000000000000000, 7, 3)):
    rep = arr(s('inproc://region-0'), s('carol'), b('ck')) if reply else NIL
    return arr(uint(version), uint(type_), arr(s(frm), b('k1')), arr(s(to), b('')), uint(id_),
               arr(*(uint(x) for x in hlc)), b(payload), rep, uint(corr), uint(flags))

seeds = {
    'valid-ping.bin': env(1, arr(uint(1), b('hi'))),
    'valid-pong.bin': env(2, arr(uint(1), b('hi')), flags=1, corr=77),
    'valid-counter-add.bin': env(3, arr(sint(-5)), reply=False),
    'valid-counter-read.bin': env(4, arr(), corr=5),
    'valid-counter-value.bin': env(5, arr(sint(2**40)), flags=1, corr=5),
    'valid-child-exit.bin': env(6, arr(s('worker-1'), uint(10004), uint(3), TRUE), flags=2),
    'valid-timer.bin': env(7, arr(uint(300), b('tick')), flags=2, reply=False),
    'valid-user-type.bin': env(1000, b'\x00\x01opaque'),
    'valid-wide-ints.bin': arr(uint(1, 64), uint(1, 32), arr(s('alice'), b('')),
                               arr(s('bob'), b('')), uint(0, 16), arr(uint(0, 64), uint(0, 32),
                               uint(0, 16)), b(arr(uint(0, 64), b(''))), NIL, uint(0, 8), sint(0)),
    'valid-frame3.bin': env(3, arr(sint(1)), id_=1) + env(3, arr(sint(2)), id_=2)
                        + env(4, arr(), id_=3, corr=9),
    'valid-max-names.bin': env(1, arr(uint(9), b('x' * 200)), frm='n' * 47, to='m' * 47),
    'bad-EVERSION-v2.bin': env(1, arr(uint(1), b('')), version=2),
    'bad-EVERSION-v0.bin': env(1, arr(uint(1), b('')), version=0),
    'bad-ETYPE-999.bin': env(999, b''),
    'bad-ETYPE-0.bin': env(0, b''),
    'bad-ETRUNCATED-cut.bin': env(1, arr(uint(1), b('hello')))[:-7],
    'bad-ELENGTH-huge-array.bin': b'\xdd\xff\xff\xff\xff',
    'bad-ETOOBIG-name.bin': env(1, b'', frm='n' * 48),
    'bad-EFIELD-flags.bin': env(1, b'', flags=8),
    'bad-EFIELD-arity.bin': b'\x99' + env(1, b'')[1:-1],
    'bad-EFIELD-empty-name.bin': env(1, b'', to=''),
    'bad-ETRUNCATED-frame-tail.bin': env(3, arr(sint(1))) + env(3, arr(sint(2)))[:9],
}

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, data in sorted(seeds.items()):
    assert len(data) < 2048, name
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
print(len(seeds), 'seeds in', out)
