/**
 * The SOCKS5 codec (client/socks.ts): hand-made vectors laid out as RFC 1928 §3–§6 define
 * the messages, curl's actual greeting, every malformed case with its code, incremental
 * reads over every prefix, RFC 5952 IPv6 text, C Tor's END-reason → reply table, and
 * fast-check: random bytes only ever raise ChiveErrors, encode → decode round trips.
 * No crypto is involved, so there is no provider loop.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/bytes.js';
import { ChiveError, type ErrorCode } from '../../src/errors.js';
import { EndReason, MAX_SOCKS_REQUEST_LEN, SocksCommand, SocksMethod, SocksReply } from '../../src/wire/constants.js';
import { endReasonName } from '../../client/reason-names.js';
import {
  decodeGreeting,
  decodeMethodSelection,
  decodeReply,
  decodeRequest,
  encodeGreeting,
  encodeMethodSelection,
  encodeReply,
  encodeRequest,
  endReasonOfRefusal,
  formatIpv6,
  parseIpv6,
  readGreeting,
  readReply,
  readRequest,
  type SocksAddress,
  selectMethod,
  socksReplyForEndReason,
  socksReplyForError,
  socksReplyName,
} from '../../client/socks.js';

function expectCode(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ChiveError);
    expect((e as ChiveError).code).toBe(code);
    if (message) expect((e as ChiveError).message).toMatch(message);
    return;
  }
  expect.fail(`expected ${code}`);
}

// RFC 1928 §4: VER CMD RSV ATYP DST.ADDR DST.PORT, built by hand.
const REQUEST_VECTORS: { name: string; hex: string; command: number; address: SocksAddress; port: number }[] = [
  { name: 'CONNECT domain example.com:80', hex: '050100030b6578616d706c652e636f6d0050', command: 1, address: { type: 'domain', host: 'example.com' }, port: 80 },
  { name: 'CONNECT IPv4 127.0.0.1:8080', hex: '050100017f0000011f90', command: 1, address: { type: 'ipv4', host: '127.0.0.1' }, port: 8080 },
  { name: 'CONNECT IPv6 [::1]:443', hex: '05010004' + '00'.repeat(15) + '01' + '01bb', command: 1, address: { type: 'ipv6', host: '::1' }, port: 443 },
  { name: 'BIND IPv4 0.0.0.0:0', hex: '05020001000000000000', command: 2, address: { type: 'ipv4', host: '0.0.0.0' }, port: 0 },
  { name: 'UDP ASSOCIATE domain a:65535', hex: '0503000301' + '61' + 'ffff', command: 3, address: { type: 'domain', host: 'a' }, port: 65535 },
  { name: 'CONNECT IPv6 2001:db8::ff00:42:8329 port 1', hex: '05010004' + '20010db8000000000000ff0000428329' + '0001', command: 1, address: { type: 'ipv6', host: '2001:db8::ff00:42:8329' }, port: 1 },
];

describe('greeting and method selection (RFC 1928 §3)', () => {
  it('decodes curl 7.88\'s greeting (one method: no authentication) and selects NO_AUTH', () => {
    const g = decodeGreeting(fromHex('050100'));
    expect(g.methods).toEqual([SocksMethod.NO_AUTH]);
    expect(selectMethod(g)).toBe(SocksMethod.NO_AUTH);
    expect(toHex(encodeMethodSelection(selectMethod(g)))).toBe('0500');
  });

  it('selects NO_AUTH among several, and NO_ACCEPTABLE (0xff) when it is not offered', () => {
    expect(selectMethod(decodeGreeting(fromHex('0503020100')))).toBe(SocksMethod.NO_AUTH);
    const g = decodeGreeting(fromHex('05020102'));
    expect(g.methods).toEqual([SocksMethod.GSSAPI, SocksMethod.USERNAME_PASSWORD]);
    expect(selectMethod(g)).toBe(SocksMethod.NO_ACCEPTABLE);
    expect(toHex(encodeMethodSelection(SocksMethod.NO_ACCEPTABLE))).toBe('05ff');
  });

  it('takes 255 methods, the most NMETHODS can say', () => {
    const bytes = new Uint8Array([5, 255, ...Array.from({ length: 255 }, (_, i) => i)]);
    expect(decodeGreeting(bytes).methods).toHaveLength(255);
    expect(encodeGreeting(decodeGreeting(bytes))).toEqual(bytes);
  });

  it('reads incrementally: null for every proper prefix, the greeting and its length when more follows', () => {
    const bytes = fromHex('0503000102');
    for (let i = 0; i < bytes.length; i++) expect(readGreeting(bytes.subarray(0, i))).toBeNull();
    const withRequest = new Uint8Array([...bytes, ...fromHex(REQUEST_VECTORS[0]!.hex)]);
    const framed = readGreeting(withRequest)!;
    expect(framed.length).toBe(5);
    expect(framed.message.methods).toEqual([0, 1, 2]);
  });

  it('refuses a wrong version on the very first byte (SOCKS4, HTTP, TLS)', () => {
    for (const hex of ['04', '0401', '474554202f', '1603010200']) {
      expectCode(() => readGreeting(fromHex(hex)), 'SOCKS_MALFORMED', /version/);
    }
    expectCode(() => decodeGreeting(fromHex('040100')), 'SOCKS_MALFORMED', /version 4/);
  });

  it('refuses NMETHODS 0, truncation, trailing bytes and over-long input', () => {
    expectCode(() => readGreeting(fromHex('0500')), 'SOCKS_MALFORMED', /no methods/);
    expectCode(() => decodeGreeting(fromHex('0500')), 'SOCKS_MALFORMED', /no methods/);
    expectCode(() => decodeGreeting(fromHex('050200')), 'TRUNCATED');
    expectCode(() => decodeGreeting(fromHex('05')), 'TRUNCATED');
    expectCode(() => decodeGreeting(fromHex('')), 'TRUNCATED');
    expectCode(() => decodeGreeting(fromHex('05010000')), 'TRAILING_BYTES');
    expectCode(() => decodeGreeting(new Uint8Array(258).fill(5)), 'OVER_LENGTH');
    expectCode(() => encodeGreeting({ methods: [] }), 'INVALID_ARGUMENT');
  });

  it('decodes a method selection and refuses a bad one', () => {
    expect(decodeMethodSelection(fromHex('0500'))).toBe(0);
    expectCode(() => decodeMethodSelection(fromHex('0400')), 'SOCKS_MALFORMED');
    expectCode(() => decodeMethodSelection(fromHex('05')), 'TRUNCATED');
    expectCode(() => decodeMethodSelection(fromHex('050000')), 'OVER_LENGTH');
  });
});

describe('request (RFC 1928 §4, §5)', () => {
  it.each(REQUEST_VECTORS)('$name: decodes, re-encodes to the same bytes', ({ hex, command, address, port }) => {
    const bytes = fromHex(hex);
    expect(decodeRequest(bytes)).toEqual({ command, address, port });
    expect(toHex(encodeRequest({ command, address, port }))).toBe(hex);
  });

  it.each(REQUEST_VECTORS)('$name: reads incrementally over every prefix, keeping what follows', ({ hex }) => {
    const bytes = fromHex(hex);
    for (let i = 0; i < bytes.length; i++) expect(readRequest(bytes.subarray(0, i))).toBeNull();
    const framed = readRequest(new Uint8Array([...bytes, 0x47, 0x45, 0x54]))!;
    expect(framed.length).toBe(bytes.length);
    expect(framed.message).toEqual(decodeRequest(bytes));
  });

  it('takes a 255-byte domain name, the longest', () => {
    const name = 'a'.repeat(63) + '.' + 'b'.repeat(63) + '.' + 'c'.repeat(63) + '.' + 'd'.repeat(63);
    expect(name.length).toBe(255);
    const bytes = encodeRequest({ command: SocksCommand.CONNECT, address: { type: 'domain', host: name }, port: 80 });
    expect(bytes.length).toBe(MAX_SOCKS_REQUEST_LEN);
    expect(decodeRequest(bytes).address.host).toBe(name);
    expect(readRequest(bytes)!.length).toBe(MAX_SOCKS_REQUEST_LEN);
  });

  it('refuses a wrong version and a non-zero RSV as soon as they arrive', () => {
    expectCode(() => readRequest(fromHex('04')), 'SOCKS_MALFORMED', /version/);
    expectCode(() => readRequest(fromHex('050101')), 'SOCKS_MALFORMED', /RSV 1/);
    expectCode(() => decodeRequest(fromHex('050180017f0000010050')), 'SOCKS_MALFORMED', /RSV 128/);
    expectCode(() => decodeRequest(fromHex('050101017f0000010050')), 'SOCKS_MALFORMED', /RSV/);
  });

  it('refuses an unknown address type with SOCKS_ADDRESS_TYPE_UNKNOWN (its length is unknowable)', () => {
    for (const atyp of ['00', '02', '05', 'ff']) {
      expectCode(() => readRequest(fromHex(`050100${atyp}`)), 'SOCKS_ADDRESS_TYPE_UNKNOWN', /address type/);
      expectCode(() => decodeRequest(fromHex(`050100${atyp}7f0000010050`)), 'SOCKS_ADDRESS_TYPE_UNKNOWN');
    }
  });

  it('refuses an empty domain name and names that are no host names', () => {
    expectCode(() => readRequest(fromHex('0501000300')), 'SOCKS_MALFORMED', /empty/);
    expectCode(() => decodeRequest(fromHex('05010003000050')), 'SOCKS_MALFORMED', /empty/);
    const bad = ['exa mple.com', 'a\u0000b', '-leading', '.dot', 'ex/ample', 'a:b', '[::1]'];
    for (const name of bad) {
      const nameBytes = Buffer.from(name, 'latin1');
      const bytes = new Uint8Array([5, 1, 0, 3, nameBytes.length, ...nameBytes, 0, 80]);
      expectCode(() => decodeRequest(bytes), 'SOCKS_MALFORMED', /host name/);
      expectCode(() => readRequest(bytes), 'SOCKS_MALFORMED', /host name/);
    }
    const utf8Name = Buffer.from('bücher.example', 'utf8');
    expectCode(() => decodeRequest(new Uint8Array([5, 1, 0, 3, utf8Name.length, ...utf8Name, 0, 80])), 'SOCKS_MALFORMED');
  });

  it('refuses truncation, trailing bytes and over-long input in decodeRequest', () => {
    const bytes = fromHex(REQUEST_VECTORS[0]!.hex);
    for (let i = 0; i < bytes.length; i++) expectCode(() => decodeRequest(bytes.subarray(0, i)), 'TRUNCATED');
    expectCode(() => decodeRequest(new Uint8Array([...bytes, 0])), 'TRAILING_BYTES');
    expectCode(() => decodeRequest(new Uint8Array(MAX_SOCKS_REQUEST_LEN + 1).fill(5)), 'OVER_LENGTH');
  });

  it('refuses to encode bad addresses', () => {
    const c = SocksCommand.CONNECT;
    expectCode(() => encodeRequest({ command: c, address: { type: 'ipv4', host: '256.0.0.1' }, port: 1 }), 'INVALID_ARGUMENT');
    expectCode(() => encodeRequest({ command: c, address: { type: 'ipv4', host: 'localhost' }, port: 1 }), 'INVALID_ARGUMENT');
    expectCode(() => encodeRequest({ command: c, address: { type: 'domain', host: '' }, port: 1 }), 'INVALID_ARGUMENT');
    expectCode(() => encodeRequest({ command: c, address: { type: 'domain', host: 'a'.repeat(256) }, port: 1 }), 'INVALID_ARGUMENT');
    expectCode(() => encodeRequest({ command: c, address: { type: 'ipv6', host: '1::2::3' }, port: 1 }), 'INVALID_ARGUMENT');
    expectCode(() => encodeRequest({ command: c, address: { type: 'domain', host: 'x' }, port: 65536 }), 'INVALID_ARGUMENT');
  });
});

describe('reply (RFC 1928 §6)', () => {
  it('encodes chive\'s replies with BND 0.0.0.0:0, and decodes them', () => {
    expect(toHex(encodeReply(SocksReply.SUCCEEDED))).toBe('05000001000000000000');
    expect(toHex(encodeReply(SocksReply.NOT_ALLOWED))).toBe('05020001000000000000');
    expect(toHex(encodeReply(SocksReply.ADDRESS_TYPE_NOT_SUPPORTED))).toBe('05080001000000000000');
    expect(decodeReply(fromHex('05050001000000000000'))).toEqual({ reply: 5, address: { type: 'ipv4', host: '0.0.0.0' }, port: 0 });
    const framed = readReply(fromHex('05000001c0a8000104d2ff'))!;
    expect(framed.length).toBe(10);
    expect(framed.message).toEqual({ reply: 0, address: { type: 'ipv4', host: '192.168.0.1' }, port: 1234 });
  });

  it('reply codes have names for logs', () => {
    expect(socksReplyName(SocksReply.NOT_ALLOWED)).toBe('NOT_ALLOWED');
    expect(socksReplyName(0x42)).toBe('reply 66');
  });
});

describe('IPv6 text (RFC 5952 §4)', () => {
  // Each pair: the 16 bytes (hex) and RFC 5952's recommended text.
  const vectors: [string, string][] = [
    ['20010db8000000000000000000000001', '2001:db8::1'], // §4.2.1: shorten as much as possible
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'], // §4.2.2: one 0 group is not "::"
    ['20010000000000010000000000000001', '2001:0:0:1::1'], // §4.2.3: the longest run
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // §4.2.3: the first of equal runs
    ['20010db8000000000000000000000000', '2001:db8::'],
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['00000000000000000000ffff7f000001', '::ffff:7f00:1'],
    ['20010db8aaaabbbbccccddddeeeeffff', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff'], // §4.3: lower case
  ];
  it.each(vectors)('%s ↔ %s', (hex, text) => {
    expect(formatIpv6(fromHex(hex))).toBe(text);
    expect(toHex(parseIpv6(text))).toBe(hex);
  });

  it('parses uncompressed and upper-case text, refuses malformed text', () => {
    expect(toHex(parseIpv6('2001:0DB8:0:0:0:0:0:1'))).toBe('20010db8000000000000000000000001');
    for (const bad of ['', ':', '1:2', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4::5:6:7:8', '12345::', 'g::1', '::1.2.3.4', 'fe80::1%eth0']) {
      expectCode(() => parseIpv6(bad), 'INVALID_ARGUMENT');
    }
  });
});

describe('typed errors → reply codes', () => {
  it('maps every END reason exactly as C Tor does (src/core/or/reasons.c)', () => {
    const expected: Record<keyof typeof EndReason, number> = {
      MISC: SocksReply.GENERAL_FAILURE,
      RESOLVE_FAILED: SocksReply.HOST_UNREACHABLE,
      CONNECT_REFUSED: SocksReply.CONNECTION_REFUSED,
      EXIT_POLICY: SocksReply.NOT_ALLOWED,
      DESTROY: SocksReply.GENERAL_FAILURE,
      DONE: SocksReply.CONNECTION_REFUSED,
      TIMEOUT: SocksReply.TTL_EXPIRED,
      NO_ROUTE: SocksReply.HOST_UNREACHABLE,
      HIBERNATING: SocksReply.GENERAL_FAILURE,
      INTERNAL: SocksReply.GENERAL_FAILURE,
      RESOURCE_LIMIT: SocksReply.GENERAL_FAILURE,
      CONNECT_RESET: SocksReply.CONNECTION_REFUSED,
      TORPROTOCOL: SocksReply.GENERAL_FAILURE,
    };
    for (const [name, code] of Object.entries(EndReason)) {
      expect(socksReplyForEndReason(code), name).toBe(expected[name as keyof typeof EndReason]);
    }
    expect(socksReplyForEndReason(200)).toBe(SocksReply.GENERAL_FAILURE);
  });

  // The refusal as client/circuit-streams.ts words it today.
  const refused = (reason: number): ChiveError =>
    new ChiveError('STREAM_REFUSED', `the exit refused example.com:80: ${endReasonName(reason)}`, { cause: { endReason: reason } });

  it('reads the END reason from cause.endReason, never from the wording of the message', () => {
    expect(endReasonOfRefusal(refused(EndReason.EXIT_POLICY))).toBe(EndReason.EXIT_POLICY);
    expect(endReasonOfRefusal(refused(99))).toBe(99);
    expect(endReasonOfRefusal(new ChiveError('STREAM_REFUSED', 'no reason here'))).toBeNull();
    expect(endReasonOfRefusal(new ChiveError('STREAM_REFUSED', 'the exit refused x:1: EXIT_POLICY'))).toBeNull();
    expect(endReasonOfRefusal(new ChiveError('STREAM_REFUSED', 'refused: EXIT_POLICY', { cause: { endReason: EndReason.TIMEOUT } }))).toBe(EndReason.TIMEOUT);
  });

  it('maps the errors openStream rejects with', () => {
    expect(socksReplyForError(refused(EndReason.EXIT_POLICY))).toBe(0x02);
    expect(socksReplyForError(refused(EndReason.CONNECT_REFUSED))).toBe(0x05);
    expect(socksReplyForError(refused(EndReason.RESOLVE_FAILED))).toBe(0x04);
    expect(socksReplyForError(refused(EndReason.TIMEOUT))).toBe(0x06);
    expect(socksReplyForError(new ChiveError('STREAM_REFUSED', 'no reason'))).toBe(0x01);
    expect(socksReplyForError(new ChiveError('PATH_NO_EXIT', 'no exit allows port 25'))).toBe(0x02);
    expect(socksReplyForError(new ChiveError('STREAM_TIMEOUT', 'no CONNECTED'))).toBe(0x06);
    expect(socksReplyForError(new ChiveError('CIRCUIT_BUILD_TIMEOUT', 'slow'))).toBe(0x06);
    expect(socksReplyForError(new ChiveError('LINK_HANDSHAKE_TIMEOUT', 'slow'))).toBe(0x06);
    for (const code of ['CIRCUIT_BUILD_FAILED', 'CIRCUIT_DESTROYED', 'CONSENSUS_UNAVAILABLE', 'INVALID_ARGUMENT'] as const) {
      expect(socksReplyForError(new ChiveError(code, 'x')), code).toBe(0x01);
    }
    expect(socksReplyForError(new Error('ECONNREFUSED'))).toBe(0x01);
    expect(socksReplyForError('a string')).toBe(0x01);
    expect(socksReplyForError(undefined)).toBe(0x01);
  });
});

describe('properties', () => {
  const onlyChiveErrors = (fn: (b: Uint8Array) => unknown) => (bytes: Uint8Array): void => {
    try {
      fn(bytes);
    } catch (e) {
      if (!(e instanceof ChiveError)) throw e;
    }
  };
  const parsers: [string, (b: Uint8Array) => unknown][] = [
    ['readGreeting', readGreeting],
    ['decodeGreeting', decodeGreeting],
    ['decodeMethodSelection', decodeMethodSelection],
    ['readRequest', readRequest],
    ['decodeRequest', decodeRequest],
    ['readReply', readReply],
    ['decodeReply', decodeReply],
  ];

  it.each(parsers)('%s: random bytes only ever raise ChiveError', (_name, parse) => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), onlyChiveErrors(parse)), { numRuns: 2000 });
    // Random tails after a plausible header reach the address parsing too.
    const header = fc.tuple(fc.constantFrom(1, 3, 4, 0, 2), fc.uint8Array({ maxLength: 300 }))
      .map(([atyp, rest]) => new Uint8Array([5, 1, 0, atyp, ...rest]));
    fc.assert(fc.property(header, onlyChiveErrors(parse)), { numRuns: 2000 });
  });

  const hostName = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/);
  const address: fc.Arbitrary<SocksAddress> = fc.oneof(
    fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c, d]) => ({ type: 'ipv4' as const, host: `${a}.${b}.${c}.${d}` })),
    hostName.map((host) => ({ type: 'domain' as const, host })),
    fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => ({ type: 'ipv6' as const, host: formatIpv6(b) })),
  );

  it('requests round-trip: encode → decode → encode, and readRequest agrees', () => {
    fc.assert(fc.property(fc.nat(255), address, fc.nat(65535), (command, addr, port) => {
      const bytes = encodeRequest({ command, address: addr, port });
      const decoded = decodeRequest(bytes);
      expect(decoded).toEqual({ command, address: addr, port });
      expect(encodeRequest(decoded)).toEqual(bytes);
      expect(readRequest(bytes)).toEqual({ message: decoded, length: bytes.length });
    }), { numRuns: 1000 });
  });

  it('IPv6 text round-trips for any 16 bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
      expect(parseIpv6(formatIpv6(b))).toEqual(b);
    }), { numRuns: 2000 });
  });

  it('greetings round-trip', () => {
    fc.assert(fc.property(fc.array(fc.nat(255), { minLength: 1, maxLength: 255 }), (methods) => {
      const bytes = encodeGreeting({ methods });
      expect(decodeGreeting(bytes).methods).toEqual(methods);
      expect(readGreeting(bytes)!.length).toBe(bytes.length);
    }));
  });
});
