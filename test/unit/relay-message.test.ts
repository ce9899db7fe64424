/**
 * The relay-message codec and EXTEND2 link specifiers: hex vectors both ways, layouts
 * against hand-written bytes, room per hop, a typed error for every malformed message
 * (short, long, bad inner lengths, bad port / host / UTF-8, wrong stream id, trailing
 * bytes), `Unrecognized` for unknown codes, and the in-cell decoder's tolerated tail.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../../src/bytes.js';
import {
  CELL_PAYLOAD_LEN, MAX_BACKWARD_RELAY_DATA_LEN, MAX_HOPS, ONION_BODY_LEN,
  RelayCommand, SENDME_VERSION,
} from '../../src/wire/constants.js';
import { extendTargetOf, linkSpecifiersFor } from '../../src/wire/link-specifiers.js';
import {
  decodeRelayMessage, decodeRelayMessageInCell, encodeRelayMessage, maxRelayDataLen, relayMessageStreamId,
  writeRelayMessage, type RelayMessage,
} from '../../src/wire/relay-message.js';
import { expectChiveError } from '../vectors/wire/assert.js';
import { fixedRng, fromJson, pattern } from '../vectors/wire/support.js';

const MAX = MAX_BACKWARD_RELAY_DATA_LEN;
const vectorFile = JSON.parse(readFileSync(new URL('../vectors/wire/relay-messages.json', import.meta.url), 'utf8')) as {
  vectors: { name: string; message: unknown; hex: string }[];
};

/** command ‖ stream id ‖ length (of `data`) ‖ data. */
function raw(command: number, streamId: number, data: number[] | Uint8Array = []): Uint8Array {
  const d = Uint8Array.from(data);
  return Uint8Array.from([command, streamId >>> 8, streamId & 0xff, d.length >>> 8, d.length & 0xff, ...d]);
}
const decode = (bytes: Uint8Array) => decodeRelayMessage(bytes, MAX);
const key32 = [...pattern(32)];

describe('relay-message vectors (test/vectors/wire/relay-messages.json)', () => {
  it('covers every relay command and Unrecognized', () => {
    const kinds = new Set(vectorFile.vectors.map((v) => (fromJson(v.message) as RelayMessage).kind));
    expect([...kinds].sort()).toEqual([...Object.keys(RelayCommand), 'Unrecognized'].sort());
  });
  for (const v of vectorFile.vectors) {
    const message = fromJson(v.message) as RelayMessage;
    it(`${v.name}: encode → vector, decode → message, re-encode → same bytes`, () => {
      expect(toHex(encodeRelayMessage(message))).toBe(v.hex);
      const decoded = decode(fromHex(v.hex));
      expect(decoded).toStrictEqual(message);
      expect(toHex(encodeRelayMessage(decoded))).toBe(v.hex);
    });
  }
});

describe('layouts, by hand', () => {
  it('BEGIN: port u16 ‖ host length u8 ‖ host', () => {
    expect(toHex(encodeRelayMessage({ kind: 'BEGIN', streamId: 0x0102, target: { host: 'a.b', port: 80 } })))
      .toBe('01' + '0102' + '0006' + '0050' + '03' + toHex(utf8('a.b')));
  });
  it('SENDME: version u8 ‖ tag length u16 ‖ tag', () => {
    expect(toHex(encodeRelayMessage({ kind: 'SENDME', streamId: 0, version: SENDME_VERSION, tag: new Uint8Array(16).fill(0xab) })))
      .toBe('05' + '0000' + '0013' + '01' + '0010' + 'ab'.repeat(16));
  });
  it('EXTEND2: count ‖ (type ‖ len ‖ body)* ‖ htype u16 ‖ hlen u16 ‖ hdata', () => {
    const msg: RelayMessage = { kind: 'EXTEND2', linkSpecifiers: [{ kind: 'ED25519_ID', key: new Uint8Array(32).fill(1) }], handshakeType: 2, handshakeData: new Uint8Array([9]) };
    expect(toHex(encodeRelayMessage(msg))).toBe('0e' + '0000' + '0028' + '01' + '02' + '20' + '01'.repeat(32) + '0002' + '0001' + '09');
  });
  it('relayMessageStreamId: 0 for circuit commands', () => {
    expect(relayMessageStreamId({ kind: 'TRUNCATE' })).toBe(0);
    expect(relayMessageStreamId({ kind: 'DATA', streamId: 7, data: new Uint8Array(0) })).toBe(7);
  });
});

describe('room for data', () => {
  it('maxRelayDataLen(hops) = P − hops·T − marker − header', () => {
    expect(maxRelayDataLen(3)).toBe(452);
    expect(maxRelayDataLen(1)).toBe(MAX_BACKWARD_RELAY_DATA_LEN);
    expect(MAX_BACKWARD_RELAY_DATA_LEN).toBe(484);
    for (let h = 1; h <= MAX_HOPS; h++) expect(maxRelayDataLen(h)).toBe(CELL_PAYLOAD_LEN - h * 16 - 4 - 5);
  });
  it('refuses impossible hop counts with BAD_HOP', () => {
    for (const h of [0, -1, MAX_HOPS + 1, 1.5, Number.NaN]) expectChiveError(() => maxRelayDataLen(h), 'BAD_HOP');
  });
  it('encode: data of exactly the room fits, one more byte is MESSAGE_TOO_LONG', () => {
    const room = maxRelayDataLen(3);
    expect(encodeRelayMessage({ kind: 'DATA', streamId: 1, data: new Uint8Array(room) }, room).length).toBe(room + 5);
    expectChiveError(() => encodeRelayMessage({ kind: 'DATA', streamId: 1, data: new Uint8Array(room + 1) }, room), 'MESSAGE_TOO_LONG');
    expectChiveError(() => encodeRelayMessage({ kind: 'DROP', data: new Uint8Array(MAX + 1) }), 'MESSAGE_TOO_LONG');
    expectChiveError(() => encodeRelayMessage({ kind: 'DROP', data: new Uint8Array(0) }, -1), 'INVALID_ARGUMENT');
  });
});

describe('strict decoder: framing errors', () => {
  it('TRUNCATED: short header, data shorter than its length', () => {
    expectChiveError(() => decode(new Uint8Array(0)), 'TRUNCATED');
    expectChiveError(() => decode(new Uint8Array([2, 0, 1, 0])), 'TRUNCATED');
    expectChiveError(() => decode(raw(2, 1, [1, 2, 3]).subarray(0, 7)), 'TRUNCATED');
  });
  it('TRAILING_BYTES: anything after the message', () => {
    expectChiveError(() => decode(Uint8Array.from([...raw(2, 1, [1, 2]), 0])), 'TRAILING_BYTES');
  });
  it('OVER_LENGTH: length field or input past the maximum', () => {
    expectChiveError(() => decodeRelayMessage(raw(2, 1, new Uint8Array(11)), 10), 'OVER_LENGTH');
    expectChiveError(() => decodeRelayMessage(Uint8Array.from([2, 0, 1, 0xff, 0xff]), 10), 'OVER_LENGTH');
    expectChiveError(() => decode(new Uint8Array(MAX + 6)), 'OVER_LENGTH');
  });
  it('every unknown command decodes to Unrecognized on any stream', () => {
    const known = new Set<number>(Object.values(RelayCommand));
    let n = 0;
    for (let command = 0; command < 256; command++) {
      if (known.has(command)) continue;
      n++;
      expect(decode(raw(command, command, [7, 7]))).toStrictEqual({ kind: 'Unrecognized', command, streamId: command, data: new Uint8Array([7, 7]) });
    }
    expect(n).toBe(256 - Object.keys(RelayCommand).length);
  });
});

describe('in-cell decoder: the message is a prefix of the body', () => {
  const bodyLen = ONION_BODY_LEN;
  const body = (msg: Uint8Array) => {
    const b = fixedRng()(bodyLen);
    b.set(msg);
    return b;
  };
  it('ignores the padding after the message', () => {
    const msg: RelayMessage = { kind: 'DATA', streamId: 4, data: utf8('hi') };
    expect(decodeRelayMessageInCell(body(encodeRelayMessage(msg)))).toStrictEqual(msg);
    const full: RelayMessage = { kind: 'DROP', data: pattern(MAX) };
    expect(decodeRelayMessageInCell(body(encodeRelayMessage(full)))).toStrictEqual(full);
  });
  it('refuses a length past the body, the cap, or a body of the wrong size', () => {
    expectChiveError(() => decodeRelayMessageInCell(body(Uint8Array.from([2, 0, 1, 0x01, 0xe5]))), 'OVER_LENGTH'); // 485
    expectChiveError(() => decodeRelayMessageInCell(Uint8Array.from([2, 0, 1, 0, 3, 1, 2]), 3), 'TRUNCATED');
    expectChiveError(() => decodeRelayMessageInCell(body(raw(2, 1, new Uint8Array(453))), maxRelayDataLen(3)), 'OVER_LENGTH');
    expectChiveError(() => decodeRelayMessageInCell(new Uint8Array(4)), 'TRUNCATED');
    expectChiveError(() => decodeRelayMessageInCell(new Uint8Array(bodyLen + 1)), 'OVER_LENGTH');
  });
  it('checks the message itself as strictly as the strict decoder', () => {
    expectChiveError(() => decodeRelayMessageInCell(body(raw(RelayCommand.DATA, 0, [1]))), 'BAD_VALUE');
    expectChiveError(() => decodeRelayMessageInCell(body(raw(RelayCommand.END, 1, [1, 2]))), 'TRAILING_BYTES');
  });
});

describe('stream ids', () => {
  const streamCommands = ['BEGIN', 'DATA', 'END', 'CONNECTED'] as const;
  it('BEGIN, DATA, END, CONNECTED on stream 0: BAD_VALUE', () => {
    for (const name of streamCommands) expectChiveError(() => decode(raw(RelayCommand[name], 0, [])), 'BAD_VALUE');
  });
  it('every circuit command on a stream: BAD_VALUE', () => {
    for (const [name, code] of Object.entries(RelayCommand)) {
      if ((streamCommands as readonly string[]).includes(name) || name === 'SENDME') continue;
      expectChiveError(() => decode(raw(code, 5, [])), 'BAD_VALUE');
    }
  });
  it('SENDME goes on either; the encoder refuses what the decoder refuses', () => {
    const tag = new Uint8Array(16);
    for (const streamId of [0, 9]) expect(decode(encodeRelayMessage({ kind: 'SENDME', streamId, version: 1, tag }))).toMatchObject({ streamId });
    expectChiveError(() => encodeRelayMessage({ kind: 'DATA', streamId: 0, data: new Uint8Array(1) }), 'INVALID_ARGUMENT');
    expectChiveError(() => encodeRelayMessage({ kind: 'END', streamId: 0x10000, reason: 1 }), 'INVALID_ARGUMENT');
    expectChiveError(() => encodeRelayMessage({ kind: 'DROP', streamId: 3, data: new Uint8Array(0) } as RelayMessage), 'INVALID_ARGUMENT');
  });
});

describe('bodies: malformed fields', () => {
  const begin = (port: number, host: Uint8Array | number[], extra: number[] = []) =>
    raw(RelayCommand.BEGIN, 1, [port >>> 8, port & 0xff, host.length, ...host, ...extra]);
  it('BEGIN accepts names, IPv4, bracketed IPv6, 255-byte names', () => {
    for (const host of ['example.com', 'relay_1.local', '10.0.0.1', '[::1]', '[2001:db8::7]', '[::ffff:1.2.3.4]', 'a'.repeat(255)]) {
      expect(decode(begin(443, utf8(host)))).toStrictEqual({ kind: 'BEGIN', streamId: 1, target: { host, port: 443 } });
    }
  });
  it('BEGIN: bad port, host, UTF-8 → BAD_VALUE; lengths → TRUNCATED / TRAILING_BYTES', () => {
    expectChiveError(() => decode(begin(0, utf8('a.b'))), 'BAD_VALUE');
    for (const host of ['', 'a b', '-x', 'a/b', 'a:80', '[zz]', '[]', '::1', 'é.com', 'x\u0000']) {
      expectChiveError(() => decode(begin(80, utf8(host))), 'BAD_VALUE');
    }
    expectChiveError(() => decode(begin(80, [0xff, 0xfe])), 'BAD_VALUE');
    expectChiveError(() => decode(begin(80, [0xc3])), 'BAD_VALUE');
    expectChiveError(() => decode(raw(RelayCommand.BEGIN, 1, [0, 80, 5, 0x61])), 'TRUNCATED');
    expectChiveError(() => decode(raw(RelayCommand.BEGIN, 1, [0])), 'TRUNCATED');
    expectChiveError(() => decode(begin(80, utf8('a.b'), [0])), 'TRAILING_BYTES');
  });
  it('BEGIN encoder validates the target', () => {
    for (const target of [{ host: 'a', port: 0 }, { host: 'a', port: 65536 }, { host: 'a b', port: 1 }, { host: 'a'.repeat(256), port: 1 }]) {
      expectChiveError(() => encodeRelayMessage({ kind: 'BEGIN', streamId: 1, target }), 'INVALID_ARGUMENT');
    }
  });
  it('END / TRUNCATED need exactly one reason byte; CONNECTED / TRUNCATE nothing', () => {
    expectChiveError(() => decode(raw(RelayCommand.END, 1, [])), 'TRUNCATED');
    expectChiveError(() => decode(raw(RelayCommand.END, 1, [6, 0])), 'TRAILING_BYTES');
    expectChiveError(() => decode(raw(RelayCommand.TRUNCATED, 0, [])), 'TRUNCATED');
    expectChiveError(() => decode(raw(RelayCommand.CONNECTED, 1, [0])), 'TRAILING_BYTES');
    expectChiveError(() => decode(raw(RelayCommand.TRUNCATE, 0, [0])), 'TRAILING_BYTES');
  });
  it('SENDME: only the authenticated version with a 16-byte tag', () => {
    const tag = [...new Uint8Array(16)];
    expectChiveError(() => decode(raw(RelayCommand.SENDME, 0, [0, 0, 0])), 'BAD_VALUE');
    expectChiveError(() => decode(raw(RelayCommand.SENDME, 0, [])), 'TRUNCATED');
    expectChiveError(() => decode(raw(RelayCommand.SENDME, 0, [2, 0, 16, ...tag])), 'BAD_VALUE');
    expectChiveError(() => decode(raw(RelayCommand.SENDME, 0, [1, 0, 15, ...tag.slice(1)])), 'BAD_VALUE');
    expectChiveError(() => decode(raw(RelayCommand.SENDME, 0, [1, 0, 16, ...tag.slice(6)])), 'TRUNCATED');
    expectChiveError(() => decode(raw(RelayCommand.SENDME, 0, [1, 0, 16, ...tag, 0])), 'TRAILING_BYTES');
    expectChiveError(() => encodeRelayMessage({ kind: 'SENDME', streamId: 0, version: 1, tag: new Uint8Array(15) }), 'INVALID_ARGUMENT');
    expectChiveError(() => encodeRelayMessage({ kind: 'SENDME', streamId: 0, version: 0, tag: new Uint8Array(16) }), 'INVALID_ARGUMENT');
  });
  it('EXTENDED2: handshake length must match the data', () => {
    expectChiveError(() => decode(raw(RelayCommand.EXTENDED2, 0, [0, 3, 1, 2])), 'TRUNCATED');
    expectChiveError(() => decode(raw(RelayCommand.EXTENDED2, 0, [0, 1, 1, 2])), 'TRAILING_BYTES');
  });
});

describe('EXTEND2 link specifiers', () => {
  const extend2 = (specs: number[], tail: number[] = [0, 2, 0, 0]) => raw(RelayCommand.EXTEND2, 0, [...specs, ...tail]);
  const url = [...utf8('ws://h:1')];
  it('decodes known types and preserves unknown ones, duplicates of unknown types included', () => {
    const bytes = extend2([4, 1, url.length, ...url, 0x80, 1, 0xaa, 0x80, 0, 3, 32, ...key32]);
    const msg = decode(bytes);
    expect(msg).toStrictEqual({
      kind: 'EXTEND2', handshakeType: 2, handshakeData: new Uint8Array(0),
      linkSpecifiers: [
        { kind: 'WS_URL', url: 'ws://h:1' },
        { kind: 'Unrecognized', type: 0x80, body: new Uint8Array([0xaa]) },
        { kind: 'Unrecognized', type: 0x80, body: new Uint8Array(0) },
        { kind: 'LINK_KEY', key: pattern(32) },
      ],
    });
    expect(encodeRelayMessage(msg)).toEqual(bytes);
  });
  it('refuses bad known specifiers with BAD_VALUE', () => {
    expectChiveError(() => decode(extend2([1, 2, 31, ...key32.slice(1)])), 'BAD_VALUE');
    expectChiveError(() => decode(extend2([1, 3, 33, ...key32, 0])), 'BAD_VALUE');
    expectChiveError(() => decode(extend2([2, 1, url.length, ...url, 1, url.length, ...url])), 'BAD_VALUE');
    expectChiveError(() => decode(extend2([1, 1, 8, ...utf8('http://h')])), 'BAD_VALUE');
    expectChiveError(() => decode(extend2([1, 1, 7, ...utf8('ws://h'), 0xff])), 'BAD_VALUE');
  });
  it('refuses lengths that run past the data, and trailing bytes', () => {
    expectChiveError(() => decode(extend2([1, 2, 32, ...key32.slice(2)], [])), 'TRUNCATED');
    expectChiveError(() => decode(extend2([2, 0x80, 0], [])), 'TRUNCATED');
    expectChiveError(() => decode(extend2([0], [0, 2, 0, 5, 1])), 'TRUNCATED');
    expectChiveError(() => decode(extend2([0], [0, 2, 0, 0, 1])), 'TRAILING_BYTES');
  });
  it('the encoder refuses what the decoder refuses', () => {
    const bad = [
      [{ kind: 'ED25519_ID', key: new Uint8Array(31) }],
      [{ kind: 'WS_URL', url: 'ftp://x' }],
      [{ kind: 'WS_URL', url: 'ws://a' }, { kind: 'WS_URL', url: 'ws://b' }],
      [{ kind: 'Unrecognized', type: 2, body: new Uint8Array(0) }],
      [{ kind: 'Unrecognized', type: 0x80, body: new Uint8Array(256) }],
    ] as const;
    for (const linkSpecifiers of bad) {
      expectChiveError(() => encodeRelayMessage({ kind: 'EXTEND2', linkSpecifiers, handshakeType: 2, handshakeData: new Uint8Array(0) }), 'INVALID_ARGUMENT');
    }
  });
  it('linkSpecifiersFor and extendTargetOf are inverses; a missing fact is BAD_VALUE', () => {
    const target = { url: 'wss://relay.example:443', identity: pattern(32, 1), linkKey: pattern(32, 2) };
    expect(extendTargetOf(linkSpecifiersFor(target))).toStrictEqual(target);
    expectChiveError(() => extendTargetOf(linkSpecifiersFor(target).slice(1)), 'BAD_VALUE');
  });
});

describe('encoder', () => {
  it('refuses Unrecognized with a known command, and non-messages', () => {
    expectChiveError(() => encodeRelayMessage({ kind: 'Unrecognized', command: RelayCommand.DATA, streamId: 1, data: new Uint8Array(0) }), 'INVALID_ARGUMENT');
    expectChiveError(() => encodeRelayMessage({ kind: 'Unrecognized', command: 256, streamId: 1, data: new Uint8Array(0) }), 'INVALID_ARGUMENT');
    expectChiveError(() => encodeRelayMessage({ kind: 'NOPE' } as unknown as RelayMessage), 'INVALID_ARGUMENT');
  });
  it('writeRelayMessage writes in place and says how much', () => {
    const out = new Uint8Array(20).fill(0x77);
    const msg: RelayMessage = { kind: 'DATA', streamId: 2, data: utf8('abc') };
    expect(writeRelayMessage(out, 4, msg)).toBe(8);
    expect(out.subarray(4, 12)).toEqual(encodeRelayMessage(msg));
    expect(out[3]).toBe(0x77);
    expect(out[12]).toBe(0x77);
    expectChiveError(() => writeRelayMessage(out, 13, msg), 'INVALID_ARGUMENT');
  });
});
