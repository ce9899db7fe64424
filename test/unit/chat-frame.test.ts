/**
 * The chat frame codec (src/chat/chat-frame.ts): hand-derived byte vectors from the layouts in
 * the chat design (HELLO 1, MSG 2, ACK 3, PING 4, PONG 5, big-endian), the exact size
 * boundaries (a frame is at most maxRelayDataLen(4) = 436 bytes, a MSG fragment at most 403),
 * and every refusal: BAD_CHAT_FRAME from the decoder, INVALID_ARGUMENT from the encoder.
 * No crypto is involved, so no provider loop.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/bytes.js';
import { checkFrame, decodeChatFrame, encodeChatFrame, fragmentCountFor, type ChatFrame, type MsgFrame } from '../../src/chat/chat-frame.js';
import { ChiveError } from '../../src/errors.js';
import {
  CHAT_FRAME_MAX_LEN, CHAT_MAX_FRAGMENT_LEN, CHAT_MAX_FRAGMENTS, CHAT_MAX_MESSAGE_BYTES, CHAT_MSG_HEADER_LEN, ChatFrameType,
} from '../../src/wire/constants.js';
import { decodeRelayMessage, encodeRelayMessage, maxRelayDataLen } from '../../src/wire/relay-message.js';
import { expectChiveError, thrownChiveError } from '../vectors/wire/assert.js';

const ID = fromHex('00112233445566778899aabbccddeeff');

function msg(overrides: Partial<MsgFrame> = {}): MsgFrame {
  return { kind: 'MSG', msgId: ID, seq: 1, fragIndex: 0, fragCount: 1, sentAt: 1_700_000_000_000, fragment: new Uint8Array([0x68, 0x69]), ...overrides };
}

/** Hand-built encodings, field by field from the design's layouts. */
const VECTORS: { name: string; frame: ChatFrame; hex: string }[] = [
  { name: 'HELLO', frame: { kind: 'HELLO', receivedUpTo: 5, name: 'bob' }, hex: '01' + '00000005' + '03' + '626f62' },
  { name: 'HELLO, empty name', frame: { kind: 'HELLO', receivedUpTo: 0, name: '' }, hex: '01' + '00000000' + '00' },
  { name: 'HELLO, UTF-8 name', frame: { kind: 'HELLO', receivedUpTo: 0xffff_ffff, name: 'zoë' }, hex: '01' + 'ffffffff' + '04' + '7a6fc3ab' },
  {
    name: 'MSG',
    frame: msg({ seq: 0x01020304, fragIndex: 1, fragCount: 2, sentAt: 0x0001_0203_0405_0607, fragment: new Uint8Array([0x68, 0x69]) }),
    hex: '02' + '00112233445566778899aabbccddeeff' + '01020304' + '0001' + '0002' + '0001020304050607' + '6869',
  },
  { name: 'ACK', frame: { kind: 'ACK', seq: 258 }, hex: '03' + '00000102' },
  { name: 'ACK 0', frame: { kind: 'ACK', seq: 0 }, hex: '03' + '00000000' },
  { name: 'PING', frame: { kind: 'PING', nonce: fromHex('0102030405060708') }, hex: '04' + '0102030405060708' },
  { name: 'PONG', frame: { kind: 'PONG', nonce: fromHex('ffffffffffffffff') }, hex: '05' + 'ffffffffffffffff' },
];

describe('chat frame constants', () => {
  it('a frame is what a CHAT relay message carries to hop 4, and a fragment the rest after the MSG header', () => {
    expect(CHAT_FRAME_MAX_LEN).toBe(maxRelayDataLen(4));
    expect(CHAT_FRAME_MAX_LEN).toBe(436);
    expect(CHAT_MSG_HEADER_LEN).toBe(33);
    expect(CHAT_MAX_FRAGMENT_LEN).toBe(403);
    expect(CHAT_MAX_FRAGMENTS).toBe(11);
    expect(fragmentCountFor(CHAT_MAX_MESSAGE_BYTES)).toBe(CHAT_MAX_FRAGMENTS);
    expect(ChatFrameType).toEqual({ HELLO: 1, MSG: 2, ACK: 3, PING: 4, PONG: 5 });
  });

  it('counts fragments at the boundaries', () => {
    expect([1, 403, 404, 806, 807, 4030, 4031, 4096].map(fragmentCountFor)).toEqual([1, 1, 2, 2, 3, 10, 11, 11]);
  });
});

describe('chat frame vectors', () => {
  it.each(VECTORS)('$name encodes to the hand-built bytes and decodes back', ({ frame, hex }) => {
    expect(toHex(encodeChatFrame(frame))).toBe(hex);
    const decoded = decodeChatFrame(fromHex(hex));
    expect(decoded).toEqual(frame);
    expect(toHex(encodeChatFrame(decoded))).toBe(hex);
  });
});

describe('chat frame sizes', () => {
  it('a full middle fragment makes a frame of exactly CHAT_FRAME_MAX_LEN, which fits a CHAT relay message at 4 hops', () => {
    const frame = msg({ fragCount: 2, fragIndex: 0, fragment: new Uint8Array(CHAT_MAX_FRAGMENT_LEN).fill(0x61) });
    const bytes = encodeChatFrame(frame);
    expect(bytes.length).toBe(CHAT_FRAME_MAX_LEN);
    expect(decodeChatFrame(bytes)).toEqual(frame);
    const relay = encodeRelayMessage({ kind: 'CHAT', body: bytes }, maxRelayDataLen(4));
    const back = decodeRelayMessage(relay, maxRelayDataLen(4));
    expect(back.kind).toBe('CHAT');
    expect(decodeChatFrame((back as { body: Uint8Array }).body)).toEqual(frame);
  });

  it('refuses one byte more, both ways', () => {
    const big = msg({ fragment: new Uint8Array(CHAT_MAX_FRAGMENT_LEN + 1) });
    expectChiveError(() => encodeChatFrame(big), 'INVALID_ARGUMENT');
    const bytes = new Uint8Array(CHAT_FRAME_MAX_LEN + 1);
    bytes.set(encodeChatFrame(msg({ fragment: new Uint8Array(CHAT_MAX_FRAGMENT_LEN) })));
    expectChiveError(() => decodeChatFrame(bytes), 'BAD_CHAT_FRAME');
  });

  it('a last fragment may be short; a middle one must be full', () => {
    expect(decodeChatFrame(encodeChatFrame(msg({ fragCount: 3, fragIndex: 2, fragment: new Uint8Array(1) })))).toBeTruthy();
    const short = msg({ fragCount: 3, fragIndex: 1, fragment: new Uint8Array(CHAT_MAX_FRAGMENT_LEN - 1) });
    expectChiveError(() => encodeChatFrame(short), 'INVALID_ARGUMENT');
    expectChiveError(() => decodeChatFrame(rawMsg(short)), 'BAD_CHAT_FRAME');
  });

  it('the last of 11 fragments may complete exactly CHAT_MAX_MESSAGE_BYTES, not one byte more', () => {
    const lastLen = CHAT_MAX_MESSAGE_BYTES - 10 * CHAT_MAX_FRAGMENT_LEN; // 66
    const ok = msg({ fragCount: 11, fragIndex: 10, fragment: new Uint8Array(lastLen) });
    expect(decodeChatFrame(encodeChatFrame(ok))).toEqual(ok);
    const over = msg({ fragCount: 11, fragIndex: 10, fragment: new Uint8Array(lastLen + 1) });
    expectChiveError(() => encodeChatFrame(over), 'INVALID_ARGUMENT');
    expectChiveError(() => decodeChatFrame(rawMsg(over)), 'BAD_CHAT_FRAME');
  });
});

/** MSG bytes built by hand, bypassing the encoder's checks. */
function rawMsg(f: MsgFrame): Uint8Array {
  const out = new Uint8Array(CHAT_MSG_HEADER_LEN + f.fragment.length);
  const v = new DataView(out.buffer);
  out[0] = ChatFrameType.MSG;
  out.set(f.msgId, 1);
  v.setUint32(17, f.seq);
  v.setUint16(21, f.fragIndex);
  v.setUint16(23, f.fragCount);
  v.setBigUint64(25, BigInt(f.sentAt));
  out.set(f.fragment, CHAT_MSG_HEADER_LEN);
  return out;
}

describe('chat frame refusals', () => {
  const cases: [string, string][] = [
    ['empty', ''],
    ['type 0', '00'],
    ['unknown type 6', '06' + '00000000'],
    ['unknown type 255', 'ff'],
    ['truncated ACK', '03' + '000001'],
    ['ACK with a trailing byte', '03' + '00000001' + '00'],
    ['PING with a 7-byte nonce', '04' + '01020304050607'],
    ['PONG with a 9-byte nonce', '05' + '010203040506070809'],
    ['HELLO whose name runs past the end', '01' + '00000000' + '05' + '626f62'],
    ['HELLO with a 33-byte name', '01' + '00000000' + '21' + '61'.repeat(33)],
    ['HELLO with a name that is not UTF-8', '01' + '00000000' + '02' + 'c328'],
    ['HELLO with trailing bytes', '01' + '00000000' + '00' + '00'],
    ['MSG with no fragment', toHex(rawMsg(msg())).slice(0, 2 * CHAT_MSG_HEADER_LEN)],
    ['MSG truncated in its header', toHex(rawMsg(msg())).slice(0, 40)],
    ['MSG seq 0', toHex(rawMsg(msg({ seq: 0 })))],
    ['MSG fragCount 0', toHex(rawMsg(msg({ fragCount: 0 })))],
    ['MSG fragCount 12', toHex(rawMsg(msg({ fragCount: 12, fragIndex: 11 })))],
    ['MSG fragIndex = fragCount', toHex(rawMsg(msg({ fragCount: 2, fragIndex: 2 })))],
    ['MSG sentAt above 2^53', toHex(rawMsg(msg())).replace(/^(.{50}).{16}/, '$1ffffffffffffffff')],
  ];
  it.each(cases)('%s → BAD_CHAT_FRAME', (_name, hex) => {
    const e = thrownChiveError(() => decodeChatFrame(fromHex(hex)));
    expect(e.code).toBe('BAD_CHAT_FRAME');
    expect(e.fault).toBe('peer');
  });

  it('the encoder refuses malformed frames with INVALID_ARGUMENT', () => {
    const bad: ChatFrame[] = [
      { kind: 'HELLO', receivedUpTo: -1, name: '' },
      { kind: 'HELLO', receivedUpTo: 2 ** 32, name: '' },
      { kind: 'HELLO', receivedUpTo: 0, name: 'é'.repeat(17) },
      msg({ msgId: new Uint8Array(15) }),
      msg({ seq: 0 }),
      msg({ fragment: new Uint8Array(0) }),
      msg({ sentAt: 1.5 }),
      { kind: 'ACK', seq: 2 ** 32 },
      { kind: 'PING', nonce: new Uint8Array(4) },
      { kind: 'NOPE' } as unknown as ChatFrame,
    ];
    for (const f of bad) expectChiveError(() => encodeChatFrame(f), 'INVALID_ARGUMENT');
    expectChiveError(() => checkFrame(msg({ fragIndex: 1 }), 'BAD_CHAT_FRAME'), 'BAD_CHAT_FRAME');
  });

  it('any bytes decode to a frame that re-encodes to the same bytes, or to BAD_CHAT_FRAME', () => {
    const typed = fc.tuple(fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: CHAT_FRAME_MAX_LEN + 2 }))
      .map(([t, rest]) => Uint8Array.of(t, ...rest));
    fc.assert(fc.property(fc.oneof(typed, fc.uint8Array({ maxLength: 500 })), (bytes) => {
      let frame: ChatFrame;
      try {
        frame = decodeChatFrame(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(ChiveError);
        expect((e as ChiveError).code).toBe('BAD_CHAT_FRAME');
        return;
      }
      expect(encodeChatFrame(frame)).toEqual(bytes);
    }), { numRuns: 2000 });
  });
});
