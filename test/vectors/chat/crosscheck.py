"""
Cross-checks test/vectors/chat/chat-identity.json with an implementation that shares no
code with chive or noble: Python big integers and the Ed25519 reference code of RFC 8032 §6
(point arithmetic, compression, signing), BIP-350's Python reference code for bech32m
(sipa/bech32 ref/python/segwit_addr.py, as linked from the BIP), hashlib, and the
`cryptography` package (OpenSSL) for HKDF-SHA256 and ChaCha20-Poly1305. It also runs the
BIP-350 vectors of bech32m-bip350.json through that reference code, checking chive's
classification of each.

    python3 test/vectors/chat/crosscheck.py      # prints "all chat vectors check" or fails

Not run by vitest (it needs Python); README.md records when it last passed.
"""
import hashlib
import json
import pathlib
from enum import Enum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# --- RFC 8032 §6 reference code (lightly trimmed) ------------------------------------------
p = 2**255 - 19
q = 2**252 + 27742317777372353535851937790883648493


def modp_inv(x):
    return pow(x, p - 2, p)


d = -121665 * modp_inv(121666) % p
modp_sqrt_m1 = pow(2, (p - 1) // 4, p)


def sha512(s):
    return hashlib.sha512(s).digest()


def point_add(P, Q):
    A, B = (P[1] - P[0]) * (Q[1] - Q[0]) % p, (P[1] + P[0]) * (Q[1] + Q[0]) % p
    C, D = 2 * P[3] * Q[3] * d % p, 2 * P[2] * Q[2] % p
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F, G * H, F * G, E * H)


def point_mul(s, P):
    Q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            Q = point_add(Q, P)
        P = point_add(P, P)
        s >>= 1
    return Q


def recover_x(y, sign):
    if y >= p:
        return None
    x2 = (y * y - 1) * modp_inv(d * y * y + 1)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (p + 3) // 8, p)
    if (x * x - x2) % p != 0:
        x = x * modp_sqrt_m1 % p
    if (x * x - x2) % p != 0:
        return None
    if (x & 1) != sign:
        x = p - x
    return x


g_y = 4 * modp_inv(5) % p
g_x = recover_x(g_y, 0)
G = (g_x, g_y, 1, g_x * g_y % p)


def point_compress(P):
    zinv = modp_inv(P[2])
    x, y = P[0] * zinv % p, P[1] * zinv % p
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def point_decompress(s):
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = recover_x(y, sign)
    assert x is not None, "not a point"
    return (x, y, 1, x * y % p)


def secret_expand(secret):
    h = sha512(secret)
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def sign_expanded(a, prefix, A, msg):
    r = int.from_bytes(sha512(prefix + msg), "little") % q
    Rs = point_compress(point_mul(r, G))
    k = int.from_bytes(sha512(Rs + A + msg), "little") % q
    return Rs + int.to_bytes((r + k * a) % q, 32, "little")


def verify(public, msg, signature):
    A = point_decompress(public)
    Rs, s = signature[:32], int.from_bytes(signature[32:], "little")
    assert s < q
    k = int.from_bytes(sha512(Rs + public + msg), "little") % q
    sB, hA = point_mul(s, G), point_mul(k, A)
    R = point_decompress(Rs)
    lhs, rhs = sB, point_add(R, hA)
    return (lhs[0] * rhs[2] - rhs[0] * lhs[2]) % p == 0 and (lhs[1] * rhs[2] - rhs[1] * lhs[2]) % p == 0


# --- BIP-350 reference code (sipa/bech32 ref/python/segwit_addr.py, MIT, lightly trimmed) ---
class Encoding(Enum):
    BECH32 = 1
    BECH32M = 2


CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32M_CONST = 0x2bc830a3


def bech32_polymod(values):
    generator = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1ffffff) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if ((top >> i) & 1) else 0
    return chk


def bech32_hrp_expand(hrp):
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def bech32_verify_checksum(hrp, data):
    const = bech32_polymod(bech32_hrp_expand(hrp) + data)
    if const == 1:
        return Encoding.BECH32
    if const == BECH32M_CONST:
        return Encoding.BECH32M
    return None


def bech32_create_checksum(hrp, data, spec):
    values = bech32_hrp_expand(hrp) + data
    const = BECH32M_CONST if spec == Encoding.BECH32M else 1
    polymod = bech32_polymod(values + [0, 0, 0, 0, 0, 0]) ^ const
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]


def bech32_encode(hrp, data, spec):
    combined = data + bech32_create_checksum(hrp, data, spec)
    return hrp + '1' + ''.join([CHARSET[d] for d in combined])


def bech32_decode(bech):
    if ((any(ord(x) < 33 or ord(x) > 126 for x in bech)) or
            (bech.lower() != bech and bech.upper() != bech)):
        return (None, None, None)
    bech = bech.lower()
    pos = bech.rfind('1')
    if pos < 1 or pos + 7 > len(bech) or len(bech) > 90:
        return (None, None, None)
    if not all(x in CHARSET for x in bech[pos+1:]):
        return (None, None, None)
    hrp = bech[:pos]
    data = [CHARSET.find(x) for x in bech[pos+1:]]
    spec = bech32_verify_checksum(hrp, data)
    if spec is None:
        return (None, None, None)
    return (hrp, data[:-6], spec)


def convertbits(data, frombits, tobits, pad=True):
    acc = 0
    bits = 0
    ret = []
    maxv = (1 << tobits) - 1
    max_acc = (1 << (frombits + tobits - 1)) - 1
    for value in data:
        if value < 0 or (value >> frombits):
            return None
        acc = ((acc << frombits) | value) & max_acc
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            ret.append((acc >> bits) & maxv)
    if pad:
        if bits:
            ret.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        return None
    return ret


def segwit_decode(hrp, addr):
    hrpgot, data, spec = bech32_decode(addr)
    if hrpgot != hrp:
        return (None, None)
    decoded = convertbits(data[1:], 5, 8, False)
    if decoded is None or len(decoded) < 2 or len(decoded) > 40:
        return (None, None)
    if data[0] > 16:
        return (None, None)
    if data[0] == 0 and len(decoded) != 20 and len(decoded) != 32:
        return (None, None)
    if data[0] == 0 and spec != Encoding.BECH32 or data[0] != 0 and spec != Encoding.BECH32M:
        return (None, None)
    return (data[0], decoded)


# --- chive's chat identity, from the design ---------------------------------------------
def u64(n):
    return n.to_bytes(8, "big")


def address(pub, version=1, spec=Encoding.BECH32M):
    text = bech32_encode("chive", [version] + convertbits(pub, 8, 5), spec)
    return text, text[-6:]


def blind(seed, period, msg):
    a, prefix = secret_expand(seed)
    A = point_compress(point_mul(a, G))
    h = int.from_bytes(sha512(b"chive-blind-v1" + A + u64(period)), "little") % q
    hb = h.to_bytes(32, "little")
    blinded = point_compress(point_mul(h, point_decompress(A)))
    a2 = h * a % q
    assert point_compress(point_mul(a2, G)) == blinded
    prefix2 = sha512(b"chive-blind-prefix-v1" + prefix + hb)[:32]
    sig = sign_expanded(a2, prefix2, blinded, msg)
    assert verify(blinded, msg, sig)
    return A, hb, blinded, a2.to_bytes(32, "little"), prefix2, sig


V = json.loads((pathlib.Path(__file__).parent / "chat-identity.json").read_text())
H = bytes.fromhex

for v in V["addresses"]:
    a, _ = secret_expand(H(v["identitySeed"]))
    pub = point_compress(point_mul(a, G))
    assert pub.hex() == v["identityPub"]
    text, cs = address(pub)
    assert (text, cs) == (v["address"], v["checksum"]), v
    assert segwit_decode("chive", text) == (1, list(pub))  # the shape of a segwit v1 (Taproot) address
    hrp, data, spec = bech32_decode(text.upper())          # either case
    assert (hrp, spec, bytes(convertbits(data[1:], 5, 8, False))) == ("chive", Encoding.BECH32M, pub)
pub0 = H(V["addresses"][0]["identityPub"])
assert address(pub0, 2)[0] == V["futureVersionAddress"]

# Refused addresses: each rebuilt from its reason, and refused by the reference where it can tell.
refused = {r["why"]: r for r in V["refusedAddresses"]}
typo = refused["typo"]["address"]
good = V["addresses"][1]["address"]
assert sum(a != b for a, b in zip(typo, good)) == 1 and bech32_decode(typo) == (None, None, None)
at = next(i for i, (a, b) in enumerate(zip(typo, good)) if a != b)
assert f"position {at + 1}" in refused["typo"]["messageContains"]
mixed = refused["mixed-case"]["address"]
assert mixed != mixed.lower() and mixed.lower() == V["addresses"][0]["address"] and bech32_decode(mixed) == (None, None, None)
assert refused["bech32-checksum"]["address"] == address(pub0, 1, Encoding.BECH32)[0]
assert bech32_decode(refused["bech32-checksum"]["address"])[2] == Encoding.BECH32
padded = refused["non-zero-padding"]["address"]
hrp, data, spec = bech32_decode(padded)
assert spec == Encoding.BECH32M and data[0] == 1 and convertbits(data[1:], 5, 8, False) is None
assert data[:-1] == bech32_decode(V["addresses"][0]["address"])[1][:-1] and data[-1] == bech32_decode(V["addresses"][0]["address"])[1][-1] | 1
assert refused["version-3-longer"]["address"] == bech32_encode("chive", [3] + convertbits(pub0 + bytes(1), 8, 5), Encoding.BECH32M)
for why in ("small-order-key", "non-canonical-key"):
    key = H(refused[why]["identityPub"])
    assert refused[why]["address"] == address(key)[0]
    y = int.from_bytes(key, "little") & ((1 << 255) - 1)
    x = recover_x(y, key[31] >> 7)
    # no point at all (y >= p), or one of small order (8·P is the identity)
    assert x is None or point_compress(point_mul(8, (x, y, 1, x * y % p))) == point_compress((0, 1, 1, 0)), why

# BIP-350's own vectors (bech32m-bip350.json) through the reference, with chive's classification.
B = json.loads((pathlib.Path(__file__).parent / "bech32m-bip350.json").read_text())
for s in B["bech32m"]["valid"]:
    assert bech32_decode(s)[2] == Encoding.BECH32M, s


def classify(s):
    """chive's problem kinds (src/chat/bech32m.ts), by the BIP's rules, in the decoder's order."""
    if any(ord(c) < 33 or ord(c) > 126 for c in s):
        return "bad-character"
    if s.lower() != s and s.upper() != s:
        return "mixed-case"
    if len(s) > 90:
        return "too-long"
    pos = s.lower().rfind("1")
    if pos < 0:
        return "no-separator"
    if pos == 0:
        return "empty-hrp"
    if len(s) - pos - 1 < 6:
        return "too-short"
    if not all(c in CHARSET for c in s.lower()[pos + 1:]):
        return "bad-character"
    spec = bech32_decode(s)[2]
    return "valid" if spec == Encoding.BECH32M else "bech32-checksum" if spec == Encoding.BECH32 else "bad-checksum"


for v in B["bech32m"]["invalid"]:
    assert bech32_decode(v["string"])[2] != Encoding.BECH32M, v
    assert classify(v["string"]) == v["problem"], (v, classify(v["string"]))
for v in B["segwit"]["valid"]:
    hrp = v["address"][:2].lower()
    ver, prog = segwit_decode(hrp, v["address"])
    assert bytes([ver + 0x50 if ver else 0, len(prog)] + prog).hex() == v["scriptPubKey"], v
    assert (bech32_decode(v["address"])[2] == Encoding.BECH32M) == v["bech32m"], v
for v in B["segwit"]["invalid"]:
    assert segwit_decode("bc", v["address"]) == (None, None) and segwit_decode("tb", v["address"]) == (None, None), v
    assert classify(v["address"]) == v["bech32m"], (v, classify(v["address"]))

for v in V["blinding"]:
    A, hb, blinded, a2, prefix2, sig = blind(H(v["identitySeed"]), v["period"], v["messageUtf8"].encode())
    got = dict(identityPub=A, h=hb, blindedPub=blinded, blindedScalar=a2, blindedPrefix=prefix2, signature=sig)
    for k, b in got.items():
        assert b.hex() == v[k], (k, v)
    assert not verify(A, v["messageUtf8"].encode(), sig)

for v in V["descriptors"]:
    A, _, blinded, _, _, _ = blind(H(v["identitySeed"]), v["period"], b"")
    assert A.hex() == v["identityPub"] and blinded.hex() == v["blindedPub"]
    nonce = H(v["nonce"])
    header = bytes([1]) + blinded + v["period"].to_bytes(4, "big") + v["revision"].to_bytes(8, "big") + nonce
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=b"chive-descriptor-key-v1").derive(
        A + blinded + v["period"].to_bytes(4, "big"))
    inner = H(v["introEncKey"]) + bytes([len(v["introPoints"])]) + b"".join(
        H(ip["relayIdentity"]) + H(ip["authKey"]) for ip in v["introPoints"])
    sealed = ChaCha20Poly1305(key).encrypt(nonce, inner, header)
    signed = header + len(sealed).to_bytes(2, "big") + sealed
    sig = blind(H(v["identitySeed"]), v["period"], b"chive-chat-descriptor-v1" + signed)[5]
    assert (header.hex(), key.hex(), inner.hex()) == (v["header"], v["key"], v["inner"])
    assert (signed + sig).hex() == v["descriptor"], v
    assert len(signed + sig) <= 440

for v in V["rings"]:
    period = v["period"]
    ring = sorted((hashlib.sha256(b"chive-hsdir-node" + H(r) + u64(period)).hexdigest(), r) for r in v["relays"])
    assert [{"identity": r, "position": pos} for pos, r in ring] == v["ring"]
    picked = []
    for replica in range(1, v["replicas"] + 1):
        pos = hashlib.sha256(b"chive-hsdir-store" + H(v["blindedPub"]) + bytes([replica]) + u64(period)).hexdigest()
        assert pos == v["storePositions"][replica - 1]
        start = next((i for i, (rp, _) in enumerate(ring) if rp >= pos), 0)
        taken = 0
        for step in range(len(ring)):
            if taken == v["spread"]:
                break
            r = ring[(start + step) % len(ring)][1]
            if r not in picked:
                picked.append(r)
                taken += 1
    assert picked == v["hsdirs"], v

print("all chat vectors check (and the BIP-350 vectors)")
