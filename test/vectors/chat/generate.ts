/**
 * Generates test/vectors/chat/chat-identity.json: chive's chat identity vectors (addresses,
 * key blinding, descriptors, the HSDir ring) from fixed inputs.
 *
 * A clear-box reference written straight from the chat design on top of @noble/curves
 * (BigInt scalar arithmetic, Point), @noble/hashes and @noble/ciphers. It deliberately does
 * NOT import src/chat/ or the crypto providers, so the vectors check the implementation
 * rather than restate it. Its bech32m is written from BIP-350's text and checks itself
 * against the BIP's vectors (bech32m-bip350.json); it converts a key to 5-bit groups as one
 * BigInt (src/chat uses a bit buffer). Every blinded signature is also verified with node:crypto (OpenSSL)
 * and noble before anything is written; the script refuses to write if one fails.
 *
 *     npx tsx test/vectors/chat/generate.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const enc = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const label = (s: string) => sha256(enc(`chive chat vector: ${s}`));
const L = ed25519.Point.Fn.ORDER;
const leToBig = (b: Uint8Array) => BigInt('0x' + (hex(Uint8Array.from(b).reverse()) || '0'));
const bigToLe = (n: bigint) => Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex')).reverse();
const be = (n: number, bytes: number) => {
  const out = new Uint8Array(bytes);
  let v = BigInt(n);
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
};
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`reference self-check failed: ${what}`);
}

// --- addresses: bech32m (BIP-350), written from the BIP's text -----------------------------
const BECH32_ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32M = 0x2bc830a3;
const BECH32 = 1;
/** BIP-173's polymod over the hrp expansion ‖ values: a valid string gives its constant (BECH32M or BECH32). */
function bechPolymod(hrp: string, values: number[]): number {
  const gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  const codes = [...hrp].map((c) => c.charCodeAt(0));
  let chk = 1;
  for (const v of [...codes.map((c) => c >> 5), 0, ...codes.map((c) => c & 31), ...values]) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    gen.forEach((g, i) => { if ((top >>> i) & 1) chk ^= g; });
  }
  return chk;
}
function bechEncode(hrp: string, data: number[], constant: number): { checksum: string; text: string } {
  const chk = bechPolymod(hrp, [...data, 0, 0, 0, 0, 0, 0]) ^ constant;
  const checksum = [25, 20, 15, 10, 5, 0].map((shift) => BECH32_ALPHABET[(chk >>> shift) & 31]).join('');
  return { checksum, text: `${hrp}1${data.map((d) => BECH32_ALPHABET[d]).join('')}${checksum}` };
}
/** 5-bit groups of `bytes`, high bits first, as one BigInt shifted left over its padding bits (`padding` fills them). */
function fiveBitGroups(bytes: Uint8Array, padding = 0n): number[] {
  const count = Math.ceil((bytes.length * 8) / 5);
  const padBits = BigInt(count * 5 - bytes.length * 8);
  check(padding < 1n << padBits, 'padding fits its bits');
  let n = (BigInt('0x' + hex(bytes)) << padBits) | padding;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    out.unshift(Number(n & 31n));
    n >>= 5n;
  }
  return out;
}
function address(identityPub: Uint8Array, { version = 1, constant = BECH32M, padding = 0n } = {}) {
  const { checksum, text } = bechEncode('chive', [version, ...fiveBitGroups(identityPub, padding)], constant);
  return { checksum, address: text };
}
// Self-check of the bech32 code above against the published vectors (BIP-350, and BIP-173 for v0 segwit).
{
  const bip350 = JSON.parse(readFileSync(here('bech32m-bip350.json'), 'utf8')) as {
    bech32m: { valid: string[] }; segwit: { valid: { address: string; scriptPubKey: string; bech32m: boolean }[] };
  };
  const verifies = (s: string, constant: number) => {
    const lower = s.toLowerCase();
    const at = lower.lastIndexOf('1');
    return bechPolymod(lower.slice(0, at), [...lower.slice(at + 1)].map((c) => BECH32_ALPHABET.indexOf(c))) === constant;
  };
  for (const s of bip350.bech32m.valid) check(verifies(s, BECH32M) && !verifies(s, BECH32), `BIP-350 vector ${s}`);
  for (const v of bip350.segwit.valid) {
    check(verifies(v.address, v.bech32m ? BECH32M : BECH32), `BIP-350 segwit vector ${v.address}`);
    const lower = v.address.toLowerCase();
    const at = lower.lastIndexOf('1');
    const data = [...lower.slice(at + 1, -6)].map((c) => BECH32_ALPHABET.indexOf(c));
    const program = Buffer.from(v.scriptPubKey, 'hex').subarray(2);
    check(bechEncode(lower.slice(0, at), [data[0]!, ...fiveBitGroups(program)], v.bech32m ? BECH32M : BECH32).text === lower,
      `re-encoding BIP-350 segwit vector ${v.address}`);
  }
}

// --- blinding ----------------------------------------------------------------------------
function blind(seed: Uint8Array, period: number, message: Uint8Array) {
  const { scalar: a, prefix, pointBytes: A } = ed25519.utils.getExtendedPublicKey(seed);
  const h = leToBig(sha512(cat(enc('chive-blind-v1'), A, be(period, 8)))) % L;
  const hBytes = bigToLe(h);
  const blindedPub = ed25519.Point.fromBytes(A).multiply(h).toBytes();
  const blindedScalar = (h * (a % L)) % L;
  check(hex(ed25519.Point.BASE.multiply(blindedScalar).toBytes()) === hex(blindedPub), "a'·B = h·A");
  const blindedPrefix = sha512(cat(enc('chive-blind-prefix-v1'), prefix, hBytes)).slice(0, 32);
  // RFC 8032 §5.1.6 with the expanded key (a', prefix').
  const r = leToBig(sha512(cat(blindedPrefix, message))) % L;
  const R = ed25519.Point.BASE.multiply(r).toBytes();
  const k = leToBig(sha512(cat(R, blindedPub, message))) % L;
  const signature = cat(R, bigToLe((r + k * blindedScalar) % L));
  check(ed25519.verify(signature, message, blindedPub, { zip215: false }), 'noble verifies the blinded signature');
  const jwk = { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(blindedPub).toString('base64url') };
  check(nodeVerify(null, message, createPublicKey({ key: jwk, format: 'jwk' }), signature), 'node:crypto (OpenSSL) verifies it');
  check(!ed25519.verify(signature, message, A), 'the unblinded key does not verify it');
  return { identityPub: A, h: hBytes, blindedPub, blindedScalar: bigToLe(blindedScalar), blindedPrefix, signature };
}

// --- descriptors -------------------------------------------------------------------------
interface IntroPoint { relayIdentity: Uint8Array; authKey: Uint8Array }
function descriptor(seed: Uint8Array, period: number, revision: number, nonce: Uint8Array, introEncKey: Uint8Array, points: IntroPoint[]) {
  const A = ed25519.getPublicKey(seed);
  const header = cat(Uint8Array.of(1), blind(seed, period, new Uint8Array(0)).blindedPub, be(period, 4), be(revision, 8), nonce);
  const blindedPub = header.slice(1, 33);
  const key = hkdf(sha256, cat(A, blindedPub, be(period, 4)), new Uint8Array(0), enc('chive-descriptor-key-v1'), 32);
  const inner = cat(introEncKey, Uint8Array.of(points.length), ...points.flatMap((p) => [p.relayIdentity, p.authKey]));
  const sealed = chacha20poly1305(key, nonce, header).encrypt(inner);
  const signedPart = cat(header, be(sealed.length, 2), sealed);
  const { signature } = blind(seed, period, cat(enc('chive-chat-descriptor-v1'), signedPart));
  return { identityPub: A, blindedPub, key, inner, header, bytes: cat(signedPart, signature) };
}

// --- HSDir ring --------------------------------------------------------------------------
function hsdirs(identities: Uint8Array[], blindedPub: Uint8Array, period: number, replicas = 2, spread = 2) {
  const ring = identities
    .map((identity) => ({ identity, position: hex(sha256(cat(enc('chive-hsdir-node'), identity, be(period, 8)))) }))
    .sort((x, y) => (x.position < y.position ? -1 : x.position > y.position ? 1 : hex(x.identity) < hex(y.identity) ? -1 : 1));
  const storePositions: string[] = [];
  const picked: string[] = [];
  for (let replica = 1; replica <= replicas; replica++) {
    const pos = hex(sha256(cat(enc('chive-hsdir-store'), blindedPub, Uint8Array.of(replica), be(period, 8))));
    storePositions.push(pos);
    let start = ring.findIndex((e) => e.position >= pos);
    if (start < 0) start = 0;
    let taken = 0;
    for (let step = 0; step < ring.length && taken < spread; step++) {
      const id = hex(ring[(start + step) % ring.length]!.identity);
      if (picked.includes(id)) continue;
      picked.push(id);
      taken++;
    }
  }
  return { ring: ring.map((e) => ({ identity: hex(e.identity), position: e.position })), storePositions, hsdirs: picked };
}

// --- the vectors -------------------------------------------------------------------------
const seeds = [label('identity 1'), label('identity 2'), new Uint8Array(32).fill(0xff)];
const addresses = seeds.map((seed) => {
  const identityPub = ed25519.getPublicKey(seed);
  const { checksum, address: text } = address(identityPub);
  check(text.length === 65 && text.startsWith('chive1p'), 'an address is chive1p + 58 characters');
  return { identitySeed: hex(seed), identityPub: hex(identityPub), checksum, address: text };
});
// A checksum-valid address of a future version 2: decoders must say "unknown version".
const futureVersion = address(ed25519.getPublicKey(seeds[0]!), { version: 2 }).address;
// Addresses a decoder must refuse, with words its message must contain (src/chat/address.ts).
const pub0 = ed25519.getPublicKey(seeds[0]!);
const typoAt = 29; // 0-based: the 30th character
const typoBase = addresses[1]!.address;
const typo = typoBase.slice(0, typoAt) + BECH32_ALPHABET[(BECH32_ALPHABET.indexOf(typoBase[typoAt]!) + 1) % 32] + typoBase.slice(typoAt + 1);
const refusedAddresses = [
  { why: 'typo', address: typo, messageContains: `checksum mismatch: a typo? Probably the character at position ${typoAt + 1}` },
  { why: 'mixed-case', address: addresses[0]!.address.slice(0, 20) + addresses[0]!.address[20]!.toUpperCase() + addresses[0]!.address.slice(21), messageContains: 'mixed case' },
  { why: 'bech32-checksum', address: address(pub0, { constant: BECH32 }).address, messageContains: 'bech32 (BIP-173) checksum' },
  { why: 'non-zero-padding', address: address(pub0, { padding: 1n }).address, messageContains: 'non-zero padding' },
  { why: 'version-3-longer', address: bechEncode('chive', [3, ...fiveBitGroups(cat(pub0, Uint8Array.of(0)))], BECH32M).text, messageContains: 'unknown version 3' },
  { why: 'small-order-key', identityPub: '01'.padEnd(64, '0'), messageContains: 'not a valid Ed25519 public key' },
  { why: 'non-canonical-key', identityPub: 'ed' + 'ff'.repeat(30) + '7f', messageContains: 'not a valid Ed25519 public key' },
].map(({ identityPub, ...rest }) => (identityPub === undefined ? rest : { ...rest, identityPub, address: address(Buffer.from(identityPub, 'hex')).address }));
check(refusedAddresses[1]!.address!.toLowerCase() === addresses[0]!.address, 'the mixed-case vector differs in case only');

const blinding = [0, 1, 19_700, 0xffff_ffff].map((period, i) => {
  const seed = seeds[i % 2]!;
  const message = enc(`chive blinding vector ${i}`);
  const b = blind(seed, period, message);
  return {
    identitySeed: hex(seed), identityPub: hex(b.identityPub), period, h: hex(b.h), blindedPub: hex(b.blindedPub),
    blindedScalar: hex(b.blindedScalar), blindedPrefix: hex(b.blindedPrefix), messageUtf8: new TextDecoder().decode(message),
    signature: hex(b.signature),
  };
});

const descriptors = [
  { seed: seeds[0]!, period: 19_700, revision: 1, points: 1 },
  { seed: seeds[1]!, period: 19_701, revision: 2 ** 40 + 7, points: 3 },
].map(({ seed, period, revision, points }, i) => {
  const nonce = label(`descriptor ${i} nonce`).slice(0, 12);
  const introEncKey = label(`descriptor ${i} introEncKey`);
  const introPoints = Array.from({ length: points }, (_, j) => ({
    relayIdentity: label(`descriptor ${i} relay ${j}`), authKey: ed25519.getPublicKey(label(`descriptor ${i} auth ${j}`)),
  }));
  const d = descriptor(seed, period, revision, nonce, introEncKey, introPoints);
  return {
    identitySeed: hex(seed), identityPub: hex(d.identityPub), period, revision, nonce: hex(nonce),
    introEncKey: hex(introEncKey),
    introPoints: introPoints.map((p) => ({ relayIdentity: hex(p.relayIdentity), authKey: hex(p.authKey) })),
    blindedPub: hex(d.blindedPub), header: hex(d.header), key: hex(d.key), inner: hex(d.inner), descriptor: hex(d.bytes),
  };
});

const relays = Array.from({ length: 10 }, (_, i) => label(`relay ${i}`));
const ringBlinded = blind(seeds[0]!, 19_700, new Uint8Array(0)).blindedPub;
const rings = [
  { relays, replicas: 2, spread: 2 },
  { relays: relays.slice(0, 3), replicas: 2, spread: 2 },
  { relays, replicas: 3, spread: 1 },
].map(({ relays: ids, replicas, spread }) => ({
  relays: ids.map(hex), blindedPub: hex(ringBlinded), period: 19_700, replicas, spread,
  ...hsdirs(ids, ringBlinded, 19_700, replicas, spread),
}));

const out = {
  description: 'chive chat identity vectors (docs/PROTOCOL.md, chat identity). Generated by test/vectors/chat/generate.ts; see README.md.',
  addresses, futureVersionAddress: futureVersion, refusedAddresses, blinding, descriptors, rings,
};
writeFileSync(here('chat-identity.json'), JSON.stringify(out, null, 2) + '\n');
console.log('wrote chat-identity.json');
