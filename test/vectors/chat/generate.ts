/**
 * Generates test/vectors/chat/chat-identity.json: chive's chat identity vectors (addresses,
 * key blinding, descriptors, the HSDir ring) from fixed inputs.
 *
 * A clear-box reference written straight from the chat design on top of @noble/curves
 * (BigInt scalar arithmetic, Point), @noble/hashes and @noble/ciphers. It deliberately does
 * NOT import src/chat/ or the crypto providers, so the vectors check the implementation
 * rather than restate it. Base32 here works on the payload as one 280-bit BigInt (src/chat
 * uses a bit buffer). Every blinded signature is also verified with node:crypto (OpenSSL)
 * and noble before anything is written; the script refuses to write if one fails.
 *
 *     npx tsx test/vectors/chat/generate.ts
 */
import { writeFileSync } from 'node:fs';
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

// --- addresses ---------------------------------------------------------------------------
function base32(payload: Uint8Array): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bits = payload.length * 8;
  check(bits % 5 === 0, 'payload is a whole number of base32 characters');
  let n = BigInt('0x' + hex(payload));
  let out = '';
  for (let i = 0; i < bits / 5; i++) {
    out = alphabet[Number(n & 31n)] + out;
    n >>= 5n;
  }
  return out;
}
function address(identityPub: Uint8Array, version = 1) {
  const checksum = sha256(cat(enc('chive-address-checksum'), identityPub, Uint8Array.of(version))).slice(0, 2);
  return { checksum, address: 'chive1' + base32(cat(identityPub, checksum, Uint8Array.of(version))) };
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
  return { identitySeed: hex(seed), identityPub: hex(identityPub), checksum: hex(checksum), address: text };
});
// A checksum-valid address of a future version 2: decoders must say "unknown version".
const futureVersion = address(ed25519.getPublicKey(seeds[0]!), 2).address;

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
  addresses, futureVersionAddress: futureVersion, blinding, descriptors, rings,
};
writeFileSync(here('chat-identity.json'), JSON.stringify(out, null, 2) + '\n');
console.log('wrote chat-identity.json');
