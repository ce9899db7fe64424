/**
 * The Noise HandshakeState (Noise rev 34 §5.3) for chive's two link patterns, as a pure
 * state machine: bytes in, bytes out, RNG and crypto provider injected, no I/O.
 *
 *     NK  (client → relay):      <- s   ...   -> e, es   <- e, ee
 *     XK  (relay → relay):       <- s   ...   -> e, es   <- e, ee   -> s, se
 *
 * The responder's static key is always known beforehand (from the consensus). Every
 * handshake message carries an encrypted payload (possibly empty). The machine is
 * typestate-ish: `nextStep` says what is allowed (`write`, `read`, `finish`); anything
 * else throws HANDSHAKE_STATE, and so does every call after a failure or after `finish`.
 *
 * Failures while reading: a message over MAX_HANDSHAKE_MESSAGE_LEN → OVER_LENGTH; shorter
 * than its keys and tags → TRUNCATED; a bad tag (BAD_MAC) or a low-order DH input
 * (LOW_ORDER_POINT) → HANDSHAKE_FAILED with that ChiveError as `cause`. Any failure, on
 * either side, leaves the handshake failed and its secrets zeroed.
 *
 * Deliberately not here: other patterns, PSKs, fallback, the ws driver (src/io/), what the
 * payloads mean (the caller's business), and transport framing (link/frames.ts).
 */
import { ChiveError, isChiveError } from '../errors.js';
import type { CryptoProvider, Rng } from '../crypto/provider.js';
import {
  AEAD_TAG_LEN, LINK_PROLOGUE, MAX_HANDSHAKE_MESSAGE_LEN, NOISE_NK, NOISE_XK, X25519_KEY_LEN,
} from '../wire/constants.js';
import { CipherState, SymmetricState } from './symmetric-state.js';

export type NoisePattern = 'NK' | 'XK';
export type HandshakeRole = 'initiator' | 'responder';
/** What the handshake accepts next. */
export type HandshakeStep = 'write' | 'read' | 'finish' | 'finished' | 'failed';

type Token = 'e' | 's' | 'ee' | 'es' | 'se';

interface PatternSpec {
  readonly protocolName: string;
  /** Message token lists; message i is written by the initiator when i is even. */
  readonly messages: readonly (readonly Token[])[];
  /** Whether the initiator has (and sends) a static key. */
  readonly initiatorStatic: boolean;
}

const PATTERNS: Record<NoisePattern, PatternSpec> = {
  NK: { protocolName: NOISE_NK, messages: [['e', 'es'], ['e', 'ee']], initiatorStatic: false },
  XK: { protocolName: NOISE_XK, messages: [['e', 'es'], ['e', 'ee'], ['s', 'se']], initiatorStatic: true },
};

export interface HandshakeOptions {
  readonly provider: CryptoProvider;
  readonly pattern: NoisePattern;
  readonly role: HandshakeRole;
  /** Source of the 32-byte ephemeral secret. */
  readonly rng: Rng;
  /** Prologue bound into h; defaults to UTF-8 LINK_PROLOGUE. */
  readonly prologue?: Uint8Array;
  /** Our 32-byte X25519 static secret: required for the responder and the XK initiator. */
  readonly localStaticSecret?: Uint8Array;
  /** The responder's static public key: required for the initiator (from the consensus). */
  readonly remoteStaticPublic?: Uint8Array;
  /** Test vectors only: use this ephemeral secret instead of drawing one from `rng`. */
  readonly dangerouslyFixedEphemeral?: Uint8Array;
}

export interface HandshakeResult {
  /** Encrypts what we send. */
  readonly send: CipherState;
  /** Decrypts what we receive. */
  readonly receive: CipherState;
  /** The final h: identical on both sides, usable for channel binding. */
  readonly handshakeHash: Uint8Array;
  /** The peer's static public key: the relay's for an initiator, the initiating relay's for an XK responder, null for an NK responder. */
  readonly remoteStatic: Uint8Array | null;
}

interface KeyPair {
  readonly secret: Uint8Array;
  readonly publicKey: Uint8Array;
}

export class HandshakeState {
  private readonly provider: CryptoProvider;
  private readonly spec: PatternSpec;
  private readonly role: HandshakeRole;
  private readonly rng: Rng;
  private readonly fixedEphemeral: Uint8Array | undefined;
  private readonly symmetric: SymmetricState;
  private readonly s: KeyPair | null;
  private e: KeyPair | null = null;
  private rs: Uint8Array | null;
  private re: Uint8Array | null = null;
  private index = 0;
  private phase: 'running' | 'complete' | 'finished' | 'failed' = 'running';

  constructor(options: HandshakeOptions) {
    const { provider, pattern, role } = options;
    const spec = PATTERNS[pattern];
    if (spec === undefined) throw new ChiveError('INVALID_ARGUMENT', `unknown Noise pattern: ${String(pattern)}`);
    if (role !== 'initiator' && role !== 'responder') throw new ChiveError('INVALID_ARGUMENT', `unknown role: ${String(role)}`);
    this.provider = provider;
    this.spec = spec;
    this.role = role;
    this.rng = options.rng;
    this.fixedEphemeral = options.dangerouslyFixedEphemeral;
    if (this.fixedEphemeral !== undefined) checkKey(this.fixedEphemeral, 'fixed ephemeral secret');

    const needsStatic = role === 'responder' || spec.initiatorStatic;
    if (needsStatic) {
      if (options.localStaticSecret === undefined) {
        throw new ChiveError('INVALID_ARGUMENT', `${pattern} ${role} needs a local static key`);
      }
      checkKey(options.localStaticSecret, 'local static secret');
      const secret = options.localStaticSecret.slice();
      this.s = { secret, publicKey: provider.x25519PublicKey(secret) };
    } else {
      if (options.localStaticSecret !== undefined) {
        throw new ChiveError('INVALID_ARGUMENT', `an ${pattern} initiator is anonymous: no local static key`);
      }
      this.s = null;
    }
    if (role === 'initiator') {
      if (options.remoteStaticPublic === undefined) {
        throw new ChiveError('INVALID_ARGUMENT', `${pattern} initiator needs the responder's static key`);
      }
      checkKey(options.remoteStaticPublic, 'remote static key');
      this.rs = options.remoteStaticPublic.slice();
    } else {
      if (options.remoteStaticPublic !== undefined) {
        throw new ChiveError('INVALID_ARGUMENT', `an ${pattern} responder learns no remote static key beforehand`);
      }
      this.rs = null;
    }

    this.symmetric = new SymmetricState(provider, spec.protocolName);
    this.symmetric.mixHash(options.prologue ?? new TextEncoder().encode(LINK_PROLOGUE));
    // Pre-message "<- s": the responder's static public key.
    this.symmetric.mixHash(role === 'initiator' ? this.rs! : this.s!.publicKey);
  }

  /** What the handshake accepts next. */
  get nextStep(): HandshakeStep {
    if (this.phase === 'complete') return 'finish';
    if (this.phase === 'finished' || this.phase === 'failed') return this.phase;
    return this.isOurTurn() ? 'write' : 'read';
  }

  /**
   * Writes the next handshake message with `payload` (encrypted). Throws HANDSHAKE_STATE
   * when it is not our turn, MESSAGE_TOO_LONG (state unchanged) when the message would
   * exceed MAX_HANDSHAKE_MESSAGE_LEN, HANDSHAKE_FAILED (state failed) on a DH failure.
   */
  writeMessage(payload: Uint8Array = new Uint8Array(0)): Uint8Array {
    this.expect('write');
    const tokens = this.spec.messages[this.index]!;
    const length = this.messageLength(tokens, payload.length);
    if (length > MAX_HANDSHAKE_MESSAGE_LEN) {
      throw new ChiveError('MESSAGE_TOO_LONG', `handshake message of ${length} bytes exceeds ${MAX_HANDSHAKE_MESSAGE_LEN}`);
    }
    return this.guard(() => {
      const out = new Uint8Array(length);
      let o = 0;
      for (const token of tokens) {
        if (token === 'e') {
          this.e = this.generateEphemeral();
          out.set(this.e.publicKey, o);
          o += X25519_KEY_LEN;
          this.symmetric.mixHash(this.e.publicKey);
        } else if (token === 's') {
          const sealed = this.symmetric.encryptAndHash(this.s!.publicKey);
          out.set(sealed, o);
          o += sealed.length;
        } else {
          this.mixDh(token);
        }
      }
      const sealedPayload = this.symmetric.encryptAndHash(payload);
      out.set(sealedPayload, o);
      this.advance();
      return out;
    });
  }

  /**
   * Reads the peer's next handshake message and returns its decrypted payload. Throws
   * HANDSHAKE_STATE when it is not the peer's turn; OVER_LENGTH, TRUNCATED or
   * HANDSHAKE_FAILED (see the module comment) otherwise, leaving the handshake failed.
   */
  readMessage(message: Uint8Array): Uint8Array {
    this.expect('read');
    return this.guard(() => {
      if (message.length > MAX_HANDSHAKE_MESSAGE_LEN) {
        throw new ChiveError('OVER_LENGTH', `handshake message of ${message.length} bytes exceeds ${MAX_HANDSHAKE_MESSAGE_LEN}`);
      }
      const tokens = this.spec.messages[this.index]!;
      const minimum = this.messageLength(tokens, 0);
      if (message.length < minimum) {
        throw new ChiveError('TRUNCATED', `handshake message of ${message.length} bytes is shorter than ${minimum}`);
      }
      let o = 0;
      for (const token of tokens) {
        if (token === 'e') {
          this.re = message.slice(o, o + X25519_KEY_LEN);
          o += X25519_KEY_LEN;
          this.symmetric.mixHash(this.re);
        } else if (token === 's') {
          const len = X25519_KEY_LEN + (this.symmetric.hasKey() ? AEAD_TAG_LEN : 0);
          this.rs = this.symmetric.decryptAndHash(message.subarray(o, o + len));
          o += len;
        } else {
          this.mixDh(token);
        }
      }
      const payload = this.symmetric.decryptAndHash(message.subarray(o));
      this.advance();
      return payload;
    });
  }

  /**
   * After the last message: the transport cipher states (Split), the handshake hash and the
   * peer's static key. Callable once; zeroes every handshake secret.
   */
  finish(): HandshakeResult {
    this.expect('finish');
    const handshakeHash = this.symmetric.handshakeHash();
    const [initiatorToResponder, responderToInitiator] = this.symmetric.split();
    const initiator = this.role === 'initiator';
    const result: HandshakeResult = {
      send: initiator ? initiatorToResponder : responderToInitiator,
      receive: initiator ? responderToInitiator : initiatorToResponder,
      handshakeHash,
      remoteStatic: this.rs === null ? null : this.rs.slice(),
    };
    this.phase = 'finished';
    this.wipe();
    return result;
  }

  /** Abandons the handshake: zeroes its secrets; every later call throws HANDSHAKE_STATE. */
  abort(): void {
    if (this.phase === 'finished') return;
    this.phase = 'failed';
    this.symmetric.destroy();
    this.wipe();
  }

  private isOurTurn(): boolean {
    return (this.index % 2 === 0) === (this.role === 'initiator');
  }

  private expect(step: 'write' | 'read' | 'finish'): void {
    const actual = this.nextStep;
    if (actual !== step) {
      throw new ChiveError('HANDSHAKE_STATE', `cannot ${step} now: the handshake expects ${actual}`);
    }
  }

  private advance(): void {
    this.index += 1;
    if (this.index === this.spec.messages.length) this.phase = 'complete';
  }

  /** Runs one message step; any failure aborts the handshake. */
  private guard<T>(step: () => T): T {
    try {
      return step();
    } catch (e) {
      this.abort();
      if (isChiveError(e, 'BAD_MAC') || isChiveError(e, 'LOW_ORDER_POINT')) {
        throw new ChiveError('HANDSHAKE_FAILED', `Noise handshake failed: ${e.message}`, { cause: e });
      }
      if (e instanceof ChiveError) throw e;
      throw new ChiveError('HANDSHAKE_FAILED', `Noise handshake failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }

  /** Bytes of a message with `tokens` and a payload of `payloadLen` (keys, tags, payload). */
  private messageLength(tokens: readonly Token[], payloadLen: number): number {
    let hasKey = this.symmetric.hasKey();
    let n = 0;
    for (const token of tokens) {
      if (token === 'e') n += X25519_KEY_LEN;
      else if (token === 's') n += X25519_KEY_LEN + (hasKey ? AEAD_TAG_LEN : 0);
      else hasKey = true;
    }
    return n + payloadLen + (hasKey ? AEAD_TAG_LEN : 0);
  }

  private mixDh(token: 'ee' | 'es' | 'se'): void {
    const initiator = this.role === 'initiator';
    let secret: Uint8Array;
    let publicKey: Uint8Array;
    if (token === 'ee') {
      secret = this.e!.secret;
      publicKey = this.re!;
    } else if (token === 'es') {
      // DH(initiator's e, responder's s)
      secret = initiator ? this.e!.secret : this.s!.secret;
      publicKey = initiator ? this.rs! : this.re!;
    } else {
      // se: DH(initiator's s, responder's e)
      secret = initiator ? this.s!.secret : this.e!.secret;
      publicKey = initiator ? this.re! : this.rs!;
    }
    const shared = this.provider.x25519(secret, publicKey);
    this.symmetric.mixKey(shared);
    shared.fill(0);
  }

  private generateEphemeral(): KeyPair {
    const secret = this.fixedEphemeral !== undefined ? this.fixedEphemeral.slice() : this.rng(X25519_KEY_LEN);
    checkKey(secret, 'ephemeral secret from the rng');
    return { secret, publicKey: this.provider.x25519PublicKey(secret) };
  }

  private wipe(): void {
    this.e?.secret.fill(0);
    this.e = null;
    this.s?.secret.fill(0);
  }
}

function checkKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== X25519_KEY_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `${what} must be ${X25519_KEY_LEN} bytes`);
  }
}
