/**
 * The encrypted introduction: what a sender puts in INTRODUCE1 (relayed unchanged by the
 * intro point as INTRODUCE2) so that only the receiver reads it, and the receiver's checks.
 *
 *   body      = authKey 32 ‖ E 32 ‖ ciphertext (CHAT_INTRODUCE_PLAINTEXT_LEN) ‖ tag 16
 *   key       = HKDF-SHA256(ikm = X25519(e, introEncKey) ‖ E ‖ introEncKey ‖ authKey,
 *                           salt = "", info = CHAT_INTRODUCE_KEY_INFO, 32)
 *   AEAD      = ChaCha20-Poly1305, nonce = 12 zero bytes (a fresh E per message), aad = authKey ‖ E
 *   plaintext = cookie 20 ‖ rendezvousIdentity 32 ‖ X 32 ‖ senderIdentityPub 32 ‖ timestamp u64 ‖ sig 64
 *   sig       = Ed25519 by the sender identity over CHAT_INTRODUCE_SENDER_SIG_DOMAIN ‖
 *               receiverIdentityPub ‖ authKey ‖ cookie ‖ rendezvousIdentity ‖ X ‖ timestamp u64
 *
 * The receiver refuses (BAD_INTRODUCTION) a body of the wrong length, another intro point's
 * auth key, a bad tag, a bad sender signature (which binds the receiver's identity, so an
 * introduction cannot be redirected) or a timestamp more than CHAT_INTRODUCE_MAX_SKEW_MS
 * from its clock, and refuses (INTRO_REPLAY) one it has already accepted.
 *
 * Not here: the routing part the intro point reads (intro-messages.ts), the end-to-end
 * handshake that X starts (e2e-handshake.ts), contact policy (accepting unknown senders),
 * or any clock: `timestamp` and `nowMs` come from the caller.
 */
import { ByteReader, ByteWriter, concatBytes, utf8 } from '../bytes.js';
import { ChiveError, isChiveError } from '../errors.js';
import type { CryptoProvider, Rng } from '../crypto/provider.js';
import { ReplayCache } from '../handshake/replay-cache.js';
import {
  CHAT_COOKIE_LEN, CHAT_INTRODUCE_KEY_INFO, CHAT_INTRODUCE_LEN, CHAT_INTRODUCE_MAX_SKEW_MS,
  CHAT_INTRODUCE_PLAINTEXT_LEN, CHAT_INTRODUCE_SENDER_SIG_DOMAIN, ED25519_KEY_LEN, ED25519_SIG_LEN, X25519_KEY_LEN,
} from '../wire/constants.js';

const KEY_INFO = utf8(CHAT_INTRODUCE_KEY_INFO);
const SENDER_DOMAIN = utf8(CHAT_INTRODUCE_SENDER_SIG_DOMAIN);
const EMPTY_SALT = new Uint8Array(0);
const ZERO_NONCE = new Uint8Array(12);
const AEAD_KEY_LEN = 32;
const TIMESTAMP_LEN = 8;
const HEADER_LEN = ED25519_KEY_LEN + X25519_KEY_LEN; // authKey ‖ E

/** What the receiver learns from an introduction it accepted. Every field is a copy. */
export interface IntroductionPlain {
  /** The rendezvous cookie to send in RENDEZVOUS1. */
  readonly cookie: Uint8Array;
  /** Ed25519 identity of the rendezvous relay to build a circuit to. */
  readonly rendezvousIdentity: Uint8Array;
  /** X: the sender's end-to-end handshake key (e2eReceiverRespond's clientPublic). */
  readonly clientPublic: Uint8Array;
  /** The sender's chat identity (Ed25519 public key), proven by its signature. */
  readonly senderIdentityPub: Uint8Array;
  /** When the sender made the introduction (its clock, ms). */
  readonly timestamp: number;
}

export interface SealIntroductionInput {
  /** The receiver's X25519 introduction key, from its descriptor. */
  readonly introEncKey: Uint8Array;
  /** The auth key (Ed25519 public) of the intro point used, from the descriptor. */
  readonly authKey: Uint8Array;
  readonly receiverIdentityPub: Uint8Array;
  /** The sender's chat identity seed (Ed25519). */
  readonly senderIdentitySeed: Uint8Array;
  readonly cookie: Uint8Array;
  readonly rendezvousIdentity: Uint8Array;
  /** X from e2eSenderStart. */
  readonly clientPublic: Uint8Array;
  /** The sender's clock, ms. */
  readonly timestamp: number;
}

export interface OpenIntroductionInput {
  /** The receiver's X25519 introduction secret (the descriptor carries its public key). */
  readonly introEncSecret: Uint8Array;
  /** The auth key of the intro point this INTRODUCE2 came through. */
  readonly authKey: Uint8Array;
  readonly receiverIdentityPub: Uint8Array;
  /** The receiver's clock, ms. */
  readonly nowMs: number;
  readonly replay: IntroReplayCache;
}

/**
 * Seals an introduction: returns the whole INTRODUCE1 body (CHAT_INTRODUCE_LEN bytes). The
 * ephemeral e comes from `rng` and is zeroed before returning. LOW_ORDER_POINT if
 * introEncKey is a low-order point; INVALID_ARGUMENT for a field of the wrong size.
 */
export function sealIntroduction(provider: CryptoProvider, rng: Rng, input: SealIntroductionInput): Uint8Array {
  const { introEncKey, authKey, receiverIdentityPub, senderIdentitySeed, cookie, rendezvousIdentity, clientPublic, timestamp } = input;
  checkArg('introEncKey', introEncKey, X25519_KEY_LEN);
  checkArg('authKey', authKey, ED25519_KEY_LEN);
  checkArg('receiverIdentityPub', receiverIdentityPub, ED25519_KEY_LEN);
  checkArg('senderIdentitySeed', senderIdentitySeed, ED25519_KEY_LEN);
  checkArg('cookie', cookie, CHAT_COOKIE_LEN);
  checkArg('rendezvousIdentity', rendezvousIdentity, ED25519_KEY_LEN);
  checkArg('clientPublic', clientPublic, X25519_KEY_LEN);
  const stamp = timestampBytes(timestamp);

  const senderIdentityPub = provider.ed25519PublicKey(senderIdentitySeed);
  const signature = provider.ed25519Sign(
    senderIdentitySeed, senderSigned(receiverIdentityPub, authKey, cookie, rendezvousIdentity, clientPublic, stamp),
  );
  const plaintext = concatBytes(cookie, rendezvousIdentity, clientPublic, senderIdentityPub, stamp, signature);

  const ephemeral = rng(X25519_KEY_LEN);
  if (!(ephemeral instanceof Uint8Array) || ephemeral.length !== X25519_KEY_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `introduction: the RNG must return ${X25519_KEY_LEN} bytes`);
  }
  const wipe: Uint8Array[] = [ephemeral, plaintext];
  try {
    const ephemeralPublic = provider.x25519PublicKey(ephemeral);
    const shared = remember(wipe, provider.x25519(ephemeral, introEncKey));
    const key = remember(wipe, introductionKey(provider, shared, ephemeralPublic, introEncKey, authKey));
    const out = new Uint8Array(CHAT_INTRODUCE_LEN);
    out.set(authKey, 0);
    out.set(ephemeralPublic, ED25519_KEY_LEN);
    const ciphertext = out.subarray(HEADER_LEN, HEADER_LEN + CHAT_INTRODUCE_PLAINTEXT_LEN);
    const tag = out.subarray(HEADER_LEN + CHAT_INTRODUCE_PLAINTEXT_LEN);
    provider.aeadSealDetached(key, ZERO_NONCE, out.subarray(0, HEADER_LEN), plaintext, ciphertext, tag);
    return out;
  } finally {
    for (const b of wipe) b.fill(0);
  }
}

/**
 * Opens and checks an INTRODUCE2 body as the receiver. Throws BAD_INTRODUCTION for any
 * malformed, forged, misdirected or skewed introduction, INTRO_REPLAY for one already
 * accepted (only introductions that pass every other check are remembered, so garbage
 * never evicts a genuine entry), INVALID_ARGUMENT for a bad local argument.
 */
export function openIntroduction(provider: CryptoProvider, body: Uint8Array, input: OpenIntroductionInput): IntroductionPlain {
  const { introEncSecret, authKey, receiverIdentityPub, nowMs, replay } = input;
  checkArg('introEncSecret', introEncSecret, X25519_KEY_LEN);
  checkArg('authKey', authKey, ED25519_KEY_LEN);
  checkArg('receiverIdentityPub', receiverIdentityPub, ED25519_KEY_LEN);
  if (!Number.isFinite(nowMs)) throw new ChiveError('INVALID_ARGUMENT', `introduction: nowMs must be finite, got ${nowMs}`);
  if (!(replay instanceof IntroReplayCache)) throw new ChiveError('INVALID_ARGUMENT', 'introduction: replay must be an IntroReplayCache');

  if (!(body instanceof Uint8Array) || body.length !== CHAT_INTRODUCE_LEN) {
    throw bad(`the body must be ${CHAT_INTRODUCE_LEN} bytes, got ${body instanceof Uint8Array ? body.length : typeof body}`);
  }
  const header = body.subarray(0, HEADER_LEN);
  const bodyAuthKey = body.subarray(0, ED25519_KEY_LEN);
  const ephemeralPublic = body.slice(ED25519_KEY_LEN, HEADER_LEN);
  const ciphertext = body.subarray(HEADER_LEN, HEADER_LEN + CHAT_INTRODUCE_PLAINTEXT_LEN);
  const tag = body.subarray(HEADER_LEN + CHAT_INTRODUCE_PLAINTEXT_LEN);
  if (!provider.equal(bodyAuthKey, authKey)) throw bad('it names another intro point\'s auth key');

  const plaintext = new Uint8Array(CHAT_INTRODUCE_PLAINTEXT_LEN);
  const wipe: Uint8Array[] = [plaintext];
  try {
    const introEncKey = provider.x25519PublicKey(introEncSecret);
    let shared: Uint8Array;
    try {
      shared = remember(wipe, provider.x25519(introEncSecret, ephemeralPublic));
    } catch (e) {
      if (isChiveError(e, 'LOW_ORDER_POINT')) throw bad('its ephemeral key E is a low-order point', e);
      throw e;
    }
    const key = remember(wipe, introductionKey(provider, shared, ephemeralPublic, introEncKey, authKey));
    if (!provider.aeadOpenDetached(key, ZERO_NONCE, header, ciphertext, tag, plaintext)) {
      throw bad('its AEAD tag does not verify (not sealed to this receiver\'s introduction key)');
    }

    let at = 0;
    const take = (n: number) => plaintext.slice(at, (at += n));
    const cookie = take(CHAT_COOKIE_LEN);
    const rendezvousIdentity = take(ED25519_KEY_LEN);
    const clientPublic = take(X25519_KEY_LEN);
    const senderIdentityPub = take(ED25519_KEY_LEN);
    const stamp = take(TIMESTAMP_LEN);
    const signature = take(ED25519_SIG_LEN);
    const timestamp = readTimestamp(stamp);

    const signed = senderSigned(receiverIdentityPub, authKey, cookie, rendezvousIdentity, clientPublic, stamp);
    if (!provider.ed25519Verify(senderIdentityPub, signed, signature)) {
      throw bad('the sender\'s signature does not verify (forged, or made for another receiver)');
    }
    if (timestamp === undefined || Math.abs(nowMs - timestamp) > CHAT_INTRODUCE_MAX_SKEW_MS) {
      throw bad(`its timestamp is more than ${CHAT_INTRODUCE_MAX_SKEW_MS} ms from our clock`);
    }
    if (!replay.checkAndRemember(authKey, ephemeralPublic, nowMs)) {
      throw new ChiveError('INTRO_REPLAY', 'introduction: already accepted (its ephemeral key E was seen at this intro point)');
    }
    return { cookie, rendezvousIdentity, clientPublic, senderIdentityPub, timestamp };
  } finally {
    for (const b of wipe) b.fill(0);
  }
}

/** Default bound on remembered introductions. */
export const DEFAULT_INTRO_REPLAY_MAX_ENTRIES = 16_384;

/**
 * The receiver's memory of accepted introductions, keyed by (authKey, E), bounded to
 * `maxEntries` (oldest evicted first). An entry lives 2 × CHAT_INTRODUCE_MAX_SKEW_MS: as long
 * as its timestamp could still pass the skew check, after which the clock refuses a replay.
 * A flood of valid introductions that evicts an entry lets that one be replayed while its
 * timestamp is fresh (the bound is the point; the rendezvous cookie, refused by the RP once
 * used, is the second line).
 */
export class IntroReplayCache {
  private readonly cache: ReplayCache;

  constructor(options: { readonly maxEntries?: number } = {}) {
    this.cache = new ReplayCache({
      maxEntries: options.maxEntries ?? DEFAULT_INTRO_REPLAY_MAX_ENTRIES,
      ttlMs: 2 * CHAT_INTRODUCE_MAX_SKEW_MS,
    });
  }

  get maxEntries(): number {
    return this.cache.maxEntries;
  }

  get size(): number {
    return this.cache.size;
  }

  /** True (and remembered) when (authKey, E) is new; false for a replay. */
  checkAndRemember(authKey: Uint8Array, ephemeralPublic: Uint8Array, nowMs: number): boolean {
    return this.cache.checkAndRemember(authKey, ephemeralPublic, nowMs);
  }

  clear(): void {
    this.cache.clear();
  }
}

// ---------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------

function introductionKey(
  provider: CryptoProvider, shared: Uint8Array, ephemeralPublic: Uint8Array, introEncKey: Uint8Array, authKey: Uint8Array,
): Uint8Array {
  const ikm = concatBytes(shared, ephemeralPublic, introEncKey, authKey);
  try {
    return provider.hkdfSha256(ikm, EMPTY_SALT, KEY_INFO, AEAD_KEY_LEN);
  } finally {
    ikm.fill(0);
  }
}

function senderSigned(
  receiverIdentityPub: Uint8Array, authKey: Uint8Array, cookie: Uint8Array,
  rendezvousIdentity: Uint8Array, clientPublic: Uint8Array, stamp: Uint8Array,
): Uint8Array {
  return concatBytes(SENDER_DOMAIN, receiverIdentityPub, authKey, cookie, rendezvousIdentity, clientPublic, stamp);
}

function timestampBytes(timestamp: number): Uint8Array {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new ChiveError('INVALID_ARGUMENT', `introduction: timestamp must be a non-negative integer of ms, got ${timestamp}`);
  }
  return new ByteWriter(TIMESTAMP_LEN, TIMESTAMP_LEN).u64(timestamp).finish();
}

/** The u64 timestamp, or undefined above 2^53 − 1 (then refused as skewed). */
function readTimestamp(stamp: Uint8Array): number | undefined {
  try {
    return ByteReader.of(stamp, TIMESTAMP_LEN, 'timestamp').u64('timestamp');
  } catch (e) {
    if (isChiveError(e, 'BAD_VALUE')) return undefined;
    throw e;
  }
}

function bad(why: string, cause?: unknown): ChiveError {
  return new ChiveError('BAD_INTRODUCTION', `introduction: ${why}`, cause === undefined ? undefined : { cause });
}

function remember(wipe: Uint8Array[], b: Uint8Array): Uint8Array {
  wipe.push(b);
  return b;
}

function checkArg(what: string, b: Uint8Array, length: number): void {
  if (!(b instanceof Uint8Array) || b.length !== length) {
    throw new ChiveError('INVALID_ARGUMENT', `introduction: ${what} must be ${length} bytes`);
  }
}
