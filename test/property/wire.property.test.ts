/**
 * Property tests for the wire codecs (cells, relay messages, EXTEND2 link specifiers):
 *  - any bytes from the network only ever raise a ChiveError (never a TypeError, RangeError,
 *    …), and every decoder is a single bounded pass, so none can hang;
 *  - every accepted encoding is canonical: encode(decode(x)) == x;
 *  - for every valid message built by an arbitrary of its kind, decode(encode(m)) deep-equals m.
 * No crypto is involved, so no provider loop.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChiveError, ERROR_CODES } from '../../src/errors.js';
import { decodeCell, encodeCell, isKnownCellCommand, type Cell } from '../../src/wire/cell.js';
import {
  CELL_LEN, CELL_PAYLOAD_LEN, CellCommand, LinkSpecifierType, MAX_BACKWARD_RELAY_DATA_LEN,
  MAX_CREATE2_HANDSHAKE_LEN, MAX_CREATED2_HANDSHAKE_LEN, ONION_BODY_LEN, ONION_TAG_LEN,
  RelayCommand, SENDME_VERSION,
} from '../../src/wire/constants.js';
import type { LinkSpecifier } from '../../src/wire/link-specifiers.js';
import {
  CHAT_RELAY_COMMANDS, decodeRelayMessage, decodeRelayMessageInCell, encodeRelayMessage, type RelayMessage,
} from '../../src/wire/relay-message.js';
import { noRng, thrownChiveError } from '../vectors/wire/assert.js';
import { fixedRng } from '../vectors/wire/support.js';

const RUNS = { numRuns: 500 };
const MAX_U16 = 0xffff;
const IN_CELL_BODY_LEN = ONION_BODY_LEN;

/** The result of `fn`, or undefined when it threw a ChiveError with a declared code; anything else propagates. */
function tryDecode<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof ChiveError)) throw e;
    expect(Object.keys(ERROR_CODES)).toContain(e.code);
    return undefined;
  }
}

/** fc.record with ordinary prototypes, so toStrictEqual compares like with like. */
const record = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(model, { noNullPrototype: true });
const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: MAX_U16 });
const circId = fc.integer({ min: 1, max: 0xffff_ffff });
const streamId = fc.integer({ min: 1, max: MAX_U16 });

// ---------------------------------------------------------------------------------------
// Cells
// ---------------------------------------------------------------------------------------

const unknownCellCommand = u8.filter((c) => !isKnownCellCommand(c));
/** Handshake data of up to `max` bytes plus exactly the padding that fills the rest. */
const handshakeWithPadding = (max: number) =>
  fc.uint8Array({ maxLength: max }).chain((handshakeData) =>
    bytesOf(max - handshakeData.length).map((padding) => ({ handshakeData, padding })));

const cellArb: fc.Arbitrary<Cell> = fc.oneof(
  bytesOf(CELL_PAYLOAD_LEN).map((padding): Cell => ({ kind: 'PADDING', padding })),
  record({ circId, payload: bytesOf(CELL_PAYLOAD_LEN) }).map((c): Cell => ({ kind: 'RELAY', ...c })),
  record({ circId, reason: u8, padding: bytesOf(CELL_PAYLOAD_LEN - 1) }).map((c): Cell => ({ kind: 'DESTROY', ...c })),
  fc.tuple(circId, u16, handshakeWithPadding(MAX_CREATE2_HANDSHAKE_LEN))
    .map(([id, handshakeType, h]): Cell => ({ kind: 'CREATE2', circId: id, handshakeType, ...h })),
  fc.tuple(circId, handshakeWithPadding(MAX_CREATED2_HANDSHAKE_LEN))
    .map(([id, h]): Cell => ({ kind: 'CREATED2', circId: id, ...h })),
  record({ circId: fc.integer({ min: 0, max: 0xffff_ffff }), command: unknownCellCommand, payload: bytesOf(CELL_PAYLOAD_LEN) })
    .map((c): Cell => ({ kind: 'Unrecognized', ...c })),
);

/** CELL_LEN bytes whose circuit id and command are often the interesting ones. */
const cellBytes = fc.tuple(
  fc.oneof(fc.constant(0), circId),
  fc.oneof(fc.constantFrom(...Object.values(CellCommand)), u8),
  fc.oneof(fc.tuple(u16, u16).map(([a, b]) => [a >> 8, a & 0xff, b >> 8, b & 0xff]), fc.constant([] as number[])),
  bytesOf(CELL_PAYLOAD_LEN),
).map(([id, command, head, payload]) => {
  const out = new Uint8Array(CELL_LEN);
  out.set([id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff, command]);
  out.set(payload, 5);
  out.set(head, 5); // plausible CREATE2 / CREATED2 length fields
  return out;
});

describe('cell codec properties', () => {
  it('any bytes of any length: a Cell or a ChiveError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2 * CELL_LEN }), (bytes) => {
      const cell = tryDecode(() => decodeCell(bytes));
      if (cell !== undefined) expect(bytes.length).toBe(CELL_LEN);
    }), RUNS);
  });

  it('any accepted CELL_LEN bytes re-encode to themselves (padding kept, no rng needed)', () => {
    fc.assert(fc.property(cellBytes, (bytes) => {
      const cell = tryDecode(() => decodeCell(bytes));
      if (cell !== undefined) expect(encodeCell(cell, noRng)).toEqual(bytes);
    }), RUNS);
  });

  it('decode(encode(cell)) deep-equals cell, and encode(decode(x)) == x', () => {
    fc.assert(fc.property(cellArb, (cell) => {
      const bytes = encodeCell(cell, noRng);
      expect(bytes.length).toBe(CELL_LEN);
      const decoded = decodeCell(bytes);
      expect(decoded).toStrictEqual(cell);
      expect(encodeCell(decoded, noRng)).toEqual(bytes);
    }), RUNS);
  });

  it('a cell built without padding gets exactly the rng bytes as padding', () => {
    fc.assert(fc.property(cellArb, fc.integer(), (cell, seed) => {
      const { padding: _ignored, ...bare } = cell as Cell & { padding?: Uint8Array };
      const drawn: Uint8Array[] = [];
      const source = fixedRng(seed);
      const rng = (n: number) => {
        const b = source(n);
        drawn.push(b);
        return b;
      };
      const decoded = decodeCell(encodeCell(bare as Cell, rng));
      const padding = 'padding' in decoded ? decoded.padding : undefined;
      expect(drawn.length).toBe(padding === undefined || padding.length === 0 ? 0 : 1);
      if (drawn[0] !== undefined) expect(padding).toEqual(drawn[0]);
      expect({ ...decoded, padding: undefined }).toEqual({ ...bare, padding: undefined });
    }), { numRuns: 200 });
  });
});

// ---------------------------------------------------------------------------------------
// Relay messages
// ---------------------------------------------------------------------------------------

const data = (max = MAX_BACKWARD_RELAY_DATA_LEN) => fc.uint8Array({ maxLength: max });
const hostArb = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/),
  fc.ipV4(),
  fc.ipV6().map((a) => `[${a}]`),
);
const wsUrl = fc.tuple(fc.constantFrom('ws://', 'wss://'), fc.stringMatching(/^[\x21-\x7e]{1,240}$/)).map(([s, r]) => s + r);
const knownSpecTypes = new Set<number>(Object.values(LinkSpecifierType));
const unknownSpec = record({ type: u8.filter((t) => !knownSpecTypes.has(t)), body: fc.uint8Array({ maxLength: 40 }) })
  .map((s): LinkSpecifier => ({ kind: 'Unrecognized', ...s }));
const linkSpecifiers: fc.Arbitrary<LinkSpecifier[]> = fc.tuple(
  fc.option(wsUrl.map((url): LinkSpecifier => ({ kind: 'WS_URL', url })), { nil: undefined }),
  fc.option(bytesOf(32).map((key): LinkSpecifier => ({ kind: 'ED25519_ID', key })), { nil: undefined }),
  fc.option(bytesOf(32).map((key): LinkSpecifier => ({ kind: 'LINK_KEY', key })), { nil: undefined }),
  fc.array(unknownSpec, { maxLength: 3 }),
).chain(([a, b, c, rest]) => {
  const all = [a, b, c, ...rest].filter((s): s is LinkSpecifier => s !== undefined);
  return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
});
const unknownRelayCommand = u8.filter((c) => !(Object.values(RelayCommand) as number[]).includes(c));

const relayArb: fc.Arbitrary<RelayMessage> = fc.oneof(
  record({ streamId, target: record({ host: hostArb, port: fc.integer({ min: 1, max: MAX_U16 }) }) })
    .map((m): RelayMessage => ({ kind: 'BEGIN', ...m })),
  record({ streamId, data: data() }).map((m): RelayMessage => ({ kind: 'DATA', ...m })),
  record({ streamId, reason: u8 }).map((m): RelayMessage => ({ kind: 'END', ...m })),
  streamId.map((id): RelayMessage => ({ kind: 'CONNECTED', streamId: id })),
  record({ streamId: u16, tag: bytesOf(ONION_TAG_LEN) }).map((m): RelayMessage => ({ kind: 'SENDME', version: SENDME_VERSION, ...m })),
  record({ linkSpecifiers, handshakeType: u16, handshakeData: data(200) }).map((m): RelayMessage => ({ kind: 'EXTEND2', ...m })),
  data().map((handshakeData): RelayMessage => ({ kind: 'EXTENDED2', handshakeData })),
  fc.constant<RelayMessage>({ kind: 'TRUNCATE' }),
  u8.map((reason): RelayMessage => ({ kind: 'TRUNCATED', reason })),
  data().map((d): RelayMessage => ({ kind: 'DROP', data: d })),
  fc.tuple(fc.constantFrom(...CHAT_RELAY_COMMANDS), data()).map(([kind, body]) => ({ kind, body }) as RelayMessage),
  record({ command: unknownRelayCommand, streamId: u16, data: data() }).map((m): RelayMessage => ({ kind: 'Unrecognized', ...m })),
);

/** A header whose length field matches its random data (so body parsers get exercised), often for a known command. */
const relayBytes = fc.tuple(
  fc.oneof(fc.constantFrom(...Object.values(RelayCommand)), u8),
  fc.oneof(fc.constant(0), u16),
  fc.uint8Array({ maxLength: 600 }),
).map(([command, id, d]) => Uint8Array.from([command, id >> 8, id & 0xff, d.length >> 8, d.length & 0xff, ...d]));

describe('relay-message codec properties', () => {
  it('any bytes, any maximum: a RelayMessage or a ChiveError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 700 }), u16, (bytes, max) => {
      tryDecode(() => decodeRelayMessage(bytes, max));
    }), RUNS);
    fc.assert(fc.property(relayBytes, (bytes) => {
      tryDecode(() => decodeRelayMessage(bytes, MAX_U16));
    }), { numRuns: 2000 });
  });

  it('the in-cell decoder on any body: a RelayMessage or a ChiveError', () => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), relayBytes), fc.option(u16, { nil: undefined }), (body, max) => {
      tryDecode(() => decodeRelayMessageInCell(body, max));
    }), { numRuns: 2000 });
  });

  it('any accepted bytes re-encode to themselves', () => {
    fc.assert(fc.property(relayBytes, (bytes) => {
      const msg = tryDecode(() => decodeRelayMessage(bytes, MAX_U16));
      if (msg !== undefined) expect(encodeRelayMessage(msg, MAX_U16)).toEqual(bytes);
    }), { numRuns: 2000 });
  });

  it('valid messages with a byte changed, cut or added: a ChiveError, or bytes that re-encode to themselves', () => {
    const edit = fc.tuple(fc.nat(), u8, fc.constantFrom('set', 'cut', 'add'));
    fc.assert(fc.property(relayArb, fc.array(edit, { minLength: 1, maxLength: 3 }), (msg, edits) => {
      let bytes = encodeRelayMessage(msg, MAX_U16);
      for (const [at, value, how] of edits) {
        const i = at % (bytes.length + 1);
        if (how === 'set' && i < bytes.length) bytes[i] = value;
        else if (how === 'cut') bytes = Uint8Array.from([...bytes.subarray(0, i), ...bytes.subarray(i + 1)]);
        else bytes = Uint8Array.from([...bytes.subarray(0, i), value, ...bytes.subarray(i)]);
      }
      const decoded = tryDecode(() => decodeRelayMessage(bytes, MAX_U16));
      if (decoded !== undefined) expect(encodeRelayMessage(decoded, MAX_U16)).toEqual(bytes);
      tryDecode(() => decodeRelayMessageInCell(bytes.subarray(0, IN_CELL_BODY_LEN)));
    }), { numRuns: 2000 });
  });

  it('decode(encode(m)) deep-equals m, and encode(decode(x)) == x', () => {
    fc.assert(fc.property(relayArb, (msg) => {
      const bytes = encodeRelayMessage(msg, MAX_U16);
      const decoded = decodeRelayMessage(bytes, MAX_U16);
      expect(decoded).toStrictEqual(msg);
      expect(encodeRelayMessage(decoded, MAX_U16)).toEqual(bytes);
    }), RUNS);
  });

  it('in a cell body, followed by any padding, m decodes to m', () => {
    fc.assert(fc.property(relayArb, bytesOf(IN_CELL_BODY_LEN), (msg, body) => {
      const bytes = tryDecode(() => encodeRelayMessage(msg));
      if (bytes === undefined) return; // longer than any cell carries: MESSAGE_TOO_LONG, the next property
      body.set(bytes);
      expect(decodeRelayMessageInCell(body)).toStrictEqual(msg);
    }), RUNS);
  });

  it('the default maximum refuses exactly the messages no cell can carry', () => {
    fc.assert(fc.property(relayArb, (msg) => {
      const dataLen = encodeRelayMessage(msg, MAX_U16).length - 5;
      if (dataLen <= MAX_BACKWARD_RELAY_DATA_LEN) expect(encodeRelayMessage(msg).length).toBe(dataLen + 5);
      else expect(thrownChiveError(() => encodeRelayMessage(msg)).code).toBe('MESSAGE_TOO_LONG');
    }), RUNS);
  });
});
