/**
 * The end-to-end handshake between a chat sender S and receiver R: ntor-like over X25519,
 * bound to both chat identities, giving each side a virtual last hop on its rendezvous
 * circuit (docs/PROTOCOL.md, chat).
 *
 *   S: ephemeral x, X (sent inside the introduction).   R: static b, B = introEncKey
 *   (authenticated by the signed, address-encrypted descriptor), ephemeral y, Y.
 *   secret_input = X25519(x,Y) ‖ X25519(x,B) ‖ senderId ‖ receiverId ‖ B ‖ X ‖ Y ‖ PROTOID
 *                  (R computes X25519(y,X) ‖ X25519(b,X)); an all-zero DH output is refused
 *   keyseed  = HMAC-SHA256(key = PROTOID ‖ ":key_extract", secret_input)
 *   verify   = HMAC-SHA256(key = PROTOID ‖ ":verify", secret_input)
 *   auth     = HMAC-SHA256(key = PROTOID ‖ ":mac",
 *                          verify ‖ senderId ‖ receiverId ‖ B ‖ Y ‖ X ‖ PROTOID ‖ "Server")
 *   material = HKDF-Expand-SHA256(keyseed, PROTOID ‖ ":key_expand", CHAT_E2E_KEY_MATERIAL_LEN)
 *            = senderToReceiver hop keys (96) ‖ receiverToSender hop keys (96)
 *   reply    = Y ‖ auth (CHAT_E2E_REPLY_LEN), sent in RENDEZVOUS1, delivered as RENDEZVOUS2.
 * PROTOID = CHAT_E2E_PROTOID ("chive-e2e-v1").
 *
 * Each side uses its outgoing HopKeys as the last hop of its ClientLayers and its incoming
 * HopKeys in a RelayLayer (processForward) for the cells the other side sends.
 *
 * Pure: RNG and provider are passed in; ephemeral secrets and intermediate values are
 * zeroed when each step returns. Not here: carrying X (introduce.ts) or the reply
 * (intro-messages.ts), the onion layers themselves, or timeouts.
 */
import { concatBytes, utf8 } from '../bytes.js';
import { ChiveError } from '../errors.js';
import type { CryptoProvider, Rng } from '../crypto/provider.js';
import { hopKeysFromMaterial, type HopKeys } from '../onion/hop-keys.js';
import {
  CHAT_E2E_KEY_MATERIAL_LEN, CHAT_E2E_PROTOID, CHAT_E2E_REPLY_LEN,
  ED25519_KEY_LEN, HOP_KEY_MATERIAL_LEN, X25519_KEY_LEN,
} from '../wire/constants.js';

const PROTOID = utf8(CHAT_E2E_PROTOID);
const T_KEY = utf8(`${CHAT_E2E_PROTOID}:key_extract`);
const T_VERIFY = utf8(`${CHAT_E2E_PROTOID}:verify`);
const T_MAC = utf8(`${CHAT_E2E_PROTOID}:mac`);
const M_EXPAND = utf8(`${CHAT_E2E_PROTOID}:key_expand`);
const SERVER = utf8('Server');

/** The two directions' keys of the virtual end-to-end hop. */
export interface E2eKeys {
  /** S's last ClientLayers hop; R's RelayLayer for what S sends. */
  readonly senderToReceiver: HopKeys;
  /** R's last ClientLayers hop; S's RelayLayer for what R sends. */
  readonly receiverToSender: HopKeys;
}

/** The sender's pending handshake. Opaque: only e2eSenderFinish reads it. */
export interface E2eSenderState {
  /** True once e2eSenderFinish has run (successfully or not); the secret is then zero. */
  readonly finished: boolean;
}

class SenderState implements E2eSenderState {
  finished = false;
  constructor(readonly secret: Uint8Array, readonly clientPublic: Uint8Array) {}
}

export interface E2eReceiverInput {
  /** X, from the introduction. */
  readonly clientPublic: Uint8Array;
  /** b and B: the receiver's introduction key pair (B is in its descriptor). */
  readonly introEncSecret: Uint8Array;
  readonly introEncPub: Uint8Array;
  readonly senderIdentityPub: Uint8Array;
  readonly receiverIdentityPub: Uint8Array;
}

export interface E2eSenderInput {
  /** B, from the receiver's descriptor. */
  readonly introEncPub: Uint8Array;
  readonly senderIdentityPub: Uint8Array;
  readonly receiverIdentityPub: Uint8Array;
}

/** S starts: a fresh x from `rng`; X goes into the introduction. */
export function e2eSenderStart(provider: CryptoProvider, rng: Rng): { state: E2eSenderState; clientPublic: Uint8Array } {
  const secret = freshSecret(rng);
  const clientPublic = provider.x25519PublicKey(secret);
  return { state: new SenderState(secret, clientPublic), clientPublic: clientPublic.slice() };
}

/**
 * R answers X: returns the reply Y ‖ auth for RENDEZVOUS1 and both directions' keys.
 * LOW_ORDER_POINT when X is a low-order point; INVALID_ARGUMENT for a bad argument
 * (introEncPub not the public key of introEncSecret included).
 */
export function e2eReceiverRespond(
  provider: CryptoProvider, rng: Rng, input: E2eReceiverInput,
): { reply: Uint8Array; keys: E2eKeys } {
  const { clientPublic, introEncSecret, introEncPub, senderIdentityPub, receiverIdentityPub } = input;
  checkArg('clientPublic', clientPublic, X25519_KEY_LEN);
  checkArg('introEncSecret', introEncSecret, X25519_KEY_LEN);
  checkArg('introEncPub', introEncPub, X25519_KEY_LEN);
  checkArg('senderIdentityPub', senderIdentityPub, ED25519_KEY_LEN);
  checkArg('receiverIdentityPub', receiverIdentityPub, ED25519_KEY_LEN);
  if (!provider.equal(provider.x25519PublicKey(introEncSecret), introEncPub)) {
    throw new ChiveError('INVALID_ARGUMENT', 'e2e: introEncPub is not the public key of introEncSecret');
  }
  const secret = freshSecret(rng);
  const wipe: Uint8Array[] = [secret];
  try {
    const serverPublic = provider.x25519PublicKey(secret);
    const xy = remember(wipe, provider.x25519(secret, clientPublic));
    const xb = remember(wipe, provider.x25519(introEncSecret, clientPublic));
    const derived = derive(provider, xy, xb, senderIdentityPub, receiverIdentityPub, introEncPub, clientPublic, serverPublic);
    remember(wipe, derived.keySeed);
    return { reply: concatBytes(serverPublic, derived.auth), keys: expandKeys(provider, derived.keySeed) };
  } finally {
    for (const b of wipe) b.fill(0);
  }
}

/**
 * S completes with R's reply (RENDEZVOUS2): the keys when auth verifies (compared in
 * constant time). E2E_AUTH_FAILED for a reply of the wrong length or a bad auth,
 * LOW_ORDER_POINT for a low-order Y, HANDSHAKE_STATE when the state was already used. The
 * state is single-use: its secret is zeroed whatever the outcome.
 */
export function e2eSenderFinish(
  provider: CryptoProvider, state: E2eSenderState, reply: Uint8Array, input: E2eSenderInput,
): E2eKeys {
  if (!(state instanceof SenderState)) throw new ChiveError('INVALID_ARGUMENT', 'e2e: not a state returned by e2eSenderStart');
  if (state.finished) throw new ChiveError('HANDSHAKE_STATE', 'e2e: this handshake state was already used');
  const { introEncPub, senderIdentityPub, receiverIdentityPub } = input;
  const wipe: Uint8Array[] = [state.secret];
  try {
    checkArg('introEncPub', introEncPub, X25519_KEY_LEN);
    checkArg('senderIdentityPub', senderIdentityPub, ED25519_KEY_LEN);
    checkArg('receiverIdentityPub', receiverIdentityPub, ED25519_KEY_LEN);
    if (!(reply instanceof Uint8Array) || reply.length !== CHAT_E2E_REPLY_LEN) {
      throw new ChiveError('E2E_AUTH_FAILED', `e2e: the reply must be ${CHAT_E2E_REPLY_LEN} bytes`);
    }
    const serverPublic = reply.subarray(0, X25519_KEY_LEN);
    const auth = reply.subarray(X25519_KEY_LEN);
    const xy = remember(wipe, provider.x25519(state.secret, serverPublic));
    const xb = remember(wipe, provider.x25519(state.secret, introEncPub));
    const derived = derive(provider, xy, xb, senderIdentityPub, receiverIdentityPub, introEncPub, state.clientPublic, serverPublic);
    remember(wipe, derived.keySeed);
    if (!provider.equal(derived.auth, auth)) {
      throw new ChiveError('E2E_AUTH_FAILED', 'e2e: the receiver\'s auth does not verify');
    }
    return expandKeys(provider, derived.keySeed);
  } finally {
    state.finished = true;
    for (const b of wipe) b.fill(0);
  }
}

// ---------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------

function derive(
  provider: CryptoProvider, xy: Uint8Array, xb: Uint8Array, senderId: Uint8Array, receiverId: Uint8Array,
  introEncPub: Uint8Array, clientPublic: Uint8Array, serverPublic: Uint8Array,
): { keySeed: Uint8Array; auth: Uint8Array } {
  const secretInput = concatBytes(xy, xb, senderId, receiverId, introEncPub, clientPublic, serverPublic, PROTOID);
  const keySeed = provider.hmacSha256(T_KEY, secretInput);
  const verify = provider.hmacSha256(T_VERIFY, secretInput);
  secretInput.fill(0);
  const authInput = concatBytes(verify, senderId, receiverId, introEncPub, serverPublic, clientPublic, PROTOID, SERVER);
  verify.fill(0);
  const auth = provider.hmacSha256(T_MAC, authInput);
  authInput.fill(0);
  return { keySeed, auth };
}

function expandKeys(provider: CryptoProvider, keySeed: Uint8Array): E2eKeys {
  const material = provider.hkdfExpandSha256(keySeed, M_EXPAND, CHAT_E2E_KEY_MATERIAL_LEN);
  try {
    return {
      senderToReceiver: hopKeysFromMaterial(material.subarray(0, HOP_KEY_MATERIAL_LEN)),
      receiverToSender: hopKeysFromMaterial(material.subarray(HOP_KEY_MATERIAL_LEN)),
    };
  } finally {
    material.fill(0);
  }
}

function freshSecret(rng: Rng): Uint8Array {
  const secret = rng(X25519_KEY_LEN);
  if (!(secret instanceof Uint8Array) || secret.length !== X25519_KEY_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `e2e: the RNG must return ${X25519_KEY_LEN} bytes`);
  }
  return secret;
}

function remember(wipe: Uint8Array[], b: Uint8Array): Uint8Array {
  wipe.push(b);
  return b;
}

function checkArg(what: string, b: Uint8Array, length: number): void {
  if (!(b instanceof Uint8Array) || b.length !== length) {
    throw new ChiveError('INVALID_ARGUMENT', `e2e: ${what} must be ${length} bytes`);
  }
}
