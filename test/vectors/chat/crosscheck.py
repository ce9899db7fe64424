"""
Cross-checks test/vectors/chat/chat-identity.json with an implementation that shares no
code with chive or noble: Python big integers and the Ed25519 reference code of RFC 8032 §6
(point arithmetic, compression, signing), hashlib, base64.b32encode, and the `cryptography`
package (OpenSSL) for HKDF-SHA256 and ChaCha20-Poly1305.

    python3 test/vectors/chat/crosscheck.py      # prints "all chat vectors check" or fails

Not run by vitest (it needs Python); README.md records when it last passed.
"""
import base64
import hashlib
import json
import pathlib

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


# --- chive's chat identity, from the design ---------------------------------------------
def u64(n):
    return n.to_bytes(8, "big")


def address(pub, version=1):
    cs = hashlib.sha256(b"chive-address-checksum" + pub + bytes([version])).digest()[:2]
    return "chive1" + base64.b32encode(pub + cs + bytes([version])).decode().lower().rstrip("="), cs


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
    assert (text, cs.hex()) == (v["address"], v["checksum"]), v
assert address(H(V["addresses"][0]["identityPub"]), 2)[0] == V["futureVersionAddress"]

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

print("all chat vectors check")
