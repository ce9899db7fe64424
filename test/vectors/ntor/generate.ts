/**
 * Generates test/vectors/ntor/chive-ntor.json: chive's ntor vectors (32-byte Ed25519 node
 * id, 96 bytes of key material split kf ‖ ko ‖ kr), from fixed keys.
 *
 * This is a clear-box reference written straight from tor-spec §5.1.4 / §5.2.2 on top of
 * @noble/curves and @noble/hashes. It deliberately does NOT import src/handshake/ntor.ts
 * or the crypto providers, so that the vectors check our implementation rather than
 * restate it. Before writing anything it checks itself against Tor's published vector
 * (tor-ntor.json), and refuses to write if that fails.
 *
 *     npx tsx test/vectors/ntor/generate.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { x25519, ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { expand } from '@noble/hashes/hkdf.js';

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const enc = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

const PROTOID = enc('ntor-curve25519-sha256-1');
const t_mac = enc('ntor-curve25519-sha256-1:mac');
const t_key = enc('ntor-curve25519-sha256-1:key_extract');
const t_verify = enc('ntor-curve25519-sha256-1:verify');
const m_expand = enc('ntor-curve25519-sha256-1:key_expand');
const H = (x: Uint8Array, t: Uint8Array) => hmac(sha256, t, x);

interface Inputs { nodeId: Uint8Array; b: Uint8Array; x: Uint8Array; y: Uint8Array; length: number }

function reference({ nodeId, b, x, y, length }: Inputs) {
  const B = x25519.getPublicKey(b);
  const X = x25519.getPublicKey(x);
  const Y = x25519.getPublicKey(y);
  // The server's view: EXP(X,y) ‖ EXP(X,b); the client's EXP(Y,x) ‖ EXP(B,x) must agree.
  const serverDh = cat(x25519.getSharedSecret(y, X), x25519.getSharedSecret(b, X));
  const clientDh = cat(x25519.getSharedSecret(x, Y), x25519.getSharedSecret(x, B));
  if (hex(serverDh) !== hex(clientDh)) throw new Error('reference: client and server DH disagree');
  const secretInput = cat(serverDh, nodeId, B, X, Y, PROTOID);
  const keySeed = H(secretInput, t_key);
  const verify = H(secretInput, t_verify);
  const authInput = cat(verify, nodeId, B, Y, X, PROTOID, enc('Server'));
  const auth = H(authInput, t_mac);
  const keyMaterial = expand(sha256, keySeed, m_expand, length);
  return {
    onionKeyPublic: B, clientPublic: X, serverPublic: Y,
    onionskin: cat(nodeId, B, X), reply: cat(Y, auth),
    secretInput, keySeed, verify, authInput, auth, keyMaterial,
  };
}

// 1. The reference must reproduce Tor's published vector.
const tor = JSON.parse(readFileSync(here('tor-ntor.json'), 'utf8')).vectors[0];
const torOut = reference({
  nodeId: unhex(tor.nodeId), b: unhex(tor.onionKeySecret), x: unhex(tor.clientSecret),
  y: unhex(tor.serverSecret), length: tor.keyMaterial.length / 2,
});
for (const field of ['onionskin', 'reply', 'keyMaterial'] as const) {
  if (hex(torOut[field]) !== tor[field]) throw new Error(`reference does not reproduce Tor's ${field}; not writing`);
}

// 2. chive vectors from fixed, labelled keys.
const label = (s: string) => sha256(enc(`chive ntor vector: ${s}`));
const cases: { description: string; identitySeed: Uint8Array; b: Uint8Array; x: Uint8Array; y: Uint8Array }[] = [
  {
    description: 'keys are SHA-256 of labels',
    identitySeed: label('1 identity'), b: label('1 b'), x: label('1 x'), y: label('1 y'),
  },
  {
    description: 'secrets that clamping changes (all 0xff, all 0x01, 0x80 high bytes)',
    identitySeed: label('2 identity'), b: new Uint8Array(32).fill(0xff), x: new Uint8Array(32).fill(0x01),
    y: new Uint8Array(32).map((_, i) => (i % 2 === 0 ? 0x80 : 0x7f)),
  },
  {
    description: 'a second relay identity, fresh keys',
    identitySeed: label('3 identity'), b: label('3 b'), x: label('3 x'), y: label('3 y'),
  },
];

const vectors = cases.map((c) => {
  const nodeId = ed25519.getPublicKey(c.identitySeed);
  const out = reference({ nodeId, b: c.b, x: c.x, y: c.y, length: 96 });
  return {
    description: c.description,
    identitySeed: hex(c.identitySeed),
    nodeId: hex(nodeId),
    onionKeySecret: hex(c.b),
    onionKeyPublic: hex(out.onionKeyPublic),
    clientSecret: hex(c.x),
    clientPublic: hex(out.clientPublic),
    serverSecret: hex(c.y),
    serverPublic: hex(out.serverPublic),
    onionskin: hex(out.onionskin),
    secretInput: hex(out.secretInput),
    keySeed: hex(out.keySeed),
    verify: hex(out.verify),
    authInput: hex(out.authInput),
    auth: hex(out.auth),
    reply: hex(out.reply),
    keyMaterial: hex(out.keyMaterial),
    kf: hex(out.keyMaterial.subarray(0, 32)),
    ko: hex(out.keyMaterial.subarray(32, 64)),
    kr: hex(out.keyMaterial.subarray(64, 96)),
  };
});

const file = {
  source: 'test/vectors/ntor/generate.ts: an independent reference of tor-spec §5.1.4 on @noble/*, checked against Tor\'s vector first. nodeId = Ed25519 public key of identitySeed (32 bytes); keyMaterial = 96 bytes = kf ‖ ko ‖ kr.',
  vectors,
};
writeFileSync(here('chive-ntor.json'), JSON.stringify(file, null, 2) + '\n');
process.stdout.write(`wrote ${vectors.length} vectors to ${here('chive-ntor.json')}\n`);
