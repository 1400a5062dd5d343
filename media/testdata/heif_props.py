#!/usr/bin/env python3
"""heif_props.py IN OUT PROP... adds transformative item properties to the
primary image of a single-image HEIF file as ImageMagick (libheif) writes
it: each PROP is irot:N (ISO/IEC 23008-12 §6.5.10, N × 90° anti-clockwise)
or imir:N (§6.5.12, as amended: 0 exchanges top and bottom, 1 left and
right, as iPhones' mirrored front camera writes it). The boxes are
appended to ipco, associated (essential) in ipma after the existing
properties, in the order given, and the box sizes and the iloc offsets
into mdat are moved by the inserted bytes. For make_attack8.sh only."""
import struct,sys
# usage: heifprops.py in out prop... where prop is irot:N or imir:N
src,dst=sys.argv[1],sys.argv[2]
props=[]
for p in sys.argv[3:]:
    k,v=p.split(':');props.append(struct.pack('>I4sB',9,k.encode(),int(v)))
b=bytearray(open(src,'rb').read())
def find(b,start,end,typ,hdr_extra=0):
    off=start
    while off+8<=end:
        sz,t=struct.unpack('>I4s',b[off:off+8])
        if t==typ: return off,sz
        off+=sz
    raise Exception(typ)
meta,msz=find(b,0,len(b),b'meta')
iprp,isz=find(b,meta+12,meta+msz,b'iprp')
ipco,csz=find(b,iprp+8,iprp+isz,b'ipco')
ipma,asz=find(b,iprp+8,iprp+isz,b'ipma')
iloc,lsz=find(b,meta+12,meta+msz,b'iloc')
# count existing properties
n=0;off=ipco+8
while off<ipco+csz:
    n+=1;off+=struct.unpack('>I',b[off:off+4])[0]
ins=b''.join(props)
# ipma: version/flags, entry_count(4 if v<1 ... actually 4 bytes), entries: item_ID(2 if v<1), count(1), assoc(1 or 2)
v=b[ipma+8];flags=int.from_bytes(b[ipma+9:ipma+12],'big')
assert v==0 and flags&1==0
cnt=struct.unpack('>I',b[ipma+12:ipma+16])[0]
p=ipma+16
item,ac=struct.unpack('>HB',b[p:p+3])
new_assoc=bytes([0x80|(n+1+i) for i in range(len(props))])
ipma_ins_at=p+3+ac
delta_ipma=len(new_assoc)
b[p+2]=ac+len(props)
b[ipma_ins_at:ipma_ins_at]=new_assoc
# insert props at end of ipco (before ipma since ipco precedes ipma)
b[ipco+csz:ipco+csz]=ins
delta=len(ins)+delta_ipma
struct.pack_into('>I',b,ipco,csz+len(ins))
struct.pack_into('>I',b,ipma+len(ins),asz+delta_ipma)
struct.pack_into('>I',b,iprp,isz+delta)
struct.pack_into('>I',b,meta,msz+delta)
# iloc offsets (iloc before iprp so position unchanged)
lv=b[iloc+8];os_=b[iloc+12]>>4;ls=b[iloc+12]&15;bs=b[iloc+13]>>4;ix=b[iloc+13]&15
q=iloc+14
ic=struct.unpack('>H' if lv<2 else '>I',b[q:q+(2 if lv<2 else 4)])[0];q+=2 if lv<2 else 4
for _ in range(ic):
    q+=2 if lv<2 else 4
    method=0
    if lv in (1,2): method=struct.unpack('>H',b[q:q+2])[0]&15;q+=2
    q+=2
    base=int.from_bytes(b[q:q+bs],'big') if bs else 0
    if bs and method==0: b[q:q+bs]=(base+delta).to_bytes(bs,'big')
    q+=bs
    ec=struct.unpack('>H',b[q:q+2])[0];q+=2
    for _ in range(ec):
        if lv in (1,2) and ix: q+=ix
        o=int.from_bytes(b[q:q+os_],'big')
        if method==0 and not bs: b[q:q+os_]=(o+delta).to_bytes(os_,'big')
        q+=os_+ls
open(dst,'wb').write(b)
