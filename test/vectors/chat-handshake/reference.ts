/**
 * A deliberately literal reference of chive's chat introduction and end-to-end handshake,
 * written straight from the chat design (docs/PROTOCOL.md, chat) on @noble/curves,
 * @noble/hashes and @noble/ciphers. For tests and the vector generator only.
 *
 * It imports nothing from src/ (no provider, no constants, no codec): every string, size
 * and field order is spelled out here again, so that the vectors and the cross-checks in
 * test/property/chat-intro.property.test.ts test src/chat/ rather than restate it.
 * Not constant-time, no zeroing, no input checks.
 */
import { x25519, ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { hkdf, expand } from '@noble/hashes/hkdf.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
export const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

/** u64 big-endian. */
export function u64be(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), false);
  return out;
}

/** u32 big-endian. */
export function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

// ---------------------------------------------------------------------------------------
// ESTABLISH_INTRO
// ---------------------------------------------------------------------------------------

export function refEstablishIntro(authSeed: Uint8Array, introRelayIdentity: Uint8Array) {
  const authKey = ed25519.getPublicKey(authSeed);
  const signed = cat(enc('chive-establish-intro-v1'), authKey, introRelayIdentity);
  const signature = ed25519.sign(signed, authSeed);
  return { authKey, signed, signature, body: cat(authKey, signature) };
}

// ---------------------------------------------------------------------------------------
// The introduction (INTRODUCE1 / INTRODUCE2)
// ---------------------------------------------------------------------------------------

export interface RefIntroduceInput {
  introEncSecret: Uint8Array;
  authSeed: Uint8Array;
  receiverIdentitySeed: Uint8Array;
  senderIdentitySeed: Uint8Array;
  cookie: Uint8Array;
  rendezvousIdentity: Uint8Array;
  clientPublic: Uint8Array;
  timestamp: number;
  ephemeralSecret: Uint8Array;
}

export function refSealIntroduction(i: RefIntroduceInput) {
  const introEncKey = x25519.getPublicKey(i.introEncSecret);
  const authKey = ed25519.getPublicKey(i.authSeed);
  const receiverIdentityPub = ed25519.getPublicKey(i.receiverIdentitySeed);
  const senderIdentityPub = ed25519.getPublicKey(i.senderIdentitySeed);
  const ephemeralPublic = x25519.getPublicKey(i.ephemeralSecret);
  const shared = x25519.getSharedSecret(i.ephemeralSecret, introEncKey);
  const receiverShared = x25519.getSharedSecret(i.introEncSecret, ephemeralPublic);
  if (hex(shared) !== hex(receiverShared)) throw new Error('reference: introduction DH sides disagree');
  const ikm = cat(shared, ephemeralPublic, introEncKey, authKey);
  const key = hkdf(sha256, ikm, new Uint8Array(0), enc('chive-introduce-v1'), 32);
  const stamp = u64be(i.timestamp);
  const signed = cat(
    enc('chive-introduce-sender-v1'), receiverIdentityPub, authKey, i.cookie, i.rendezvousIdentity, i.clientPublic, stamp,
  );
  const signature = ed25519.sign(signed, i.senderIdentitySeed);
  const plaintext = cat(i.cookie, i.rendezvousIdentity, i.clientPublic, senderIdentityPub, stamp, signature);
  const aad = cat(authKey, ephemeralPublic);
  const sealed = chacha20poly1305(key, new Uint8Array(12), aad).encrypt(plaintext); // ciphertext ‖ tag
  const body = cat(authKey, ephemeralPublic, sealed);
  // Self-check: the reference opens what it sealed.
  const opened = chacha20poly1305(key, new Uint8Array(12), aad).decrypt(sealed);
  if (hex(opened) !== hex(plaintext)) throw new Error('reference: introduction does not open');
  if (!ed25519.verify(signature, signed, senderIdentityPub)) throw new Error('reference: sender signature does not verify');
  return {
    introEncKey, authKey, receiverIdentityPub, senderIdentityPub, ephemeralPublic, shared, ikm, key,
    signed, signature, plaintext, body,
  };
}

// ---------------------------------------------------------------------------------------
// The end-to-end handshake
// ---------------------------------------------------------------------------------------

export interface RefE2eInput {
  senderIdentityPub: Uint8Array;
  receiverIdentityPub: Uint8Array;
  /** b: the receiver's introduction secret (B = introEncKey). */
  introEncSecret: Uint8Array;
  /** x and y. */
  clientSecret: Uint8Array;
  serverSecret: Uint8Array;
}

export function refE2e(i: RefE2eInput) {
  const PROTOID = enc('chive-e2e-v1');
  const B = x25519.getPublicKey(i.introEncSecret);
  const X = x25519.getPublicKey(i.clientSecret);
  const Y = x25519.getPublicKey(i.serverSecret);
  const receiverDh = cat(x25519.getSharedSecret(i.serverSecret, X), x25519.getSharedSecret(i.introEncSecret, X));
  const senderDh = cat(x25519.getSharedSecret(i.clientSecret, Y), x25519.getSharedSecret(i.clientSecret, B));
  if (hex(receiverDh) !== hex(senderDh)) throw new Error('reference: e2e DH sides disagree');
  const secretInput = cat(senderDh, i.senderIdentityPub, i.receiverIdentityPub, B, X, Y, PROTOID);
  const keySeed = hmac(sha256, enc('chive-e2e-v1:key_extract'), secretInput);
  const verify = hmac(sha256, enc('chive-e2e-v1:verify'), secretInput);
  const authInput = cat(verify, i.senderIdentityPub, i.receiverIdentityPub, B, Y, X, PROTOID, enc('Server'));
  const auth = hmac(sha256, enc('chive-e2e-v1:mac'), authInput);
  const keyMaterial = expand(sha256, keySeed, enc('chive-e2e-v1:key_expand'), 192);
  const split = (m: Uint8Array) => ({ kf: m.subarray(0, 32), ko: m.subarray(32, 64), kr: m.subarray(64, 96) });
  return {
    introEncPub: B, clientPublic: X, serverPublic: Y, secretInput, keySeed, verify, authInput, auth,
    reply: cat(Y, auth), keyMaterial,
    senderToReceiver: split(keyMaterial.subarray(0, 96)),
    receiverToSender: split(keyMaterial.subarray(96, 192)),
  };
}
