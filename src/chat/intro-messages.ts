/**
 * Codecs of the bodies of the chat relay messages that set up a conversation: the
 * introduction point's (ESTABLISH_INTRO, INTRO_ESTABLISHED, the routing part of
 * INTRODUCE1 / INTRODUCE2, INTRODUCE_ACK), the rendezvous point's (ESTABLISH_RENDEZVOUS,
 * RENDEZVOUS_ESTABLISHED, RENDEZVOUS1, RENDEZVOUS2) and the HSDir's (HSDIR_STORE,
 * HSDIR_STORED, HSDIR_FETCH, HSDIR_FOUND). src/wire/relay-message.ts hands these over as
 * an opaque `body`; this module parses it. Layouts are fixed in src/wire/constants.ts
 * (chat section) and docs/PROTOCOL.md.
 *
 * Every decoder has a maximum length, refuses trailing bytes and unknown status values and
 * fails with a typed ChiveError (TRUNCATED, OVER_LENGTH, TRAILING_BYTES, BAD_VALUE,
 * BAD_INTRODUCTION). Decoded fields are copies, safe to keep.
 *
 * Not here: the encrypted introduction itself (introduce.ts), the end-to-end handshake
 * (e2e-handshake.ts), the chat descriptor (its own module: HSDIR_STORE / HSDIR_FOUND carry
 * it as bytes, checked here only for its length cap), and which message a state accepts.
 */
import { ByteReader, ByteWriter, concatBytes, utf8 } from '../bytes.js';
import { ChiveError } from '../errors.js';
import type { CryptoProvider } from '../crypto/provider.js';
import {
  CHAT_COOKIE_LEN, CHAT_DESCRIPTOR_MAX_LEN, CHAT_E2E_REPLY_LEN, CHAT_ESTABLISH_INTRO_LEN,
  CHAT_ESTABLISH_INTRO_SIG_DOMAIN, CHAT_HSDIR_FETCH_LEN, CHAT_INTRODUCE_LEN, CHAT_RENDEZVOUS1_LEN,
  ED25519_KEY_LEN, ED25519_SIG_LEN, HsdirFetchStatus, HsdirStoreStatus, IntroduceAckStatus,
} from '../wire/constants.js';

const ESTABLISH_INTRO_DOMAIN = utf8(CHAT_ESTABLISH_INTRO_SIG_DOMAIN);
/** Relay identities (Ed25519 public keys) named in chat messages. */
const RELAY_IDENTITY_LEN = ED25519_KEY_LEN;
const STATUS_LEN = 1;

// ---------------------------------------------------------------------------------------
// Introduction point
// ---------------------------------------------------------------------------------------

/**
 * ESTABLISH_INTRO (receiver → intro point): authKey ‖ Ed25519 signature by the auth key over
 * CHAT_ESTABLISH_INTRO_SIG_DOMAIN ‖ authKey ‖ introRelayIdentity. `authSeed` is the 32-byte
 * seed of the receiver's auth key for this intro point.
 */
export function encodeEstablishIntro(provider: CryptoProvider, authSeed: Uint8Array, introRelayIdentity: Uint8Array): Uint8Array {
  checkArg('auth key seed', authSeed, ED25519_KEY_LEN);
  checkArg('intro relay identity', introRelayIdentity, RELAY_IDENTITY_LEN);
  const authKey = provider.ed25519PublicKey(authSeed);
  const signature = provider.ed25519Sign(authSeed, establishIntroSigned(authKey, introRelayIdentity));
  return concatBytes(authKey, signature);
}

/**
 * The intro point `ownIdentity` checks an ESTABLISH_INTRO: exactly CHAT_ESTABLISH_INTRO_LEN
 * bytes (TRUNCATED / OVER_LENGTH) and a signature that verifies for this relay
 * (BAD_INTRODUCTION: a signature made for another intro point does not). Returns the auth key.
 */
export function checkEstablishIntro(provider: CryptoProvider, body: Uint8Array, ownIdentity: Uint8Array): { authKey: Uint8Array } {
  checkArg('own relay identity', ownIdentity, RELAY_IDENTITY_LEN);
  const r = ByteReader.of(body, CHAT_ESTABLISH_INTRO_LEN, 'ESTABLISH_INTRO');
  const authKey = r.bytes(ED25519_KEY_LEN, 'authKey', true);
  const signature = r.bytes(ED25519_SIG_LEN, 'signature');
  r.end();
  if (!provider.ed25519Verify(authKey, establishIntroSigned(authKey, ownIdentity), signature)) {
    throw new ChiveError('BAD_INTRODUCTION', 'ESTABLISH_INTRO: the signature does not verify under its auth key for this relay');
  }
  return { authKey };
}

function establishIntroSigned(authKey: Uint8Array, introRelayIdentity: Uint8Array): Uint8Array {
  return concatBytes(ESTABLISH_INTRO_DOMAIN, authKey, introRelayIdentity);
}

/**
 * The routing part of INTRODUCE1, all an intro point reads: the auth key that names the
 * receiver's circuit. The body must be exactly CHAT_INTRODUCE_LEN bytes (TRUNCATED /
 * OVER_LENGTH); the rest is sealed to the receiver and relayed untouched as INTRODUCE2.
 */
export function parseIntroduce1(body: Uint8Array): { authKey: Uint8Array } {
  const r = ByteReader.of(body, CHAT_INTRODUCE_LEN, 'INTRODUCE1');
  const authKey = r.bytes(ED25519_KEY_LEN, 'authKey', true);
  r.bytes(CHAT_INTRODUCE_LEN - ED25519_KEY_LEN, 'sealed introduction');
  r.end();
  return { authKey };
}

/** INTRODUCE_ACK (intro point → sender): status u8, an IntroduceAckStatus. */
export function encodeIntroduceAck(status: number): Uint8Array {
  return encodeStatus(status, IntroduceAckStatus, 'INTRODUCE_ACK');
}

export function decodeIntroduceAck(body: Uint8Array): number {
  return decodeStatus(body, IntroduceAckStatus, 'INTRODUCE_ACK');
}

/**
 * INTRO_ESTABLISHED and RENDEZVOUS_ESTABLISHED have empty bodies: anything in one is
 * refused (TRAILING_BYTES), `what` naming the message.
 */
export function checkEmptyBody(body: Uint8Array, what: string): void {
  if (body.length !== 0) {
    throw new ChiveError('TRAILING_BYTES', `${what}: the body must be empty, got ${body.length} bytes`);
  }
}

// ---------------------------------------------------------------------------------------
// Rendezvous point
// ---------------------------------------------------------------------------------------

/** ESTABLISH_RENDEZVOUS (sender → rendezvous point): the CHAT_COOKIE_LEN-byte cookie. */
export function encodeEstablishRendezvous(cookie: Uint8Array): Uint8Array {
  checkArg('cookie', cookie, CHAT_COOKIE_LEN);
  return cookie.slice();
}

export function decodeEstablishRendezvous(body: Uint8Array): Uint8Array {
  const r = ByteReader.of(body, CHAT_COOKIE_LEN, 'ESTABLISH_RENDEZVOUS');
  const cookie = r.bytes(CHAT_COOKIE_LEN, 'cookie', true);
  r.end();
  return cookie;
}

/** RENDEZVOUS1 (receiver → rendezvous point): cookie ‖ reply, reply = Y ‖ auth (CHAT_E2E_REPLY_LEN). */
export function encodeRendezvous1(cookie: Uint8Array, reply: Uint8Array): Uint8Array {
  checkArg('cookie', cookie, CHAT_COOKIE_LEN);
  checkArg('end-to-end reply', reply, CHAT_E2E_REPLY_LEN);
  return concatBytes(cookie, reply);
}

export function decodeRendezvous1(body: Uint8Array): { cookie: Uint8Array; reply: Uint8Array } {
  const r = ByteReader.of(body, CHAT_RENDEZVOUS1_LEN, 'RENDEZVOUS1');
  const cookie = r.bytes(CHAT_COOKIE_LEN, 'cookie', true);
  const reply = r.bytes(CHAT_E2E_REPLY_LEN, 'reply', true);
  r.end();
  return { cookie, reply };
}

/** RENDEZVOUS2 (rendezvous point → sender): the receiver's reply Y ‖ auth, as it came in RENDEZVOUS1. */
export function encodeRendezvous2(reply: Uint8Array): Uint8Array {
  checkArg('end-to-end reply', reply, CHAT_E2E_REPLY_LEN);
  return reply.slice();
}

export function decodeRendezvous2(body: Uint8Array): Uint8Array {
  const r = ByteReader.of(body, CHAT_E2E_REPLY_LEN, 'RENDEZVOUS2');
  const reply = r.bytes(CHAT_E2E_REPLY_LEN, 'reply', true);
  r.end();
  return reply;
}

// ---------------------------------------------------------------------------------------
// HSDir
// ---------------------------------------------------------------------------------------

/** HSDIR_STORE (receiver → HSDir): the descriptor, 1..CHAT_DESCRIPTOR_MAX_LEN bytes. */
export function encodeHsdirStore(descriptor: Uint8Array): Uint8Array {
  checkDescriptorArg(descriptor);
  return descriptor.slice();
}

/** The descriptor an HSDIR_STORE carries, length-checked only (its checks are the descriptor module's). */
export function decodeHsdirStore(body: Uint8Array): Uint8Array {
  const r = ByteReader.of(body, CHAT_DESCRIPTOR_MAX_LEN, 'HSDIR_STORE');
  const descriptor = r.rest().slice();
  if (descriptor.length === 0) throw new ChiveError('TRUNCATED', 'HSDIR_STORE: no descriptor');
  return descriptor;
}

/** HSDIR_STORED (HSDir → receiver): status u8, an HsdirStoreStatus. */
export function encodeHsdirStored(status: number): Uint8Array {
  return encodeStatus(status, HsdirStoreStatus, 'HSDIR_STORED');
}

export function decodeHsdirStored(body: Uint8Array): number {
  return decodeStatus(body, HsdirStoreStatus, 'HSDIR_STORED');
}

/** HSDIR_FETCH (sender → HSDir): blindedPub 32 ‖ period u32. */
export function encodeHsdirFetch(blindedKey: Uint8Array, period: number): Uint8Array {
  checkArg('blinded key', blindedKey, ED25519_KEY_LEN);
  return new ByteWriter(CHAT_HSDIR_FETCH_LEN, CHAT_HSDIR_FETCH_LEN, 'HSDIR_FETCH').bytes(blindedKey).u32(period).finish();
}

export function decodeHsdirFetch(body: Uint8Array): { blindedKey: Uint8Array; period: number } {
  const r = ByteReader.of(body, CHAT_HSDIR_FETCH_LEN, 'HSDIR_FETCH');
  const blindedKey = r.bytes(ED25519_KEY_LEN, 'blindedKey', true);
  const period = r.u32('period');
  r.end();
  return { blindedKey, period };
}

/**
 * HSDIR_FOUND (HSDir → sender): status u8 (HsdirFetchStatus) ‖ the descriptor, present
 * (1..CHAT_DESCRIPTOR_MAX_LEN bytes) exactly when the status is FOUND.
 */
export function encodeHsdirFound(status: number, descriptor?: Uint8Array): Uint8Array {
  const head = encodeStatus(status, HsdirFetchStatus, 'HSDIR_FOUND');
  if (status === HsdirFetchStatus.FOUND) {
    if (descriptor === undefined) throw new ChiveError('INVALID_ARGUMENT', 'HSDIR_FOUND: FOUND needs a descriptor');
    checkDescriptorArg(descriptor);
    return concatBytes(head, descriptor);
  }
  if (descriptor !== undefined) throw new ChiveError('INVALID_ARGUMENT', 'HSDIR_FOUND: only FOUND carries a descriptor');
  return head;
}

export function decodeHsdirFound(body: Uint8Array): { status: number; descriptor?: Uint8Array } {
  const r = ByteReader.of(body, STATUS_LEN + CHAT_DESCRIPTOR_MAX_LEN, 'HSDIR_FOUND');
  const status = knownStatus(r.u8('status'), HsdirFetchStatus, 'HSDIR_FOUND');
  if (status !== HsdirFetchStatus.FOUND) {
    r.end();
    return { status };
  }
  const descriptor = r.rest().slice();
  if (descriptor.length === 0) throw new ChiveError('TRUNCATED', 'HSDIR_FOUND: FOUND without a descriptor');
  return { status, descriptor };
}

// ---------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------

type StatusTable = Readonly<Record<string, number>>;

function encodeStatus(status: number, table: StatusTable, what: string): Uint8Array {
  if (!Object.values(table).includes(status)) {
    throw new ChiveError('INVALID_ARGUMENT', `${what}: ${status} is not a known status`);
  }
  return Uint8Array.of(status);
}

function decodeStatus(body: Uint8Array, table: StatusTable, what: string): number {
  const r = ByteReader.of(body, STATUS_LEN, what);
  const status = knownStatus(r.u8('status'), table, what);
  r.end();
  return status;
}

function knownStatus(status: number, table: StatusTable, what: string): number {
  if (!Object.values(table).includes(status)) {
    throw new ChiveError('BAD_VALUE', `${what}: unknown status ${status}`);
  }
  return status;
}

function checkDescriptorArg(descriptor: Uint8Array): void {
  if (!(descriptor instanceof Uint8Array) || descriptor.length < 1 || descriptor.length > CHAT_DESCRIPTOR_MAX_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `a chat descriptor must be 1..${CHAT_DESCRIPTOR_MAX_LEN} bytes`);
  }
}

function checkArg(what: string, b: Uint8Array, length: number): void {
  if (!(b instanceof Uint8Array) || b.length !== length) {
    throw new ChiveError('INVALID_ARGUMENT', `${what} must be ${length} bytes`);
  }
}
