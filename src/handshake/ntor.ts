/**
 * The ntor circuit handshake over X25519, exactly as tor-spec §5.1.4 defines it, and its
 * key expansion (tor-spec §5.2.2, KDF-RFC5869) into a hop's key material.
 *
 *   client → relay (CREATE2 / EXTEND2, HandshakeType.NTOR):  NODEID ‖ KEYID(B) ‖ X
 *   relay → client (CREATED2 / EXTENDED2):                   Y ‖ AUTH
 *
 * Pure functions with no I/O: the RNG, the crypto provider, the relay's onion keys (through
 * a lookup) and the replay cache with its clock are all passed in. The node id length is a
 * parameter of the core (`*With` functions taking an `NtorProfile`) so that Tor's published
 * vectors (20-byte RSA identity digest) run through the very code chive uses with its
 * 32-byte Ed25519 identity (`CHIVE_NTOR_PROFILE`).
 *
 * Deliberately not here: cell framing (CREATE2 / CREATED2 codecs), splitting the key
 * material into kf / ko / kr (onion/hop-keys.ts), onion key storage and rotation (the
 * relay), ntor-v3, and any retry or timeout policy.
 */
import { concatBytes, utf8 } from '../bytes.js';
import { ChiveError, isChiveError } from '../errors.js';
import type { CryptoProvider, Rng } from '../crypto/provider.js';
import {
  HOP_KEY_MATERIAL_LEN, NTOR_AUTH_LEN, NTOR_NODE_ID_LEN, NTOR_PROTOID, X25519_KEY_LEN,
} from '../wire/constants.js';
import type { ReplayCache } from './replay-cache.js';

const PROTOID = utf8(NTOR_PROTOID);
const T_MAC = utf8(`${NTOR_PROTOID}:mac`);
const T_KEY = utf8(`${NTOR_PROTOID}:key_extract`);
const T_VERIFY = utf8(`${NTOR_PROTOID}:verify`);
const M_EXPAND = utf8(`${NTOR_PROTOID}:key_expand`);
const SERVER = utf8('Server');

/** Largest HKDF-SHA256 output (RFC 5869: 255 blocks). */
const MAX_KEY_MATERIAL_LEN = 255 * 32;

/** The parameters that differ between Tor's ntor and chive's. */
export interface NtorProfile {
  /** Bytes of NODEID: 32 in chive (Ed25519 identity), 20 in Tor (RSA identity digest). */
  readonly nodeIdLength: number;
  /** Bytes of key material expanded from KEY_SEED. */
  readonly keyMaterialLength: number;
}

/** chive's ntor: 32-byte Ed25519 node id, HOP_KEY_MATERIAL_LEN (96) bytes of key material. */
export const CHIVE_NTOR_PROFILE: NtorProfile = Object.freeze({
  nodeIdLength: NTOR_NODE_ID_LEN,
  keyMaterialLength: HOP_KEY_MATERIAL_LEN,
});

/** What a client knows of a relay from the consensus. */
export interface NtorRelayKeys {
  /** The relay's node id (in chive its Ed25519 identity key). */
  readonly nodeId: Uint8Array;
  /** The relay's X25519 onion key B. */
  readonly onionKey: Uint8Array;
}

/** One of the relay's onion key pairs (b, B). */
export interface NtorOnionKeyPair {
  readonly secret: Uint8Array;
  readonly public: Uint8Array;
}

/** Finds the relay's onion key pair whose public key is `keyId`, or undefined. */
export type NtorOnionKeyLookup = (keyId: Uint8Array) => NtorOnionKeyPair | undefined;

/** The replay cache to consult and the caller's current time in milliseconds. */
export interface NtorReplayCheck {
  readonly cache: ReplayCache;
  readonly now: number;
}

export interface NtorClientStart {
  /** Single-use state for ntorClientFinish; its secret is zeroed when finish returns. */
  readonly state: NtorClientState;
  /** NODEID ‖ KEYID(B) ‖ X, the CREATE2 / EXTEND2 handshake data. */
  readonly onionskin: Uint8Array;
}

export interface NtorServerResult {
  /** Y ‖ AUTH, the CREATED2 / EXTENDED2 handshake data. */
  readonly reply: Uint8Array;
  /** `profile.keyMaterialLength` bytes of key material for this hop. */
  readonly keyMaterial: Uint8Array;
}

/** The client's pending handshake. Opaque: only ntorClientFinish reads it. */
export interface NtorClientState {
  /** True once ntorClientFinish has run (successfully or not); the secret is then zero. */
  readonly finished: boolean;
}

class ClientState implements NtorClientState {
  finished = false;
  constructor(
    readonly profile: NtorProfile,
    readonly nodeId: Uint8Array,
    readonly onionKey: Uint8Array,
    readonly secret: Uint8Array,
    readonly publicKey: Uint8Array,
  ) {}
}

// ---------------------------------------------------------------------------------------
// chive's API (32-byte node ids, 96 bytes of key material)
// ---------------------------------------------------------------------------------------

/** Starts a handshake with `relay`: a fresh x from `rng`, and the onionskin to send. */
export function ntorClientCreate(provider: CryptoProvider, rng: Rng, relay: NtorRelayKeys): NtorClientStart {
  return ntorClientCreateWith(CHIVE_NTOR_PROFILE, provider, rng, relay);
}

/**
 * Answers a client's onionskin as the relay `ourNodeId`.
 * Throws HANDSHAKE_FAILED (wrong length or node id), UNKNOWN_KEY (KEYID is none of our
 * onion keys), LOW_ORDER_POINT (X is a low-order point), HANDSHAKE_REPLAY (X seen before).
 */
export function ntorServerRespond(
  provider: CryptoProvider, rng: Rng, onionskin: Uint8Array,
  lookupOnionKey: NtorOnionKeyLookup, ourNodeId: Uint8Array, replay?: NtorReplayCheck,
): NtorServerResult {
  return ntorServerRespondWith(CHIVE_NTOR_PROFILE, provider, rng, onionskin, lookupOnionKey, ourNodeId, replay);
}

/**
 * Completes the client's handshake with the relay's reply, returning the key material of
 * the state's profile. Throws HANDSHAKE_FAILED on a malformed reply or a bad AUTH,
 * LOW_ORDER_POINT on a low-order Y, HANDSHAKE_STATE when the state was already used.
 */
export function ntorClientFinish(provider: CryptoProvider, state: NtorClientState, reply: Uint8Array): Uint8Array {
  if (!(state instanceof ClientState)) {
    throw new ChiveError('INVALID_ARGUMENT', 'ntor: not a state returned by ntorClientCreate');
  }
  if (state.finished) throw new ChiveError('HANDSHAKE_STATE', 'ntor: this handshake state was already used');
  state.finished = true;
  const wipe: Uint8Array[] = [state.secret];
  try {
    if (!(reply instanceof Uint8Array) || reply.length !== X25519_KEY_LEN + NTOR_AUTH_LEN) {
      throw new ChiveError('HANDSHAKE_FAILED', `ntor: reply must be ${X25519_KEY_LEN + NTOR_AUTH_LEN} bytes`);
    }
    const serverKey = reply.subarray(0, X25519_KEY_LEN);
    const auth = reply.subarray(X25519_KEY_LEN);
    const xy = remember(wipe, dh(provider, state.secret, serverKey, 'the relay key Y'));
    const xb = remember(wipe, dh(provider, state.secret, state.onionKey, 'the onion key B'));
    const derived = derive(provider, xy, xb, state.nodeId, state.onionKey, state.publicKey, serverKey);
    remember(wipe, derived.keySeed);
    if (!provider.equal(derived.auth, auth)) {
      throw new ChiveError('HANDSHAKE_FAILED', 'ntor: the relay\'s AUTH does not verify');
    }
    return expand(provider, derived.keySeed, state.profile.keyMaterialLength);
  } finally {
    for (const b of wipe) b.fill(0);
  }
}

/**
 * A lookup over the relay's onion keys (current and previous): compares KEYID against
 * every key in constant time, without stopping at the first match.
 */
export function ntorOnionKeyLookup(provider: CryptoProvider, keys: readonly NtorOnionKeyPair[]): NtorOnionKeyLookup {
  return (keyId) => {
    let found: NtorOnionKeyPair | undefined;
    for (const key of keys) {
      if (provider.equal(key.public, keyId) && found === undefined) found = key;
    }
    return found;
  };
}

// ---------------------------------------------------------------------------------------
// The core, parameterised by profile (Tor's vectors use a 20-byte node id)
// ---------------------------------------------------------------------------------------

export function ntorClientCreateWith(
  profile: NtorProfile, provider: CryptoProvider, rng: Rng, relay: NtorRelayKeys,
): NtorClientStart {
  checkProfile(profile);
  checkBytes('relay node id', relay.nodeId, profile.nodeIdLength);
  checkBytes('relay onion key', relay.onionKey, X25519_KEY_LEN);
  const secret = freshSecret(rng);
  const publicKey = provider.x25519PublicKey(secret);
  const state = new ClientState(profile, relay.nodeId.slice(), relay.onionKey.slice(), secret, publicKey);
  return { state, onionskin: concatBytes(relay.nodeId, relay.onionKey, publicKey) };
}

export function ntorServerRespondWith(
  profile: NtorProfile, provider: CryptoProvider, rng: Rng, onionskin: Uint8Array,
  lookupOnionKey: NtorOnionKeyLookup, ourNodeId: Uint8Array, replay?: NtorReplayCheck,
): NtorServerResult {
  checkProfile(profile);
  checkBytes('our node id', ourNodeId, profile.nodeIdLength);
  const expectedLength = profile.nodeIdLength + 2 * X25519_KEY_LEN;
  if (!(onionskin instanceof Uint8Array) || onionskin.length !== expectedLength) {
    throw new ChiveError('HANDSHAKE_FAILED', `ntor: onionskin must be ${expectedLength} bytes`);
  }
  const nodeId = onionskin.subarray(0, profile.nodeIdLength);
  const keyId = onionskin.subarray(profile.nodeIdLength, profile.nodeIdLength + X25519_KEY_LEN);
  const clientKey = onionskin.slice(profile.nodeIdLength + X25519_KEY_LEN);

  if (!provider.equal(nodeId, ourNodeId)) {
    throw new ChiveError('HANDSHAKE_FAILED', 'ntor: onionskin is for another relay (node id mismatch)');
  }
  const onionKey = lookupOnionKey(keyId);
  if (onionKey === undefined) throw new ChiveError('UNKNOWN_KEY', 'ntor: KEYID is not one of our onion keys');
  checkBytes('onion key secret', onionKey.secret, X25519_KEY_LEN);
  checkBytes('onion key public', onionKey.public, X25519_KEY_LEN);
  if (!provider.equal(onionKey.public, keyId)) {
    throw new ChiveError('INVALID_ARGUMENT', 'ntor: the onion key lookup returned a key other than KEYID');
  }

  const secret = freshSecret(rng);
  const wipe: Uint8Array[] = [secret];
  try {
    const serverKey = provider.x25519PublicKey(secret);
    const xy = remember(wipe, dh(provider, secret, clientKey, 'the client key X'));
    const xb = remember(wipe, dh(provider, onionKey.secret, clientKey, 'the client key X'));
    // Only a handshake we would answer is remembered, so refused garbage never evicts.
    if (replay !== undefined && !replay.cache.checkAndRemember(onionKey.public, clientKey, replay.now)) {
      throw new ChiveError('HANDSHAKE_REPLAY', 'ntor: this client key X was already used with this onion key');
    }
    const derived = derive(provider, xy, xb, ourNodeId, onionKey.public, clientKey, serverKey);
    remember(wipe, derived.keySeed);
    return {
      reply: concatBytes(serverKey, derived.auth),
      keyMaterial: expand(provider, derived.keySeed, profile.keyMaterialLength),
    };
  } finally {
    for (const b of wipe) b.fill(0);
  }
}

/**
 * Tor's ntor KDF from a raw secret_input: KEY_SEED = H(secret_input, t_key), then
 * HKDF-Expand(KEY_SEED, m_expand, length) — i.e. HKDF-SHA256 with salt t_key and info
 * m_expand. Exposed for Tor's KDF vectors; the handshake functions use the same code.
 */
export function ntorKeyMaterial(provider: CryptoProvider, secretInput: Uint8Array, length: number): Uint8Array {
  const keySeed = provider.hmacSha256(T_KEY, secretInput);
  try {
    return expand(provider, keySeed, length);
  } finally {
    keySeed.fill(0);
  }
}

// ---------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------

/**
 * secret_input = EXP(·,·) ‖ EXP(·,·) ‖ ID ‖ B ‖ X ‖ Y ‖ PROTOID
 * KEY_SEED = H(secret_input, t_key); verify = H(secret_input, t_verify)
 * auth_input = verify ‖ ID ‖ B ‖ Y ‖ X ‖ PROTOID ‖ "Server"; AUTH = H(auth_input, t_mac)
 */
function derive(
  provider: CryptoProvider, xy: Uint8Array, xb: Uint8Array, nodeId: Uint8Array,
  onionKey: Uint8Array, clientKey: Uint8Array, serverKey: Uint8Array,
): { keySeed: Uint8Array; auth: Uint8Array } {
  const secretInput = concatBytes(xy, xb, nodeId, onionKey, clientKey, serverKey, PROTOID);
  const keySeed = provider.hmacSha256(T_KEY, secretInput);
  const verify = provider.hmacSha256(T_VERIFY, secretInput);
  secretInput.fill(0);
  const authInput = concatBytes(verify, nodeId, onionKey, serverKey, clientKey, PROTOID, SERVER);
  verify.fill(0);
  const auth = provider.hmacSha256(T_MAC, authInput);
  authInput.fill(0);
  return { keySeed, auth };
}

function expand(provider: CryptoProvider, keySeed: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > MAX_KEY_MATERIAL_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `ntor: key material length must be 1..${MAX_KEY_MATERIAL_LEN}, got ${length}`);
  }
  return provider.hkdfExpandSha256(keySeed, M_EXPAND, length);
}

/** X25519 whose all-zero (low-order) result surfaces as LOW_ORDER_POINT naming the key. */
function dh(provider: CryptoProvider, secret: Uint8Array, publicKey: Uint8Array, what: string): Uint8Array {
  try {
    return provider.x25519(secret, publicKey);
  } catch (e) {
    if (isChiveError(e, 'LOW_ORDER_POINT')) {
      throw new ChiveError('LOW_ORDER_POINT', `ntor: ${what} is a low-order point`, { cause: e });
    }
    throw e;
  }
}

/** Adds `b` to the buffers zeroed when the handshake step ends, and returns it. */
function remember(wipe: Uint8Array[], b: Uint8Array): Uint8Array {
  wipe.push(b);
  return b;
}

function freshSecret(rng: Rng): Uint8Array {
  const secret = rng(X25519_KEY_LEN);
  if (!(secret instanceof Uint8Array) || secret.length !== X25519_KEY_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `ntor: the RNG must return ${X25519_KEY_LEN} bytes`);
  }
  return secret;
}

function checkProfile(profile: NtorProfile): void {
  const { nodeIdLength, keyMaterialLength } = profile;
  if (!Number.isInteger(nodeIdLength) || nodeIdLength < 1 || nodeIdLength > 64) {
    throw new ChiveError('INVALID_ARGUMENT', `ntor: node id length must be 1..64, got ${nodeIdLength}`);
  }
  if (!Number.isInteger(keyMaterialLength) || keyMaterialLength < 1 || keyMaterialLength > MAX_KEY_MATERIAL_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `ntor: key material length must be 1..${MAX_KEY_MATERIAL_LEN}`);
  }
}

function checkBytes(what: string, b: Uint8Array, length: number): void {
  if (!(b instanceof Uint8Array) || b.length !== length) {
    throw new ChiveError('INVALID_ARGUMENT', `ntor: ${what} must be ${length} bytes`);
  }
}
