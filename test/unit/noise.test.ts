/**
 * Noise NK / XK handshake and CipherState: published vectors (cacophony, snow) through both
 * providers, round trips on random keys, state-machine misuse, tampering, low-order
 * points, length limits and the nonce-exhaustion guard.
 */
import { readFileSync } from 'node:fs';
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { ChiveError, type ErrorCode } from '../../src/errors.js';
import { fromHex, toHex, utf8 } from '../../src/bytes.js';
import { HandshakeState, type HandshakeOptions, type NoisePattern } from '../../src/noise/handshake.js';
import { CipherState, SymmetricState, noiseHkdf } from '../../src/noise/symmetric-state.js';
import {
  AEAD_TAG_LEN, LINK_PROLOGUE, MAX_HANDSHAKE_MESSAGE_LEN, NOISE_MAX_NONCE, NOISE_NK, NOISE_XK, X25519_KEY_LEN,
} from '../../src/wire/constants.js';

/** One published vector (cacophony / snow field names; hex strings). */
interface Vector {
  protocol_name: string; init_prologue: string; init_static?: string; init_ephemeral: string; init_remote_static: string;
  resp_prologue: string; resp_static: string; resp_ephemeral: string; handshake_hash?: string;
  messages: { payload: string; ciphertext: string }[];
}

const VECTORS: [string, Vector][] = ['cacophony', 'snow'].flatMap((source) => {
  const url = new URL(`../vectors/noise/${source}-nk-xk.json`, import.meta.url);
  const { vectors } = JSON.parse(readFileSync(url, 'utf8')) as { vectors: Vector[] };
  return vectors.map((v) => [`${source} ${v.protocol_name}`, v] as [string, Vector]);
});

const [providers, EMPTY] = [allCryptoProviders(), new Uint8Array(0)];

/** Runs `fn` expecting a ChiveError of `code`; returns it for further checks. */
function expectChiveError(fn: () => unknown, code: ErrorCode): ChiveError {
  let caught: unknown;
  try { fn(); } catch (e) { caught = e; }
  expect(caught).toBeInstanceOf(ChiveError);
  expect((caught as ChiveError).code).toBe(code);
  return caught as ChiveError;
}

function noRng(): Uint8Array {
  throw new Error('this test must not draw randomness');
}

interface Parties {
  initiator: HandshakeState;
  responder: HandshakeState;
  initiatorStatic: Uint8Array | undefined;
  responderStatic: Uint8Array;
  responderPublic: Uint8Array;
}

function makeParties(p: CryptoProvider, pattern: NoisePattern, extra: Partial<HandshakeOptions> = {}): Parties {
  const responderStatic = p.randomBytes(32);
  const responderPublic = p.x25519PublicKey(responderStatic);
  const initiatorStatic = pattern === 'XK' ? p.randomBytes(32) : undefined;
  const rng = (n: number) => p.randomBytes(n);
  return {
    initiator: new HandshakeState({
      provider: p, pattern, role: 'initiator', rng, remoteStaticPublic: responderPublic,
      ...(initiatorStatic ? { localStaticSecret: initiatorStatic } : {}), ...extra,
    }),
    responder: new HandshakeState({ provider: p, pattern, role: 'responder', rng, localStaticSecret: responderStatic }),
    initiatorStatic, responderStatic, responderPublic,
  };
}

const MESSAGES: Record<NoisePattern, number> = { NK: 2, XK: 3 };

/** Runs the whole handshake, each message with its own payload; returns the wire messages. */
function runHandshake(parties: Parties, pattern: NoisePattern): Uint8Array[] {
  const wire: Uint8Array[] = [];
  for (let i = 0; i < MESSAGES[pattern]; i++) {
    const [from, to] = i % 2 === 0 ? [parties.initiator, parties.responder] : [parties.responder, parties.initiator];
    const payload = utf8(`payload ${i}`);
    const msg = from.writeMessage(payload);
    expect(toHex(to.readMessage(msg))).toBe(toHex(payload));
    wire.push(msg);
  }
  return wire;
}

describe.each(providers.map((p) => [p.name, p] as const))('Noise with the %s provider', (_name, p) => {
  describe.each(VECTORS)('vector %s', (_label, v) => {
    const pattern: NoisePattern = v.protocol_name === NOISE_NK ? 'NK' : 'XK';
    const handshakeMessages = MESSAGES[pattern];

    it.each(['dangerouslyFixedEphemeral', 'injected rng'] as const)('reproduces every message (ephemeral via %s)', (mode) => {
      expect([NOISE_NK, NOISE_XK]).toContain(v.protocol_name);
      // The vector's own consistency: the initiator's remote static is the responder's key.
      expect(toHex(p.x25519PublicKey(fromHex(v.resp_static)))).toBe(v.init_remote_static);
      const ephemeral = (hex: string): Partial<HandshakeOptions> =>
        mode === 'dangerouslyFixedEphemeral'
          ? { rng: noRng, dangerouslyFixedEphemeral: fromHex(hex) }
          : { rng: (n: number) => { expect(n).toBe(X25519_KEY_LEN); return fromHex(hex); } };
      const initiator = new HandshakeState({
        provider: p, pattern, role: 'initiator', rng: noRng, prologue: fromHex(v.init_prologue),
        remoteStaticPublic: fromHex(v.init_remote_static),
        ...(v.init_static ? { localStaticSecret: fromHex(v.init_static) } : {}),
        ...ephemeral(v.init_ephemeral),
      });
      const responder = new HandshakeState({
        provider: p, pattern, role: 'responder', rng: noRng, prologue: fromHex(v.resp_prologue),
        localStaticSecret: fromHex(v.resp_static), ...ephemeral(v.resp_ephemeral),
      });

      for (let i = 0; i < handshakeMessages; i++) {
        const [from, to] = i % 2 === 0 ? [initiator, responder] : [responder, initiator];
        const m = v.messages[i]!;
        const wire = from.writeMessage(fromHex(m.payload));
        expect(toHex(wire)).toBe(m.ciphertext);
        expect(toHex(to.readMessage(wire))).toBe(m.payload);
      }
      const i = initiator.finish();
      const r = responder.finish();
      expect(toHex(i.handshakeHash)).toBe(toHex(r.handshakeHash));
      if (v.handshake_hash !== undefined) expect(toHex(i.handshakeHash)).toBe(v.handshake_hash);
      expect(toHex(i.remoteStatic!)).toBe(v.init_remote_static);
      if (pattern === 'XK') expect(toHex(r.remoteStatic!)).toBe(toHex(p.x25519PublicKey(fromHex(v.init_static!))));
      else expect(r.remoteStatic).toBeNull();

      // Transport messages after Split(): senders keep alternating, initiator first.
      expect(v.messages.length).toBeGreaterThan(handshakeMessages);
      for (let k = handshakeMessages; k < v.messages.length; k++) {
        const [from, to] = k % 2 === 0 ? [i, r] : [r, i];
        const m = v.messages[k]!;
        const ct = from.send.encryptWithAd(EMPTY, fromHex(m.payload));
        expect(toHex(ct)).toBe(m.ciphertext);
        expect(toHex(to.receive.decryptWithAd(EMPTY, ct))).toBe(m.payload);
      }
    });
  });

  describe.each(['NK', 'XK'] as const)('%s on random keys', (pattern) => {
    it('completes, agrees on the hash and carries transport messages both ways', () => {
      const parties = makeParties(p, pattern);
      runHandshake(parties, pattern);
      expect(parties.initiator.nextStep).toBe('finish');
      expect(parties.responder.nextStep).toBe('finish');
      const i = parties.initiator.finish();
      const r = parties.responder.finish();
      expect(i.handshakeHash.length).toBe(32);
      expect(toHex(i.handshakeHash)).toBe(toHex(r.handshakeHash));
      expect(toHex(i.remoteStatic!)).toBe(toHex(parties.responderPublic));
      for (let k = 0; k < 5; k++) {
        const [up, down] = [utf8(`up ${k}`), utf8(`down ${k}`)];
        expect(toHex(r.receive.decryptWithAd(EMPTY, i.send.encryptWithAd(EMPTY, up)))).toBe(toHex(up));
        expect(toHex(i.receive.decryptWithAd(EMPTY, r.send.encryptWithAd(EMPTY, down)))).toBe(toHex(down));
      }
      // The two directions use different keys: a message sent up cannot be read as one sent down.
      const sent = i.send.encryptWithAd(EMPTY, utf8('x'));
      expectChiveError(() => i.receive.decryptWithAd(EMPTY, sent), 'BAD_MAC');
      expect(parties.initiator.nextStep).toBe('finished');
    });

    it('learns the right remote static key', () => {
      const parties = makeParties(p, pattern);
      runHandshake(parties, pattern);
      const r = parties.responder.finish();
      if (pattern === 'XK') expect(toHex(r.remoteStatic!)).toBe(toHex(p.x25519PublicKey(parties.initiatorStatic!)));
      else expect(r.remoteStatic).toBeNull();
    });

    it('has the message sizes of the pattern (keys + tags + payload)', () => {
      const parties = makeParties(p, pattern);
      const wire = runHandshake(parties, pattern);
      const payload = (i: number) => utf8(`payload ${i}`).length;
      expect(wire[0]!.length).toBe(32 + payload(0) + AEAD_TAG_LEN);
      expect(wire[1]!.length).toBe(32 + payload(1) + AEAD_TAG_LEN);
      if (pattern === 'XK') expect(wire[2]!.length).toBe(32 + AEAD_TAG_LEN + payload(2) + AEAD_TAG_LEN);
    });

    it('accepts empty payloads and a payload filling MAX_HANDSHAKE_MESSAGE_LEN exactly', () => {
      const parties = makeParties(p, pattern);
      const first = parties.initiator.writeMessage(new Uint8Array(MAX_HANDSHAKE_MESSAGE_LEN - 32 - AEAD_TAG_LEN));
      expect(first.length).toBe(MAX_HANDSHAKE_MESSAGE_LEN);
      expect(parties.responder.readMessage(first).length).toBe(MAX_HANDSHAKE_MESSAGE_LEN - 32 - AEAD_TAG_LEN);
      expect(parties.initiator.readMessage(parties.responder.writeMessage()).length).toBe(0);
    });

    it('fails cleanly when the initiator has the wrong responder key', () => {
      const parties = makeParties(p, pattern);
      const wrong = new HandshakeState({
        provider: p, pattern, role: 'initiator', rng: (n) => p.randomBytes(n),
        remoteStaticPublic: p.x25519PublicKey(p.randomBytes(32)),
        ...(parties.initiatorStatic ? { localStaticSecret: parties.initiatorStatic } : {}),
      });
      const err = expectChiveError(() => parties.responder.readMessage(wrong.writeMessage(utf8('hi'))), 'HANDSHAKE_FAILED');
      expect((err.cause as ChiveError).code).toBe('BAD_MAC');
      expect(parties.responder.nextStep).toBe('failed');
      expectChiveError(() => parties.responder.writeMessage(), 'HANDSHAKE_STATE');
      expectChiveError(() => parties.responder.finish(), 'HANDSHAKE_STATE');
    });

    it('binds the prologue: LINK_PROLOGUE by default, any other prologue fails', () => {
      const same = makeParties(p, pattern, { prologue: utf8(LINK_PROLOGUE) });
      runHandshake(same, pattern); // explicit LINK_PROLOGUE on one side, default on the other
      const other = makeParties(p, pattern, { prologue: utf8('another-protocol') });
      expectChiveError(() => other.responder.readMessage(other.initiator.writeMessage()), 'HANDSHAKE_FAILED');
    });

    it('refuses out-of-order calls with HANDSHAKE_STATE and stays usable', () => {
      const { initiator, responder } = makeParties(p, pattern);
      expect(initiator.nextStep).toBe('write');
      expect(responder.nextStep).toBe('read');
      expectChiveError(() => responder.writeMessage(), 'HANDSHAKE_STATE');
      expectChiveError(() => initiator.readMessage(new Uint8Array(48)), 'HANDSHAKE_STATE');
      expectChiveError(() => initiator.finish(), 'HANDSHAKE_STATE');
      const m1 = initiator.writeMessage();
      expectChiveError(() => initiator.writeMessage(), 'HANDSHAKE_STATE');
      responder.readMessage(m1);
      expectChiveError(() => responder.readMessage(m1), 'HANDSHAKE_STATE');
      initiator.readMessage(responder.writeMessage());
      if (pattern === 'XK') {
        expectChiveError(() => initiator.finish(), 'HANDSHAKE_STATE');
        expectChiveError(() => responder.writeMessage(), 'HANDSHAKE_STATE');
        responder.readMessage(initiator.writeMessage());
      }
      expectChiveError(() => initiator.writeMessage(), 'HANDSHAKE_STATE');
      expectChiveError(() => responder.readMessage(m1), 'HANDSHAKE_STATE');
      initiator.finish();
      responder.finish();
      expectChiveError(() => initiator.finish(), 'HANDSHAKE_STATE');
      expectChiveError(() => responder.writeMessage(), 'HANDSHAKE_STATE');
    });

    it('fails with HANDSHAKE_FAILED on any flipped bit of any handshake message', () => {
      // Fixed keys, so every replay produces the same transcript.
      const keys = { s: p.randomBytes(32), is: p.randomBytes(32), ie: p.randomBytes(32), re: p.randomBytes(32) };
      const make = () => ({
        initiator: new HandshakeState({
          provider: p, pattern, role: 'initiator', rng: noRng, dangerouslyFixedEphemeral: keys.ie,
          remoteStaticPublic: p.x25519PublicKey(keys.s), ...(pattern === 'XK' ? { localStaticSecret: keys.is } : {}),
        }),
        responder: new HandshakeState({
          provider: p, pattern, role: 'responder', rng: noRng, dangerouslyFixedEphemeral: keys.re, localStaticSecret: keys.s,
        }),
      });
      const transcript: Uint8Array[] = [];
      const first = make();
      for (let i = 0; i < MESSAGES[pattern]; i++) {
        const [from, to] = i % 2 === 0 ? [first.initiator, first.responder] : [first.responder, first.initiator];
        transcript.push(from.writeMessage(utf8(`p${i}`)));
        to.readMessage(transcript[i]!);
      }
      let trials = 0;
      for (let m = 0; m < transcript.length; m++) {
        for (let bit = 0; bit < transcript[m]!.length * 8; bit++) {
          const { initiator, responder } = make();
          const receiver = m % 2 === 0 ? responder : initiator;
          // Bring the receiver to message m with the honest transcript.
          for (let j = 0; j < m; j++) {
            if ((j % 2 === 0) === (receiver === initiator)) receiver.writeMessage(utf8(`p${j}`));
            else receiver.readMessage(transcript[j]!);
          }
          const bad = transcript[m]!.slice();
          bad[bit >> 3]! ^= 1 << (bit & 7);
          expectChiveError(() => receiver.readMessage(bad), 'HANDSHAKE_FAILED');
          expect(receiver.nextStep).toBe('failed');
          trials++;
        }
      }
      expect(trials).toBe(transcript.reduce((n, t) => n + t.length * 8, 0));
    }, 120_000);

    it('refuses low-order ephemeral keys (HANDSHAKE_FAILED caused by LOW_ORDER_POINT)', () => {
      for (const lowOrder of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]) {
        const { responder } = makeParties(p, pattern);
        const msg = new Uint8Array(32 + AEAD_TAG_LEN);
        msg.set(lowOrder);
        const err = expectChiveError(() => responder.readMessage(msg), 'HANDSHAKE_FAILED');
        expect((err.cause as ChiveError).code).toBe('LOW_ORDER_POINT');
      }
    });

    it('refuses a low-order responder static key before sending anything', () => {
      const initiator = new HandshakeState({
        provider: p, pattern, role: 'initiator', rng: (n) => p.randomBytes(n), remoteStaticPublic: new Uint8Array(32),
        ...(pattern === 'XK' ? { localStaticSecret: p.randomBytes(32) } : {}),
      });
      const err = expectChiveError(() => initiator.writeMessage(), 'HANDSHAKE_FAILED');
      expect((err.cause as ChiveError).code).toBe('LOW_ORDER_POINT');
      expect(initiator.nextStep).toBe('failed');
    });

    it('refuses oversized and truncated messages', () => {
      const a = makeParties(p, pattern);
      expectChiveError(() => a.responder.readMessage(new Uint8Array(MAX_HANDSHAKE_MESSAGE_LEN + 1)), 'OVER_LENGTH');
      expect(a.responder.nextStep).toBe('failed');
      const b = makeParties(p, pattern);
      expectChiveError(() => b.responder.readMessage(new Uint8Array(32 + AEAD_TAG_LEN - 1)), 'TRUNCATED');
      const c = makeParties(p, pattern);
      c.responder.readMessage(c.initiator.writeMessage());
      c.initiator.readMessage(c.responder.writeMessage());
      if (pattern === 'XK') {
        // Message 3 needs the encrypted static key (48) and the payload tag (16).
        expectChiveError(() => c.responder.readMessage(new Uint8Array(63)), 'TRUNCATED');
      }
    });

    it('refuses to write a message over MAX_HANDSHAKE_MESSAGE_LEN and stays usable', () => {
      const parties = makeParties(p, pattern);
      const tooLong = new Uint8Array(MAX_HANDSHAKE_MESSAGE_LEN - 32 - AEAD_TAG_LEN + 1);
      expectChiveError(() => parties.initiator.writeMessage(tooLong), 'MESSAGE_TOO_LONG');
      expect(parties.initiator.nextStep).toBe('write');
      runHandshake(parties, pattern);
      expect(parties.initiator.finish().handshakeHash.length).toBe(32);
    });

    it('validates its options', () => {
      const rng = (n: number) => p.randomBytes(n);
      const key = p.randomBytes(32);
      expectChiveError(() => new HandshakeState({ provider: p, pattern, role: 'responder', rng }), 'INVALID_ARGUMENT');
      expectChiveError(() => new HandshakeState({ provider: p, pattern, role: 'initiator', rng, localStaticSecret: key }), 'INVALID_ARGUMENT');
      const responder = (extra: Partial<HandshakeOptions>) => () =>
        new HandshakeState({ provider: p, pattern, role: 'responder', rng, localStaticSecret: key, ...extra });
      expectChiveError(responder({ remoteStaticPublic: key }), 'INVALID_ARGUMENT');
      expectChiveError(responder({ localStaticSecret: new Uint8Array(31) }), 'INVALID_ARGUMENT');
      const shortRng = new HandshakeState({
        provider: p, pattern, role: 'initiator', rng: () => new Uint8Array(16), remoteStaticPublic: p.x25519PublicKey(key),
        ...(pattern === 'XK' ? { localStaticSecret: key } : {}),
      });
      expectChiveError(() => shortRng.writeMessage(), 'INVALID_ARGUMENT');
    });
  });

  describe('CipherState', () => {
    it('uses the Noise ChaChaPoly nonce (32 zero bits ‖ u64 little-endian), checked against node:crypto', () => {
      const [key, ad, plaintext] = [p.randomBytes(32), utf8('ad'), utf8('the nonce layout matters')];
      for (const n of [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, NOISE_MAX_NONCE - 1]) {
        const c = new CipherState(p, key);
        c.dangerouslySetNonce(n);
        const sealed = c.encryptWithAd(ad, plaintext);
        const nonce = Buffer.alloc(12);
        nonce.writeBigUInt64LE(BigInt(n), 4);
        const ref = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
        ref.setAAD(ad, { plaintextLength: plaintext.length });
        const expected = Buffer.concat([ref.update(plaintext), ref.final(), ref.getAuthTag()]);
        expect(toHex(sealed)).toBe(expected.toString('hex'));
      }
    });

    it('refuses nonce NOISE_MAX_NONCE (NONCE_EXHAUSTED) on both sides', () => {
      const key = p.randomBytes(32);
      const [send, receive] = [new CipherState(p, key), new CipherState(p, key)];
      send.dangerouslySetNonce(NOISE_MAX_NONCE - 1);
      receive.dangerouslySetNonce(NOISE_MAX_NONCE - 1);
      const last = send.encryptWithAd(EMPTY, utf8('last'));
      expect(toHex(receive.decryptWithAd(EMPTY, last))).toBe(toHex(utf8('last')));
      expect(send.nonce).toBe(NOISE_MAX_NONCE);
      expectChiveError(() => send.encryptWithAd(EMPTY, utf8('one too many')), 'NONCE_EXHAUSTED');
      expectChiveError(() => receive.decryptWithAd(EMPTY, last), 'NONCE_EXHAUSTED');
      expectChiveError(() => send.dangerouslySetNonce(NOISE_MAX_NONCE + 1), 'INVALID_ARGUMENT');
    });

    it('closes itself after a failed decryption', () => {
      const key = p.randomBytes(32);
      const [send, receive] = [new CipherState(p, key), new CipherState(p, key)];
      const good = send.encryptWithAd(EMPTY, utf8('one'));
      const bad = good.slice();
      bad[0]! ^= 0x80;
      expectChiveError(() => receive.decryptWithAd(EMPTY, bad), 'BAD_MAC');
      expect(receive.usable).toBe(false);
      expectChiveError(() => receive.decryptWithAd(EMPTY, good), 'CIPHER_CLOSED');
      expectChiveError(() => new CipherState(p, key).decryptWithAd(EMPTY, new Uint8Array(15)), 'BAD_MAC');
    });

    it('passes plaintext through before a key is set, as the spec says', () => {
      const c = new CipherState(p);
      expect(c.hasKey()).toBe(false);
      expect(toHex(c.encryptWithAd(EMPTY, utf8('clear')))).toBe(toHex(utf8('clear')));
      expect(toHex(c.decryptWithAd(EMPTY, utf8('clear')))).toBe(toHex(utf8('clear')));
    });
  });

  describe('SymmetricState', () => {
    it('Noise HKDF equals RFC 5869 HKDF with salt = ck and empty info', () => {
      const [ck, ikm] = [p.randomBytes(32), p.randomBytes(32)];
      const [a, b, c] = noiseHkdf(p, ck, ikm, 3);
      expect(toHex(new Uint8Array([...a!, ...b!, ...c!]))).toBe(toHex(p.hkdfSha256(ikm, ck, EMPTY, 96)));
    });

    it('pads a 32-byte protocol name into h and hashes a longer one', () => {
      expect(utf8(NOISE_NK).length).toBe(32);
      expect(toHex(new SymmetricState(p, NOISE_NK).handshakeHash())).toBe(toHex(utf8(NOISE_NK)));
      const long = 'Noise_XKpsk3_25519_ChaChaPoly_SHA256';
      expect(toHex(new SymmetricState(p, long).handshakeHash())).toBe(toHex(p.sha256(utf8(long))));
      const padded = new Uint8Array(32);
      padded.set(utf8('Noise_N'));
      expect(toHex(new SymmetricState(p, 'Noise_N').handshakeHash())).toBe(toHex(padded));
    });
  });
});
