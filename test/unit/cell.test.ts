/**
 * The link cell codec: hex vectors both ways, layouts checked against hand-written bytes,
 * random padding, a typed error for every malformed cell, `Unrecognized` for unknown
 * commands, and the in-place hot-path helpers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/bytes.js';
import { allCryptoProviders } from '../../src/crypto/load.js';
import {
  decodeCell, encodeCell, isKnownCellCommand, readCellCircId, readCellCommand, readCellPayload,
  writeRelayCell, type Cell,
} from '../../src/wire/cell.js';
import {
  CELL_LEN, CELL_PAYLOAD_LEN, CellCommand, DestroyReason, HandshakeType, MAX_CREATE2_HANDSHAKE_LEN,
  MAX_CREATED2_HANDSHAKE_LEN,
} from '../../src/wire/constants.js';
import { expectChiveError, noRng } from '../vectors/wire/assert.js';
import { fixedRng, fromJson, pattern } from '../vectors/wire/support.js';

const vectorFile = JSON.parse(readFileSync(new URL('../vectors/wire/cells.json', import.meta.url), 'utf8')) as {
  vectors: { name: string; cell: unknown; hex: string }[];
};

/** A raw cell: header then `payload` (padded with 0x5a to CELL_PAYLOAD_LEN). */
function rawCell(circId: number, command: number, payload: number[] | Uint8Array = []): Uint8Array {
  const out = new Uint8Array(CELL_LEN).fill(0x5a);
  out.set([circId >>> 24, (circId >>> 16) & 0xff, (circId >>> 8) & 0xff, circId & 0xff, command]);
  out.set(payload, 5);
  return out;
}

function withoutPadding(cell: Cell): Cell {
  const { padding: _padding, ...rest } = cell as Cell & { padding?: Uint8Array };
  return rest as Cell;
}

describe('cell vectors (test/vectors/wire/cells.json)', () => {
  it('covers every cell kind', () => {
    const kinds = new Set(vectorFile.vectors.map((v) => (fromJson(v.cell) as Cell).kind));
    expect([...kinds].sort()).toEqual([...Object.keys(CellCommand), 'Unrecognized'].sort());
  });

  for (const v of vectorFile.vectors) {
    const cell = fromJson(v.cell) as Cell;
    it(`${v.name}: encodes to the vector with the fixed rng`, () => {
      expect(toHex(encodeCell(cell, fixedRng()))).toBe(v.hex);
    });
    it(`${v.name}: decodes from the vector, padding and all, and re-encodes byte for byte`, () => {
      const bytes = fromHex(v.hex);
      const decoded = decodeCell(bytes);
      expect(withoutPadding(decoded)).toEqual(cell);
      if ('padding' in decoded && decoded.padding !== undefined) {
        expect(decoded.padding).toEqual(fixedRng()(decoded.padding.length));
      }
      expect(toHex(encodeCell(decoded, noRng))).toBe(v.hex);
    });
  }
});

describe('cell layouts, by hand', () => {
  it('DESTROY: circ id big-endian, command 4, reason byte', () => {
    const bytes = encodeCell({ kind: 'DESTROY', circId: 0x01020304, reason: DestroyReason.REQUESTED }, fixedRng());
    expect(toHex(bytes.subarray(0, 6))).toBe('010203040403');
    expect(bytes.length).toBe(CELL_LEN);
  });

  it('CREATE2: htype u16 ‖ hlen u16 ‖ hdata, then padding', () => {
    const bytes = encodeCell({ kind: 'CREATE2', circId: 9, handshakeType: 2, handshakeData: new Uint8Array([0xaa, 0xbb]) }, fixedRng());
    expect(toHex(bytes.subarray(0, 11))).toBe('000000090a' + '0002' + '0002' + 'aabb');
  });

  it('CREATED2: hlen u16 ‖ hdata, then padding', () => {
    const bytes = encodeCell({ kind: 'CREATED2', circId: 9, handshakeData: new Uint8Array([0xcc]) }, fixedRng());
    expect(toHex(bytes.subarray(0, 8))).toBe('000000090b' + '0001' + 'cc');
  });

  it('RELAY: the payload verbatim after the header', () => {
    const payload = pattern(CELL_PAYLOAD_LEN, 3);
    const bytes = encodeCell({ kind: 'RELAY', circId: 0xfffffffe, payload }, noRng);
    expect(toHex(bytes.subarray(0, 5))).toBe('fffffffe03');
    expect(bytes.subarray(5)).toEqual(payload);
  });
});

describe('padding is random', () => {
  const requested = (cell: Cell): number[] => {
    const asks: number[] = [];
    encodeCell(cell, (n) => (asks.push(n), new Uint8Array(n).fill(0xee)));
    return asks;
  };

  it('asks the rng for exactly the unused payload bytes', () => {
    expect(requested({ kind: 'PADDING' })).toEqual([CELL_PAYLOAD_LEN]);
    expect(requested({ kind: 'DESTROY', circId: 1, reason: 0 })).toEqual([CELL_PAYLOAD_LEN - 1]);
    expect(requested({ kind: 'CREATE2', circId: 1, handshakeType: 2, handshakeData: pattern(96) })).toEqual([CELL_PAYLOAD_LEN - 4 - 96]);
    expect(requested({ kind: 'CREATED2', circId: 1, handshakeData: pattern(64) })).toEqual([CELL_PAYLOAD_LEN - 2 - 64]);
    expect(requested({ kind: 'CREATE2', circId: 1, handshakeType: 2, handshakeData: pattern(MAX_CREATE2_HANDSHAKE_LEN) })).toEqual([]);
  });

  it('writes the rng bytes as padding', () => {
    const bytes = encodeCell({ kind: 'DESTROY', circId: 1, reason: 0 }, (n) => new Uint8Array(n).fill(0xee));
    expect(bytes.subarray(6).every((b) => b === 0xee)).toBe(true);
  });

  for (const p of allCryptoProviders()) {
    it(`with the ${p.name} provider's randomBytes, padding is neither zeros nor repeated`, () => {
      const a = encodeCell({ kind: 'PADDING' }, (n) => p.randomBytes(n));
      const b = encodeCell({ kind: 'PADDING' }, (n) => p.randomBytes(n));
      expect(a.subarray(5).some((x) => x !== 0)).toBe(true);
      expect(toHex(a)).not.toBe(toHex(b));
    });
  }

  it('keeps the padding of a decoded cell, and refuses padding of the wrong size', () => {
    const bytes = encodeCell({ kind: 'CREATED2', circId: 5, handshakeData: pattern(64) }, fixedRng());
    const decoded = decodeCell(bytes);
    expect(encodeCell(decoded, noRng)).toEqual(bytes);
    if (decoded.kind !== 'CREATED2') throw new Error('expected CREATED2');
    expectChiveError(() => encodeCell({ ...decoded, handshakeData: pattern(65) }, noRng), 'INVALID_ARGUMENT');
  });

  it('refuses an rng that returns the wrong number of bytes', () => {
    expectChiveError(() => encodeCell({ kind: 'PADDING' }, () => new Uint8Array(3)), 'INVALID_ARGUMENT');
  });
});

describe('decodeCell refuses malformed cells with typed errors', () => {
  it('wrong sizes: TRUNCATED when short, OVER_LENGTH when long', () => {
    expectChiveError(() => decodeCell(new Uint8Array(0)), 'TRUNCATED');
    expectChiveError(() => decodeCell(new Uint8Array(CELL_LEN - 1)), 'TRUNCATED');
    expectChiveError(() => decodeCell(new Uint8Array(CELL_LEN + 1)), 'OVER_LENGTH');
    expectChiveError(() => decodeCell(new Uint8Array(2 * CELL_LEN)), 'OVER_LENGTH');
  });

  it('PADDING on a circuit, and circuit cells on circuit 0: BAD_CELL', () => {
    expectChiveError(() => decodeCell(rawCell(1, CellCommand.PADDING)), 'BAD_CELL');
    for (const command of [CellCommand.RELAY, CellCommand.DESTROY, CellCommand.CREATE2, CellCommand.CREATED2]) {
      expectChiveError(() => decodeCell(rawCell(0, command, [0, 2, 0, 0])), 'BAD_CELL');
    }
  });

  it('handshake lengths past the payload: OVER_LENGTH; the largest that fit decode', () => {
    const hlen = (n: number) => [n >>> 8, n & 0xff];
    expectChiveError(() => decodeCell(rawCell(1, CellCommand.CREATE2, [0, 2, ...hlen(MAX_CREATE2_HANDSHAKE_LEN + 1)])), 'OVER_LENGTH');
    expectChiveError(() => decodeCell(rawCell(1, CellCommand.CREATE2, [0, 2, 0xff, 0xff])), 'OVER_LENGTH');
    expectChiveError(() => decodeCell(rawCell(1, CellCommand.CREATED2, hlen(MAX_CREATED2_HANDSHAKE_LEN + 1))), 'OVER_LENGTH');
    const create2 = decodeCell(rawCell(1, CellCommand.CREATE2, [0, 2, ...hlen(MAX_CREATE2_HANDSHAKE_LEN)]));
    expect(create2.kind === 'CREATE2' && create2.handshakeData.length).toBe(MAX_CREATE2_HANDSHAKE_LEN);
    const created2 = decodeCell(rawCell(1, CellCommand.CREATED2, hlen(MAX_CREATED2_HANDSHAKE_LEN)));
    expect(created2.kind === 'CREATED2' && created2.handshakeData.length).toBe(MAX_CREATED2_HANDSHAKE_LEN);
  });

  it('every unknown command decodes to Unrecognized, payload kept whole, on any circuit', () => {
    let unknown = 0;
    for (let command = 0; command < 256; command++) {
      if (isKnownCellCommand(command)) continue;
      unknown++;
      const bytes = rawCell(command, command, pattern(CELL_PAYLOAD_LEN, command));
      expect(decodeCell(bytes)).toEqual({ kind: 'Unrecognized', circId: command, command, payload: pattern(CELL_PAYLOAD_LEN, command) });
    }
    expect(unknown).toBe(256 - Object.keys(CellCommand).length);
  });

  it('decodes CREATE2 of any handshake type (the state machine judges it)', () => {
    const decoded = decodeCell(rawCell(3, CellCommand.CREATE2, [0xbe, 0xef, 0, 1, 0x42]));
    expect(withoutPadding(decoded)).toEqual({ kind: 'CREATE2', circId: 3, handshakeType: 0xbeef, handshakeData: new Uint8Array([0x42]) });
  });
});

describe('encodeCell refuses malformed cells', () => {
  const rng = fixedRng();
  it.each<[string, Cell, string]>([
    ['RELAY on circuit 0', { kind: 'RELAY', circId: 0, payload: new Uint8Array(CELL_PAYLOAD_LEN) }, 'INVALID_ARGUMENT'],
    ['circuit id past u32', { kind: 'DESTROY', circId: 2 ** 32, reason: 0 }, 'INVALID_ARGUMENT'],
    ['negative circuit id', { kind: 'CREATED2', circId: -1, handshakeData: new Uint8Array(0) }, 'INVALID_ARGUMENT'],
    ['short RELAY payload', { kind: 'RELAY', circId: 1, payload: new Uint8Array(CELL_PAYLOAD_LEN - 1) }, 'INVALID_ARGUMENT'],
    ['DESTROY reason past u8', { kind: 'DESTROY', circId: 1, reason: 256 }, 'INVALID_ARGUMENT'],
    ['CREATE2 htype past u16', { kind: 'CREATE2', circId: 1, handshakeType: 0x10000, handshakeData: new Uint8Array(0) }, 'INVALID_ARGUMENT'],
    ['CREATE2 handshake too long', { kind: 'CREATE2', circId: 1, handshakeType: HandshakeType.NTOR, handshakeData: new Uint8Array(MAX_CREATE2_HANDSHAKE_LEN + 1) }, 'MESSAGE_TOO_LONG'],
    ['CREATED2 handshake too long', { kind: 'CREATED2', circId: 1, handshakeData: new Uint8Array(MAX_CREATED2_HANDSHAKE_LEN + 1) }, 'MESSAGE_TOO_LONG'],
    ['Unrecognized with a known command', { kind: 'Unrecognized', circId: 1, command: CellCommand.RELAY, payload: new Uint8Array(CELL_PAYLOAD_LEN) }, 'INVALID_ARGUMENT'],
    ['Unrecognized with a short payload', { kind: 'Unrecognized', circId: 1, command: 99, payload: new Uint8Array(3) }, 'INVALID_ARGUMENT'],
    ['PADDING with a short padding', { kind: 'PADDING', padding: new Uint8Array(1) }, 'INVALID_ARGUMENT'],
  ])('%s', (_name, cell, code) => {
    expectChiveError(() => encodeCell(cell, rng), code as 'INVALID_ARGUMENT');
  });

  it('refuses a target buffer without room at the offset', () => {
    expectChiveError(() => encodeCell({ kind: 'PADDING' }, rng, new Uint8Array(CELL_LEN), 1), 'INVALID_ARGUMENT');
    expectChiveError(() => encodeCell({ kind: 'PADDING' }, rng, new Uint8Array(CELL_LEN - 1)), 'INVALID_ARGUMENT');
  });
});

describe('hot-path helpers', () => {
  const frame = new Uint8Array(3 * CELL_LEN + 7);
  const cells: Cell[] = [
    { kind: 'RELAY', circId: 0xdeadbeef, payload: pattern(CELL_PAYLOAD_LEN, 1) },
    { kind: 'DESTROY', circId: 42, reason: DestroyReason.FINISHED },
    { kind: 'PADDING' },
  ];
  cells.forEach((c, i) => encodeCell(c, fixedRng(), frame, 7 + i * CELL_LEN));

  it('read circuit id, command and payload in place', () => {
    expect(readCellCircId(frame, 7)).toBe(0xdeadbeef);
    expect(readCellCommand(frame, 7)).toBe(CellCommand.RELAY);
    expect(readCellPayload(frame, 7)).toEqual(pattern(CELL_PAYLOAD_LEN, 1));
    expect(readCellCircId(frame, 7 + CELL_LEN)).toBe(42);
    expect(readCellCommand(frame, 7 + CELL_LEN)).toBe(CellCommand.DESTROY);
    expect(readCellCircId(frame, 7 + 2 * CELL_LEN)).toBe(0);
    expect(readCellCommand(frame, 7 + 2 * CELL_LEN)).toBe(CellCommand.PADDING);
  });

  it('encodeCell at an offset touches only its 514 bytes', () => {
    const out = new Uint8Array(CELL_LEN + 20).fill(0x77);
    const view = encodeCell({ kind: 'DESTROY', circId: 1, reason: 1 }, fixedRng(), out, 10);
    expect(view.byteOffset - out.byteOffset).toBe(10);
    expect(out.subarray(0, 10).every((b) => b === 0x77)).toBe(true);
    expect(out.subarray(10 + CELL_LEN).every((b) => b === 0x77)).toBe(true);
  });

  it('writeRelayCell writes a cell decodeCell reads back', () => {
    const out = new Uint8Array(CELL_LEN + 3);
    writeRelayCell(out, 3, 77, pattern(CELL_PAYLOAD_LEN, 9));
    expect(decodeCell(out.subarray(3))).toEqual({ kind: 'RELAY', circId: 77, payload: pattern(CELL_PAYLOAD_LEN, 9) });
  });

  it('refuse buffers too short for what they read or write', () => {
    expectChiveError(() => readCellCircId(frame, frame.length - 3), 'TRUNCATED');
    expectChiveError(() => readCellCommand(frame, frame.length - 4), 'TRUNCATED');
    expectChiveError(() => readCellPayload(frame, frame.length - CELL_LEN + 1), 'TRUNCATED');
    expectChiveError(() => readCellCircId(frame, -1), 'TRUNCATED');
    expectChiveError(() => writeRelayCell(new Uint8Array(CELL_LEN), 1, 1, new Uint8Array(CELL_PAYLOAD_LEN)), 'INVALID_ARGUMENT');
    expectChiveError(() => writeRelayCell(new Uint8Array(CELL_LEN), 0, 0, new Uint8Array(CELL_PAYLOAD_LEN)), 'INVALID_ARGUMENT');
    expectChiveError(() => writeRelayCell(new Uint8Array(CELL_LEN), 0, 1, new Uint8Array(CELL_PAYLOAD_LEN + 1)), 'INVALID_ARGUMENT');
  });
});
