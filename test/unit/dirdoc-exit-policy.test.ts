/**
 * Exit policies: text parsing and formatting, first-match semantics, the default reject,
 * the Exit-flag witness, the binary codec, and clear syntax errors.
 */
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from '../../src/bytes.js';
import {
  type ExitPolicy, exitPolicyAllows, exitPolicyWitness, formatExitPolicy, parseExitPolicy, REJECT_ALL,
} from '../../src/dirdoc/index.js';
import { readExitPolicy, writeExitPolicy } from '../../src/dirdoc/exit-policy.js';
import { failLocal, failPeer, parseIpv4 } from '../../src/dirdoc/fields.js';

describe('exit policy text', () => {
  it('parses the torrc-like form', () => {
    expect(parseExitPolicy('accept 127.0.0.1/32:1-65535, reject *:*')).toEqual([
      { action: 'accept', address: 0x7f000001, maskBits: 32, portMin: 1, portMax: 65535 },
      { action: 'reject', address: 0, maskBits: 0, portMin: 1, portMax: 65535 },
    ]);
    expect(parseExitPolicy('ACCEPT 10.0.0.0/8:80\nreject 10.1.2.3:443-444,\n')).toEqual([
      { action: 'accept', address: 0x0a000000, maskBits: 8, portMin: 80, portMax: 80 },
      { action: 'reject', address: 0x0a010203, maskBits: 32, portMin: 443, portMax: 444 },
    ]);
    expect(parseExitPolicy('')).toEqual([]);
  });

  it('formats canonically and round-trips', () => {
    const text = 'accept 127.0.0.1/32:*, accept 10.0.0.0/8:80, reject 192.168.0.0/16:1000-2000, reject *:*';
    expect(formatExitPolicy(parseExitPolicy(text))).toBe(text);
    expect(formatExitPolicy(parseExitPolicy('accept 127.0.0.1/32:1-65535'))).toBe('accept 127.0.0.1/32:*');
    expect(formatExitPolicy(REJECT_ALL)).toBe('');
  });

  it.each([
    ['allow *:*', 'expected "accept ADDR:PORTS"'],
    ['accept 127.0.0.1', 'missing ":PORTS"'],
    ['accept 127.0.0.1/8:80', 'host bits set; did you mean 127.0.0.0/8?'],
    ['accept 127.0.0.1/33:80', 'bad mask bits'],
    ['accept 256.0.0.1:80', 'IPv4 only'],
    ['accept [::1]:80', 'IPv4 only'],
    ['accept *:0', 'bad port "0"'],
    ['accept *:70000', 'bad port'],
    ['accept *:90-80', 'is empty'],
    ['accept *:1-2-3', 'bad port range'],
  ])('refuses %j with EXIT_POLICY_SYNTAX', (text, why) => {
    let caught: unknown;
    try {
      parseExitPolicy(text);
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: 'EXIT_POLICY_SYNTAX' });
    expect((caught as Error).message).toContain(why);
  });

  it('refuses more than MAX_EXIT_POLICY_RULES rules', () => {
    expect(() => parseExitPolicy(Array(129).fill('reject *:1').join(','))).toThrowError(expect.objectContaining({ code: 'EXIT_POLICY_SYNTAX' }));
  });
});

describe('exit policy matching', () => {
  const policy = parseExitPolicy('reject 127.0.0.1/32:22, accept 127.0.0.0/8:*, accept *:80, reject *:*');

  it('first match wins', () => {
    expect(exitPolicyAllows(policy, '127.0.0.1', 22)).toBe(false);
    expect(exitPolicyAllows(policy, '127.0.0.1', 23)).toBe(true);
    expect(exitPolicyAllows(policy, '127.9.9.9', 22)).toBe(true);
    expect(exitPolicyAllows(policy, '8.8.8.8', 80)).toBe(true);
    expect(exitPolicyAllows(policy, '8.8.8.8', 443)).toBe(false);
    expect(exitPolicyAllows(policy, parseIpv4('8.8.8.8')!, 80)).toBe(true);
  });

  it('defaults to reject when nothing matches or the policy is empty', () => {
    expect(exitPolicyAllows(parseExitPolicy('accept 10.0.0.0/8:80'), '11.0.0.1', 80)).toBe(false);
    expect(exitPolicyAllows([], '127.0.0.1', 80)).toBe(false);
  });

  it('refuses a non-IPv4 address or a bad port with INVALID_ARGUMENT', () => {
    expect(() => exitPolicyAllows(policy, 'example.org', 80)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => exitPolicyAllows(policy, '1.2.3.4', 0)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('exit policy witness (the Exit flag rule)', () => {
  const cases: [string, boolean][] = [
    ['', false],
    ['reject *:*', false],
    ['accept *:*', true],
    ['accept 127.0.0.1/32:1-65535, reject *:*', true],
    ['reject *:*, accept *:*', false],
    ['reject *:1-100, reject *:101-65535, accept 1.2.3.4:80', false],
    ['reject 0.0.0.0/1:*, reject 128.0.0.0/1:*, accept *:*', false],
    ['reject 0.0.0.0/1:*, reject 128.0.0.0/2:*, accept *:*', true],
    ['reject 0.0.0.0/1:1-79, reject 0.0.0.0/1:81-65535, reject 128.0.0.0/1:*, accept *:*', true],
    ['reject 10.0.0.0/8:80, accept 10.0.0.0/8:80', false],
    ['reject 10.0.0.0/9:80, reject 10.128.0.0/9:80, accept 10.0.0.0/8:80', false],
    ['reject 10.0.0.0/9:80, reject 10.128.0.0/10:80, accept 10.0.0.0/8:80', true],
  ];
  it.each(cases)('%j → %s', (text, expected) => {
    const policy = parseExitPolicy(text);
    const w = exitPolicyWitness(policy);
    expect(w !== undefined).toBe(expected);
    if (w) expect(exitPolicyAllows(policy, w.address, w.port)).toBe(true);
  });
});

describe('exit policy codec', () => {
  it('encodes 10 bytes per rule and decodes to the same rules', () => {
    const policy = parseExitPolicy('accept 127.0.0.1/32:1-65535, reject 10.0.0.0/8:80-90, reject *:*');
    const w = new ByteWriter(1000);
    writeExitPolicy(w, policy);
    const bytes = w.finish();
    expect(bytes.length).toBe(1 + 3 * 10);
    const r = ByteReader.of(bytes, 1000);
    expect(readExitPolicy(r, failPeer('test'))).toEqual(policy);
    r.end();
  });

  it('refuses host bits set as DOCUMENT_NOT_CANONICAL and an unknown action as DOCUMENT_BAD_FIELD', () => {
    const hostBits = Uint8Array.from([1, 1, 10, 0, 0, 1, 8, 0, 1, 0, 1]);
    expect(() => readExitPolicy(ByteReader.of(hostBits, 100), failPeer('t'))).toThrowError(expect.objectContaining({ code: 'DOCUMENT_NOT_CANONICAL' }));
    const badAction = Uint8Array.from([1, 7, 10, 0, 0, 0, 8, 0, 1, 0, 1]);
    expect(() => readExitPolicy(ByteReader.of(badAction, 100), failPeer('t'))).toThrowError(expect.objectContaining({ code: 'DOCUMENT_BAD_FIELD' }));
    const badPorts = Uint8Array.from([1, 1, 10, 0, 0, 0, 8, 0, 9, 0, 1]);
    expect(() => readExitPolicy(ByteReader.of(badPorts, 100), failPeer('t'))).toThrowError(expect.objectContaining({ code: 'DOCUMENT_BAD_FIELD' }));
  });

  it('the shared rule check refuses a hand-built bad policy for encoders too', async () => {
    const { checkExitPolicy } = await import('../../src/dirdoc/exit-policy.js');
    const bad: ExitPolicy = [{ action: 'accept', address: 0x0a000001, maskBits: 8, portMin: 1, portMax: 2 }];
    expect(() => checkExitPolicy(bad, failLocal('t'))).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
