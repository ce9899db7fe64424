/**
 * The network file (src/io/network-file.ts): a valid file, defaults by testnet flag, the
 * write → load round trip, and each refusal with NETWORK_FILE_INVALID naming the field.
 * No crypto, so no provider loop.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isChiveError } from '../../src/errors.js';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_TIMING, TESTNET_TIMING, formatNetworkFile, loadNetworkFile, parseNetworkFile, pinnedIdentities, writeNetworkFile,
} from '../../src/io/network-file.js';

const ID_A = 'aa'.repeat(32);
const ID_B = 'bb'.repeat(32);

function file(over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    version: 1,
    testnet: true,
    authorities: [
      { name: 'auth0', url: 'http://127.0.0.1:7000', identity: ID_A },
      { name: 'auth1', url: 'http://127.0.0.1:7001/', identity: ID_B.toUpperCase() },
    ],
    timing: { votingIntervalMs: 3000, freshIntervals: 1, validIntervals: 3 },
    ...over,
  });
}

function refused(text: string, fragment: string): void {
  expect(() => parseNetworkFile(text, 'net.json')).toThrowError(
    expect.objectContaining({ code: 'NETWORK_FILE_INVALID', message: expect.stringContaining(fragment) }),
  );
}

describe('network file', () => {
  it('parses authorities (URL normalised, identity decoded) and timing', () => {
    const n = parseNetworkFile(file());
    expect(n.testnet).toBe(true);
    expect(n.authorities.map((a) => [a.name, a.url])).toEqual([['auth0', 'http://127.0.0.1:7000'], ['auth1', 'http://127.0.0.1:7001']]);
    expect(Buffer.from(pinnedIdentities(n)[1]!).toString('hex')).toBe(ID_B);
    expect(n.timing).toEqual({ votingIntervalMs: 3000, freshIntervals: 1, validIntervals: 3 });
  });

  it('defaults the timing by the testnet flag', () => {
    expect(parseNetworkFile(file({ timing: undefined })).timing).toEqual(TESTNET_TIMING);
    expect(parseNetworkFile(file({ timing: undefined, testnet: false })).timing).toEqual(DEFAULT_TIMING);
    expect(parseNetworkFile(file({ timing: { votingIntervalMs: 5000 } })).timing).toEqual({ ...TESTNET_TIMING, votingIntervalMs: 5000 });
    expect(TESTNET_TIMING.votingIntervalMs).toBe(10_000);
  });

  it('writes a file that loads back equal, mode 0644', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'chive-net-')), 'network.json');
    const n = parseNetworkFile(file());
    writeNetworkFile(path, n);
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(loadNetworkFile(path)).toEqual(n);
    expect(parseNetworkFile(formatNetworkFile(n))).toEqual(n);
  });

  it('refuses a missing file, bad JSON and a wrong version', () => {
    expect(() => loadNetworkFile('/nonexistent/chive/network.json')).toThrowError(
      expect.objectContaining({ code: 'NETWORK_FILE_INVALID', message: expect.stringContaining('does not exist') }),
    );
    refused('{', 'not valid JSON');
    refused('[]', 'must be a JSON object');
    refused(file({ version: 2 }), 'version must be 1');
    refused('x'.repeat(70_000), 'larger than');
  });

  it('refuses unknown keys anywhere (typos do not pass silently)', () => {
    refused(file({ testNet: true }), 'unknown key "testNet"');
    refused(file({ timing: { votingInterval: 3000 } }), 'unknown key "votingInterval" in timing');
    refused(file({ authorities: [{ name: 'a', url: 'http://h:1', identity: ID_A, port: 1 }] }), 'unknown key "port" in authorities[0]');
  });

  it('refuses bad authority lists', () => {
    refused(file({ authorities: [] }), 'authorities must be a list of 1..32');
    refused(file({ authorities: Array.from({ length: 33 }, (_, i) => ({ name: `a${i}`, url: 'http://h:1', identity: i.toString(16).padStart(64, '0') })) }), '1..32');
    refused(file({ authorities: [{ name: 'bad name', url: 'http://h:1', identity: ID_A }] }), 'authorities[0].name');
    refused(file({ authorities: [{ name: 'a', url: 'http://h:1', identity: ID_A }, { name: 'a', url: 'http://h:2', identity: ID_B }] }), 'used twice');
    refused(file({ authorities: [{ name: 'a', url: 'http://h:1', identity: ID_A }, { name: 'b', url: 'http://h:2', identity: ID_A }] }), 'pinned twice');
    refused(file({ authorities: [{ name: 'a', url: 'http://h:1', identity: 'abc' }] }), '64 hex digits');
    refused(file({ authorities: [{ name: 'a', url: 'ws://h:1', identity: ID_A }] }), 'http:// or https://');
    refused(file({ authorities: [{ name: 'a', url: 'http://h:1/dir', identity: ID_A }] }), 'no path');
    refused(file({ authorities: [{ name: 'a', url: 'http://u:p@h:1', identity: ID_A }] }), 'no path, query or credentials');
    refused(file({ authorities: [{ name: 'a', url: 'not a url', identity: ID_A }] }), 'is not a URL');
  });

  it('refuses bad timing', () => {
    refused(file({ timing: { votingIntervalMs: 999 } }), 'timing.votingIntervalMs must be an integer in 1000..');
    refused(file({ timing: { votingIntervalMs: 1500.5 } }), 'timing.votingIntervalMs');
    refused(file({ timing: { freshIntervals: 0 } }), 'timing.freshIntervals');
    refused(file({ timing: { freshIntervals: 3, validIntervals: 2 } }), 'must be ≥ timing.freshIntervals');
    refused(file({ testnet: 'yes' }), 'testnet must be true or false');
  });

  it('turns any text, JSON or not, into a config or NETWORK_FILE_INVALID (property)', () => {
    const anyText = fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ version: 1, authorities: v })));
    fc.assert(
      fc.property(anyText, (text) => {
        try {
          parseNetworkFile(text);
        } catch (e) {
          expect(isChiveError(e, 'NETWORK_FILE_INVALID')).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
