/**
 * The link frame codec: k whole cells sealed as one AEAD message per frame, length checks,
 * tampering, ordering, nonce exhaustion, and the closed-after-failure rule.
 */
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { ChiveError, type ErrorCode } from '../../src/errors.js';
import { toHex } from '../../src/bytes.js';
import { cellsInFrame, openFrame, openFrameInPlace, sealFrame } from '../../src/link/frames.js';
import { HandshakeState } from '../../src/noise/handshake.js';
import { CipherState } from '../../src/noise/symmetric-state.js';
import {
  AEAD_TAG_LEN, CELL_LEN, MAX_CELLS_PER_FRAME, MAX_LINK_FRAME_LEN, NOISE_MAX_NONCE,
} from '../../src/wire/constants.js';

function expectChiveError(fn: () => unknown, code: ErrorCode): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ChiveError);
  expect((caught as ChiveError).code).toBe(code);
}

/** A send / receive pair sharing one random key, as the two ends of one link direction. */
function pair(p: CryptoProvider): { send: CipherState; receive: CipherState; key: Uint8Array } {
  const key = p.randomBytes(32);
  return { send: new CipherState(p, key), receive: new CipherState(p, key), key };
}

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('link frames with the %s provider', (_name, p) => {
  it.each([1, 2, 7, MAX_CELLS_PER_FRAME])('round-trips %i cells with fixed overhead', (k) => {
    const { send, receive } = pair(p);
    const cells = p.randomBytes(k * CELL_LEN);
    const before = cells.slice();
    const frame = sealFrame(send, cells);
    expect(frame.length).toBe(AEAD_TAG_LEN + k * CELL_LEN);
    expect(cellsInFrame(frame.length)).toBe(k);
    expect(toHex(cells)).toBe(toHex(before)); // the input is not touched
    expect(toHex(frame.subarray(0, 64))).not.toBe(toHex(cells.subarray(0, 64)));
    expect(toHex(openFrame(receive, frame))).toBe(toHex(cells));
  });

  it('carries frames over a real NK handshake, both directions, nonces advancing', () => {
    const relayStatic = p.randomBytes(32);
    const rng = (n: number) => p.randomBytes(n);
    const client = new HandshakeState({ provider: p, pattern: 'NK', role: 'initiator', rng, remoteStaticPublic: p.x25519PublicKey(relayStatic) });
    const relay = new HandshakeState({ provider: p, pattern: 'NK', role: 'responder', rng, localStaticSecret: relayStatic });
    relay.readMessage(client.writeMessage());
    client.readMessage(relay.writeMessage());
    const c = client.finish();
    const r = relay.finish();
    for (let i = 0; i < 4; i++) {
      const up = p.randomBytes((i + 1) * CELL_LEN);
      const down = p.randomBytes(CELL_LEN);
      expect(toHex(openFrame(r.receive, sealFrame(c.send, up)))).toBe(toHex(up));
      expect(toHex(openFrame(c.receive, sealFrame(r.send, down)))).toBe(toHex(down));
    }
    expect(c.send.nonce).toBe(4);
    expect(r.receive.nonce).toBe(4);
  });

  it('opens in place without allocating a second buffer', () => {
    const { send, receive } = pair(p);
    const cells = p.randomBytes(3 * CELL_LEN);
    const frame = sealFrame(send, cells);
    const opened = openFrameInPlace(receive, frame);
    expect(opened.buffer).toBe(frame.buffer);
    expect(opened.length).toBe(3 * CELL_LEN);
    expect(toHex(opened)).toBe(toHex(cells));
  });

  it('refuses reordered, replayed and swapped-direction frames (BAD_MAC)', () => {
    const a = pair(p);
    const f0 = sealFrame(a.send, p.randomBytes(CELL_LEN));
    const f1 = sealFrame(a.send, p.randomBytes(CELL_LEN));
    expectChiveError(() => openFrame(a.receive, f1), 'BAD_MAC');
    const b = new CipherState(p, a.key);
    openFrame(b, f0);
    expectChiveError(() => openFrame(b, f0), 'BAD_MAC');
    const other = new CipherState(p, p.randomBytes(32));
    expectChiveError(() => openFrame(other, f0), 'BAD_MAC');
  });

  it('refuses every flipped bit of a frame (BAD_MAC)', () => {
    const key = p.randomBytes(32);
    const cells = p.randomBytes(CELL_LEN);
    const frame = sealFrame(new CipherState(p, key), cells);
    for (let bit = 0; bit < frame.length * 8; bit++) {
      const bad = frame.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expectChiveError(() => openFrame(new CipherState(p, key), bad), 'BAD_MAC');
    }
    expect(toHex(openFrame(new CipherState(p, key), frame))).toBe(toHex(cells));
  }, 60_000);

  it.each([
    [0, 'BAD_CELL'],
    [AEAD_TAG_LEN, 'BAD_CELL'],
    [AEAD_TAG_LEN - 1, 'BAD_CELL'],
    [CELL_LEN, 'BAD_CELL'],
    [AEAD_TAG_LEN + CELL_LEN - 1, 'BAD_CELL'],
    [AEAD_TAG_LEN + CELL_LEN + 1, 'BAD_CELL'],
    [AEAD_TAG_LEN + 3 * CELL_LEN + 100, 'BAD_CELL'],
    [MAX_LINK_FRAME_LEN - 1, 'BAD_CELL'],
    [MAX_LINK_FRAME_LEN + 1, 'OVER_LENGTH'],
    [MAX_LINK_FRAME_LEN + CELL_LEN, 'OVER_LENGTH'],
  ] as const)('refuses a frame of %i bytes (%s) and closes the receive state', (length, code) => {
    const { send, receive } = pair(p);
    expectChiveError(() => openFrame(receive, p.randomBytes(length)), code);
    expect(receive.usable).toBe(false);
    const good = sealFrame(send, p.randomBytes(CELL_LEN));
    expectChiveError(() => openFrame(receive, good), 'CIPHER_CLOSED');
  });

  it('accepts the largest frame and knows frame lengths only as cell counts', () => {
    const { send, receive } = pair(p);
    const cells = p.randomBytes(MAX_CELLS_PER_FRAME * CELL_LEN);
    const frame = sealFrame(send, cells);
    expect(frame.length).toBe(MAX_LINK_FRAME_LEN);
    expect(toHex(openFrame(receive, frame))).toBe(toHex(cells));
    for (let len = 0; len <= MAX_LINK_FRAME_LEN + CELL_LEN; len++) {
      const k = cellsInFrame(len);
      const valid = len > AEAD_TAG_LEN && (len - AEAD_TAG_LEN) % CELL_LEN === 0 && len <= MAX_LINK_FRAME_LEN;
      expect(k).toBe(valid ? (len - AEAD_TAG_LEN) / CELL_LEN : null);
    }
  });

  it('leaves the receive state closed after a bad tag', () => {
    const { send, receive } = pair(p);
    const good = sealFrame(send, p.randomBytes(CELL_LEN));
    const bad = good.slice();
    bad[bad.length - 1]! ^= 1;
    expectChiveError(() => openFrame(receive, bad), 'BAD_MAC');
    expect(receive.usable).toBe(false);
    expectChiveError(() => openFrame(receive, good), 'CIPHER_CLOSED');
    expectChiveError(() => openFrameInPlace(receive, good), 'CIPHER_CLOSED');
  });

  it.each([0, 1, CELL_LEN - 1, CELL_LEN + 1, (MAX_CELLS_PER_FRAME + 1) * CELL_LEN])(
    'refuses to seal %i bytes (INVALID_ARGUMENT) without using a nonce',
    (length) => {
      const { send } = pair(p);
      expectChiveError(() => sealFrame(send, new Uint8Array(length)), 'INVALID_ARGUMENT');
      expect(send.nonce).toBe(0);
      expect(send.usable).toBe(true);
    },
  );

  it('stops at the nonce limit (NONCE_EXHAUSTED)', () => {
    const { send, receive } = pair(p);
    send.dangerouslySetNonce(NOISE_MAX_NONCE - 1);
    receive.dangerouslySetNonce(NOISE_MAX_NONCE - 1);
    const cells = p.randomBytes(CELL_LEN);
    expect(toHex(openFrame(receive, sealFrame(send, cells)))).toBe(toHex(cells));
    expectChiveError(() => sealFrame(send, cells), 'NONCE_EXHAUSTED');
  });
});
