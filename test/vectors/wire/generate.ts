/**
 * Regenerates cells.json and relay-messages.json in this folder from the definitions below,
 * using chive's own encoders and `fixedRng` for padding:
 *
 *     npx tsx test/vectors/wire/generate.ts
 *
 * Self-generated vectors pin the format (any change to a layout shows up as a diff to
 * review); they are not an independent reference. test/unit/cell.test.ts and
 * test/unit/relay-message.test.ts also check a few layouts against bytes written by hand.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toHex, utf8 } from '../../../src/bytes.js';
import { encodeCell, type Cell } from '../../../src/wire/cell.js';
import { DestroyReason, EndReason, HandshakeType, SENDME_VERSION } from '../../../src/wire/constants.js';
import { CHAT_RELAY_COMMANDS, encodeRelayMessage, type RelayMessage } from '../../../src/wire/relay-message.js';
import { fixedRng, pattern, toJson, VECTOR_RNG_SEED } from './support.js';

export const CELL_VECTORS: { name: string; cell: Cell }[] = [
  { name: 'PADDING', cell: { kind: 'PADDING' } },
  { name: 'RELAY', cell: { kind: 'RELAY', circId: 0x8000_0001, payload: pattern(509, 0, 7) } },
  { name: 'DESTROY (PROTOCOL)', cell: { kind: 'DESTROY', circId: 1, reason: DestroyReason.PROTOCOL } },
  {
    name: 'CREATE2 (ntor onionskin)',
    cell: { kind: 'CREATE2', circId: 0x1234_5678, handshakeType: HandshakeType.NTOR, handshakeData: pattern(96, 0x10) },
  },
  {
    name: 'CREATE2 (largest handshake, no padding)',
    cell: { kind: 'CREATE2', circId: 0xffff_ffff, handshakeType: 0xabcd, handshakeData: pattern(505, 0x80, 3) },
  },
  { name: 'CREATED2 (ntor reply)', cell: { kind: 'CREATED2', circId: 0x1234_5678, handshakeData: pattern(64, 0xa0) } },
  { name: 'CREATED2 (empty)', cell: { kind: 'CREATED2', circId: 2, handshakeData: new Uint8Array(0) } },
  { name: 'Unrecognized (command 200)', cell: { kind: 'Unrecognized', circId: 7, command: 200, payload: pattern(509, 0xff, 5) } },
];

export const RELAY_VECTORS: { name: string; message: RelayMessage }[] = [
  { name: 'BEGIN host name', message: { kind: 'BEGIN', streamId: 1, target: { host: 'example.com', port: 443 } } },
  { name: 'BEGIN IPv4', message: { kind: 'BEGIN', streamId: 0x0102, target: { host: '127.0.0.1', port: 9001 } } },
  { name: 'BEGIN IPv6', message: { kind: 'BEGIN', streamId: 0xffff, target: { host: '[::1]', port: 65535 } } },
  { name: 'DATA', message: { kind: 'DATA', streamId: 1, data: utf8('hello, chive') } },
  { name: 'DATA (empty)', message: { kind: 'DATA', streamId: 9, data: new Uint8Array(0) } },
  { name: 'END (DONE)', message: { kind: 'END', streamId: 1, reason: EndReason.DONE } },
  { name: 'CONNECTED', message: { kind: 'CONNECTED', streamId: 1 } },
  {
    name: 'SENDME (circuit)',
    message: { kind: 'SENDME', streamId: 0, version: SENDME_VERSION, tag: pattern(16, 0x40) },
  },
  {
    name: 'SENDME (stream)',
    message: { kind: 'SENDME', streamId: 5, version: SENDME_VERSION, tag: pattern(16, 0x50) },
  },
  {
    name: 'EXTEND2',
    message: {
      kind: 'EXTEND2',
      linkSpecifiers: [
        { kind: 'WS_URL', url: 'ws://127.0.0.1:9002' },
        { kind: 'ED25519_ID', key: pattern(32, 0x20) },
        { kind: 'LINK_KEY', key: pattern(32, 0x60) },
        { kind: 'Unrecognized', type: 0x7f, body: utf8('future') },
      ],
      handshakeType: HandshakeType.NTOR,
      handshakeData: pattern(96, 0x10),
    },
  },
  { name: 'EXTENDED2', message: { kind: 'EXTENDED2', handshakeData: pattern(64, 0xa0) } },
  { name: 'TRUNCATE', message: { kind: 'TRUNCATE' } },
  { name: 'TRUNCATED (CONNECT_FAILED)', message: { kind: 'TRUNCATED', reason: DestroyReason.CONNECT_FAILED } },
  { name: 'DROP', message: { kind: 'DROP', data: pattern(20, 0xd0) } },
  ...CHAT_RELAY_COMMANDS.map((kind) => ({
    name: `${kind} (opaque body)`,
    message: { kind, body: utf8(`${kind.toLowerCase()} body`) } as RelayMessage,
  })),
  { name: 'Unrecognized (command 99)', message: { kind: 'Unrecognized', command: 99, streamId: 3, data: pattern(6, 0xee) } },
];

function main(): void {
  const here = dirname(fileURLToPath(import.meta.url));
  const rngNote = `padding: fixedRng(0x${VECTOR_RNG_SEED.toString(16)}) restarted per vector (test/vectors/wire/support.ts)`;
  const cells = CELL_VECTORS.map(({ name, cell }) => ({
    name, cell: toJson(cell), hex: toHex(encodeCell(cell, fixedRng())),
  }));
  const relay = RELAY_VECTORS.map(({ name, message }) => ({
    name, message: toJson(message), hex: toHex(encodeRelayMessage(message)),
  }));
  writeFileSync(join(here, 'cells.json'), JSON.stringify({ generator: 'test/vectors/wire/generate.ts', rng: rngNote, vectors: cells }, null, 2) + '\n');
  writeFileSync(join(here, 'relay-messages.json'), JSON.stringify({ generator: 'test/vectors/wire/generate.ts', vectors: relay }, null, 2) + '\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
