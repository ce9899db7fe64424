/**
 * Properties of the Noise handshake and the link frame codec: arbitrary bytes fed to
 * readMessage at every read step, or to openFrame, only ever fail with a ChiveError of the
 * documented codes; random payloads and cell batches round-trip.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { ChiveError, type ErrorCode } from '../../src/errors.js';
import { toHex } from '../../src/bytes.js';
import { HandshakeState, type NoisePattern } from '../../src/noise/handshake.js';
import { CipherState } from '../../src/noise/symmetric-state.js';
import { openFrame, sealFrame } from '../../src/link/frames.js';
import {
  AEAD_TAG_LEN, CELL_LEN, MAX_CELLS_PER_FRAME, MAX_HANDSHAKE_MESSAGE_LEN, MAX_LINK_FRAME_LEN,
} from '../../src/wire/constants.js';

const HANDSHAKE_READ_CODES: ErrorCode[] = ['OVER_LENGTH', 'TRUNCATED', 'HANDSHAKE_FAILED'];
const FRAME_CODES: ErrorCode[] = ['OVER_LENGTH', 'BAD_CELL', 'BAD_MAC'];
const MESSAGES: Record<NoisePattern, number> = { NK: 2, XK: 3 };

function failureOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

function parties(p: CryptoProvider, pattern: NoisePattern) {
  const rs = p.randomBytes(32);
  const rng = (n: number) => p.randomBytes(n);
  return {
    initiator: new HandshakeState({
      provider: p, pattern, role: 'initiator', rng, remoteStaticPublic: p.x25519PublicKey(rs),
      ...(pattern === 'XK' ? { localStaticSecret: p.randomBytes(32) } : {}),
    }),
    responder: new HandshakeState({ provider: p, pattern, role: 'responder', rng, localStaticSecret: rs }),
  };
}

/** Arbitrary bytes, biased towards the lengths the parser distinguishes. */
const handshakeGarbage = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.integer({ min: 0, max: MAX_HANDSHAKE_MESSAGE_LEN + 64 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
);

/** Arbitrary frames: short garbage, exact frame lengths (so the MAC is reached), and oversize. */
const frameGarbage = fc.oneof(
  fc.uint8Array({ maxLength: 3 * CELL_LEN }),
  fc.integer({ min: 1, max: MAX_CELLS_PER_FRAME }).chain((k) =>
    fc.uint8Array({ minLength: AEAD_TAG_LEN + k * CELL_LEN, maxLength: AEAD_TAG_LEN + k * CELL_LEN }),
  ),
  fc.integer({ min: MAX_LINK_FRAME_LEN - CELL_LEN, max: MAX_LINK_FRAME_LEN + CELL_LEN }).chain((n) =>
    fc.uint8Array({ minLength: n, maxLength: n }),
  ),
);

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('Noise properties with the %s provider', (_name, p) => {
  describe.each(['NK', 'XK'] as const)('%s', (pattern) => {
    for (let step = 0; step < MESSAGES[pattern]; step++) {
      it(`random bytes as message ${step + 1} fail only with ${HANDSHAKE_READ_CODES.join(' / ')}`, () => {
        fc.assert(
          fc.property(handshakeGarbage, (garbage) => {
            const { initiator, responder } = parties(p, pattern);
            for (let j = 0; j < step; j++) {
              const [from, to] = j % 2 === 0 ? [initiator, responder] : [responder, initiator];
              to.readMessage(from.writeMessage());
            }
            const reader = step % 2 === 0 ? responder : initiator;
            const e = failureOf(() => reader.readMessage(garbage));
            expect(e).toBeInstanceOf(ChiveError);
            expect(HANDSHAKE_READ_CODES).toContain((e as ChiveError).code);
            expect(reader.nextStep).toBe('failed');
          }),
          { numRuns: 60 },
        );
      });
    }

    it('round-trips arbitrary payloads in every handshake message', () => {
      const payload = fc.uint8Array({ maxLength: MAX_HANDSHAKE_MESSAGE_LEN - 2 * 32 - 2 * AEAD_TAG_LEN });
      fc.assert(
        fc.property(fc.array(payload, { minLength: 3, maxLength: 3 }), (payloads) => {
          const { initiator, responder } = parties(p, pattern);
          for (let j = 0; j < MESSAGES[pattern]; j++) {
            const [from, to] = j % 2 === 0 ? [initiator, responder] : [responder, initiator];
            expect(toHex(to.readMessage(from.writeMessage(payloads[j]!)))).toBe(toHex(payloads[j]!));
          }
          expect(toHex(initiator.finish().handshakeHash)).toBe(toHex(responder.finish().handshakeHash));
        }),
        { numRuns: 25 },
      );
    });
  });

  it(`random bytes into openFrame fail only with ${FRAME_CODES.join(' / ')}`, () => {
    const key = p.randomBytes(32);
    fc.assert(
      fc.property(frameGarbage, (garbage) => {
        const receive = new CipherState(p, key);
        const e = failureOf(() => openFrame(receive, garbage));
        expect(e).toBeInstanceOf(ChiveError);
        expect(FRAME_CODES).toContain((e as ChiveError).code);
        expect(receive.usable).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('round-trips any batch of cells, in order', () => {
    const batch = fc.integer({ min: 1, max: 8 }).chain((k) => fc.uint8Array({ minLength: k * CELL_LEN, maxLength: k * CELL_LEN }));
    fc.assert(
      fc.property(fc.array(batch, { minLength: 1, maxLength: 5 }), (batches) => {
        const key = p.randomBytes(32);
        const send = new CipherState(p, key);
        const receive = new CipherState(p, key);
        for (const cells of batches) {
          const frame = sealFrame(send, cells);
          expect(frame.length).toBe(cells.length + AEAD_TAG_LEN);
          expect(toHex(openFrame(receive, frame))).toBe(toHex(cells));
        }
      }),
      { numRuns: 40 },
    );
  });
});
