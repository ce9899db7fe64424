/**
 * The link cell codec: the fixed-size unit every link carries.
 *
 * A cell is CELL_LEN = 514 bytes: circuit id (u32 BE) ‖ command (u8) ‖ payload
 * (CELL_PAYLOAD_LEN = 509). `decodeCell` turns exactly CELL_LEN bytes into a `Cell`, a
 * union on `kind` (the CellCommand name, or `Unrecognized` for codes we do not know, which
 * the link state machine refuses); `encodeCell` writes one back. Every byte of a payload
 * not taken by a field is padding, and padding is random (from the injected `Rng`), never
 * zeros. A decoded cell keeps its padding (`padding`), so encodeCell(decodeCell(x)) == x;
 * a cell built to be sent leaves `padding` out and gets fresh random bytes.
 *
 * Decoded cells hold views into the input (zero copy): copy what you keep past the life of
 * the buffer. The hot-path helpers (`readCellCircId`, `readCellCommand`, `readCellPayload`,
 * `writeRelayCell`) read and write a cell in place in a larger buffer without allocating.
 *
 * Not here: link encryption and framing (the Noise link), onion layers (the RELAY payload
 * is opaque at this level), and which cells are allowed in which state.
 */
import type { Rng } from '../crypto/provider.js';
import { ChiveError } from '../errors.js';
import {
  CELL_COMMAND_LEN, CELL_LEN, CELL_PAYLOAD_LEN, CIRC_ID_LEN, CellCommand, CREATE2_HEADER_LEN,
  CREATED2_HEADER_LEN, MAX_CREATE2_HANDSHAKE_LEN, MAX_CREATED2_HANDSHAKE_LEN,
} from './constants.js';

/** Offset of the command byte, and of the payload, inside a cell. */
const COMMAND_OFFSET = CIRC_ID_LEN;
const PAYLOAD_OFFSET = CIRC_ID_LEN + CELL_COMMAND_LEN;
const MAX_CIRC_ID = 0xffff_ffff;

/** Link padding (circuit id 0); the receiver ignores it. The whole payload is padding. */
export interface PaddingCell {
  readonly kind: 'PADDING';
  readonly padding?: Uint8Array;
}
/** An onion-encrypted relay cell; `payload` is all CELL_PAYLOAD_LEN bytes (a view when decoded). */
export interface RelayCell {
  readonly kind: 'RELAY';
  readonly circId: number;
  readonly payload: Uint8Array;
}
/** Tear down a circuit: reason (u8, a DestroyReason) ‖ padding. */
export interface DestroyCell {
  readonly kind: 'DESTROY';
  readonly circId: number;
  readonly reason: number;
  readonly padding?: Uint8Array;
}
/** Create a circuit: handshake type (u16) ‖ length (u16) ‖ handshake data ‖ padding. */
export interface Create2Cell {
  readonly kind: 'CREATE2';
  readonly circId: number;
  readonly handshakeType: number;
  readonly handshakeData: Uint8Array;
  readonly padding?: Uint8Array;
}
/** Reply to CREATE2: length (u16) ‖ handshake data ‖ padding. */
export interface Created2Cell {
  readonly kind: 'CREATED2';
  readonly circId: number;
  readonly handshakeData: Uint8Array;
  readonly padding?: Uint8Array;
}
/** A command code chive does not know; kept whole so the caller can report and refuse it. */
export interface UnrecognizedCell {
  readonly kind: 'Unrecognized';
  readonly circId: number;
  readonly command: number;
  readonly payload: Uint8Array;
}

export type Cell = PaddingCell | RelayCell | DestroyCell | Create2Cell | Created2Cell | UnrecognizedCell;
export type CellKind = Cell['kind'];

const KNOWN_CELL_COMMANDS: ReadonlySet<number> = new Set(Object.values(CellCommand));

/** True when `command` is a CellCommand code chive knows. */
export function isKnownCellCommand(command: number): boolean {
  return KNOWN_CELL_COMMANDS.has(command);
}

// ---------------------------------------------------------------------------------------
// Hot-path helpers: a cell at `off` inside a larger buffer, no allocation
// ---------------------------------------------------------------------------------------

function needCellHeader(buf: Uint8Array, off: number, n: number): void {
  if (!Number.isInteger(off) || off < 0 || off + n > buf.length) {
    throw new ChiveError('TRUNCATED', `cell at offset ${off}: buffer of ${buf.length} bytes is too short`);
  }
}

/** The circuit id of the cell starting at `buf[off]`. */
export function readCellCircId(buf: Uint8Array, off: number): number {
  needCellHeader(buf, off, CIRC_ID_LEN);
  return buf[off]! * 0x100_0000 + ((buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!);
}

/** The command byte of the cell starting at `buf[off]`. */
export function readCellCommand(buf: Uint8Array, off: number): number {
  needCellHeader(buf, off, PAYLOAD_OFFSET);
  return buf[off + COMMAND_OFFSET]!;
}

/** A view of the CELL_PAYLOAD_LEN payload bytes of the cell starting at `buf[off]`. */
export function readCellPayload(buf: Uint8Array, off: number): Uint8Array {
  needCellHeader(buf, off, CELL_LEN);
  return buf.subarray(off + PAYLOAD_OFFSET, off + CELL_LEN);
}

/** Writes a RELAY cell (circuit id ≠ 0, a full CELL_PAYLOAD_LEN payload) at `out[off]`. */
export function writeRelayCell(out: Uint8Array, off: number, circId: number, payload: Uint8Array): void {
  checkTarget(out, off);
  checkCircId(circId, 'RELAY', false);
  if (payload.length !== CELL_PAYLOAD_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `RELAY payload must be ${CELL_PAYLOAD_LEN} bytes, got ${payload.length}`);
  }
  writeHeader(out, off, circId, CellCommand.RELAY);
  out.set(payload, off + PAYLOAD_OFFSET);
}

// ---------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------

/** Decodes exactly one CELL_LEN-byte cell (TRUNCATED if shorter, OVER_LENGTH if longer). */
export function decodeCell(bytes: Uint8Array): Cell {
  if (bytes.length < CELL_LEN) {
    throw new ChiveError('TRUNCATED', `cell: ${bytes.length} bytes, a cell is ${CELL_LEN}`);
  }
  if (bytes.length > CELL_LEN) {
    throw new ChiveError('OVER_LENGTH', `cell: ${bytes.length} bytes, a cell is ${CELL_LEN}`);
  }
  const circId = readCellCircId(bytes, 0);
  const command = bytes[COMMAND_OFFSET]!;
  const payload = bytes.subarray(PAYLOAD_OFFSET);
  switch (command) {
    case CellCommand.PADDING:
      if (circId !== 0) throw new ChiveError('BAD_CELL', `PADDING cell on circuit ${circId}; must be 0`);
      return { kind: 'PADDING', padding: payload };
    case CellCommand.RELAY:
      requireCircuit(circId, 'RELAY');
      return { kind: 'RELAY', circId, payload };
    case CellCommand.DESTROY:
      requireCircuit(circId, 'DESTROY');
      return { kind: 'DESTROY', circId, reason: payload[0]!, padding: payload.subarray(1) };
    case CellCommand.CREATE2: {
      requireCircuit(circId, 'CREATE2');
      const handshakeType = u16At(payload, 0);
      const end = handshakeEnd(payload, 2, CREATE2_HEADER_LEN, MAX_CREATE2_HANDSHAKE_LEN, 'CREATE2');
      return {
        kind: 'CREATE2', circId, handshakeType,
        handshakeData: payload.subarray(CREATE2_HEADER_LEN, end), padding: payload.subarray(end),
      };
    }
    case CellCommand.CREATED2: {
      requireCircuit(circId, 'CREATED2');
      const end = handshakeEnd(payload, 0, CREATED2_HEADER_LEN, MAX_CREATED2_HANDSHAKE_LEN, 'CREATED2');
      return {
        kind: 'CREATED2', circId,
        handshakeData: payload.subarray(CREATED2_HEADER_LEN, end), padding: payload.subarray(end),
      };
    }
    default:
      return { kind: 'Unrecognized', circId, command, payload };
  }
}

function u16At(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}

/** End offset of the handshake data whose u16 length sits at `lenOff`; OVER_LENGTH past `max`. */
function handshakeEnd(payload: Uint8Array, lenOff: number, headerLen: number, max: number, what: string): number {
  const len = u16At(payload, lenOff);
  if (len > max) {
    throw new ChiveError('OVER_LENGTH', `${what}: handshake length ${len} exceeds ${max}`);
  }
  return headerLen + len;
}

function requireCircuit(circId: number, what: string): void {
  if (circId === 0) throw new ChiveError('BAD_CELL', `${what} cell on circuit 0; needs a circuit id`);
}

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

/**
 * Writes `cell` as CELL_LEN bytes into `out` at `offset` (a new buffer when `out` is
 * omitted) and returns a view of those bytes. Unused payload bytes are the cell's own
 * `padding` when it has one (it must fit exactly), else fresh bytes from `rng`.
 */
export function encodeCell(cell: Cell, rng: Rng, out?: Uint8Array, offset = 0): Uint8Array {
  const target = out ?? new Uint8Array(CELL_LEN);
  checkTarget(target, offset);
  const p = offset + PAYLOAD_OFFSET;
  switch (cell.kind) {
    case 'PADDING':
      writeHeader(target, offset, 0, CellCommand.PADDING);
      writePadding(target, p, CELL_PAYLOAD_LEN, cell.padding, rng);
      break;
    case 'RELAY':
      writeRelayCell(target, offset, cell.circId, cell.payload);
      break;
    case 'DESTROY':
      checkCircId(cell.circId, 'DESTROY', false);
      checkUint(cell.reason, 0xff, 'DESTROY reason');
      writeHeader(target, offset, cell.circId, CellCommand.DESTROY);
      target[p] = cell.reason;
      writePadding(target, p + 1, CELL_PAYLOAD_LEN - 1, cell.padding, rng);
      break;
    case 'CREATE2': {
      checkCircId(cell.circId, 'CREATE2', false);
      checkUint(cell.handshakeType, 0xffff, 'CREATE2 handshake type');
      const len = checkHandshake(cell.handshakeData, MAX_CREATE2_HANDSHAKE_LEN, 'CREATE2');
      writeHeader(target, offset, cell.circId, CellCommand.CREATE2);
      writeU16(target, p, cell.handshakeType);
      writeU16(target, p + 2, len);
      target.set(cell.handshakeData, p + CREATE2_HEADER_LEN);
      const used = CREATE2_HEADER_LEN + len;
      writePadding(target, p + used, CELL_PAYLOAD_LEN - used, cell.padding, rng);
      break;
    }
    case 'CREATED2': {
      checkCircId(cell.circId, 'CREATED2', false);
      const len = checkHandshake(cell.handshakeData, MAX_CREATED2_HANDSHAKE_LEN, 'CREATED2');
      writeHeader(target, offset, cell.circId, CellCommand.CREATED2);
      writeU16(target, p, len);
      target.set(cell.handshakeData, p + CREATED2_HEADER_LEN);
      const used = CREATED2_HEADER_LEN + len;
      writePadding(target, p + used, CELL_PAYLOAD_LEN - used, cell.padding, rng);
      break;
    }
    case 'Unrecognized':
      checkCircId(cell.circId, 'Unrecognized', true);
      checkUint(cell.command, 0xff, 'cell command');
      if (isKnownCellCommand(cell.command)) {
        throw new ChiveError('INVALID_ARGUMENT', `command ${cell.command} is known; build that cell kind instead`);
      }
      if (cell.payload.length !== CELL_PAYLOAD_LEN) {
        throw new ChiveError('INVALID_ARGUMENT', `cell payload must be ${CELL_PAYLOAD_LEN} bytes, got ${cell.payload.length}`);
      }
      writeHeader(target, offset, cell.circId, cell.command);
      target.set(cell.payload, p);
      break;
    default: {
      const unknown: never = cell;
      throw new ChiveError('INVALID_ARGUMENT', `not a cell: ${JSON.stringify((unknown as { kind?: unknown }).kind)}`);
    }
  }
  return target.subarray(offset, offset + CELL_LEN);
}

function checkTarget(out: Uint8Array, off: number): void {
  if (!Number.isInteger(off) || off < 0 || off + CELL_LEN > out.length) {
    throw new ChiveError('INVALID_ARGUMENT', `no room for a ${CELL_LEN}-byte cell at offset ${off} of ${out.length}`);
  }
}

function checkCircId(circId: number, what: string, zeroAllowed: boolean): void {
  checkUint(circId, MAX_CIRC_ID, `${what} circuit id`);
  if (circId === 0 && !zeroAllowed) {
    throw new ChiveError('INVALID_ARGUMENT', `${what} cell needs a circuit id other than 0`);
  }
}

function checkUint(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new ChiveError('INVALID_ARGUMENT', `${what} out of range: ${v}`);
  }
}

function checkHandshake(data: Uint8Array, max: number, what: string): number {
  if (data.length > max) {
    throw new ChiveError('MESSAGE_TOO_LONG', `${what}: handshake data of ${data.length} bytes exceeds ${max}`);
  }
  return data.length;
}

function writeHeader(out: Uint8Array, off: number, circId: number, command: number): void {
  out[off] = circId >>> 24;
  out[off + 1] = (circId >>> 16) & 0xff;
  out[off + 2] = (circId >>> 8) & 0xff;
  out[off + 3] = circId & 0xff;
  out[off + COMMAND_OFFSET] = command;
}

function writeU16(out: Uint8Array, off: number, v: number): void {
  out[off] = v >>> 8;
  out[off + 1] = v & 0xff;
}

/** Fills `n` bytes at `out[off]` with `given` (which must be exactly `n` bytes) or `rng(n)`. */
function writePadding(out: Uint8Array, off: number, n: number, given: Uint8Array | undefined, rng: Rng): void {
  if (given !== undefined) {
    if (given.length !== n) {
      throw new ChiveError('INVALID_ARGUMENT', `cell padding must be ${n} bytes here, got ${given.length}; omit it for fresh padding`);
    }
    out.set(given, off);
    return;
  }
  if (n === 0) return;
  const random = rng(n);
  if (random.length !== n) {
    throw new ChiveError('INVALID_ARGUMENT', `rng returned ${random.length} bytes, asked for ${n}`);
  }
  out.set(random, off);
}
