import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CONFIG_FIELDS, CONFIG_KEYS, applyOverrides, configHelpText, configReferenceMarkdown, emptyConfig,
  extractConfigFlags, findConfigKey, formatBytes, formatConfig, formatDuration, kebabCase, loadConfigFile,
  loadRelayConfig, parseBytes, parseConfigText, parseDuration, resolveConfig,
} from '../../relay/config.js';
import { parseExitPolicy, exitPolicyAllows } from '../../src/dirdoc/exit-policy.js';
import { ChiveError } from '../../src/errors.js';

const KB = 1024;
const MB = 1024 * 1024;
const S = 1000;
const DAY = 86_400_000;

/** Asserts that `fn` throws CONFIG_INVALID (fault local) whose message matches `pattern`. */
function expectConfigError(fn: () => unknown, pattern: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(ChiveError);
  expect((thrown as ChiveError).code).toBe('CONFIG_INVALID');
  expect((thrown as ChiveError).fault).toBe('local');
  expect((thrown as ChiveError).message).toMatch(pattern);
}

const resolveText = (text: string, path = '/etc/chive/relay.conf') => resolveConfig(parseConfigText(text, path));
const MINIMAL = 'DataDirectory /var/lib/chive\nTestnet 1\n';
const HEX_A = 'ab'.repeat(32);
const HEX_B = '01'.repeat(32);

describe('units', () => {
  it.each([
    ['0', 0], ['4096', 4096], ['100 bytes', 100], ['512 KB', 512 * KB], ['1 MB', MB], ['1.5 MB', 1.5 * MB],
    ['10 MBytes', 10 * MB], ['2GB', 2 * 1024 * MB], ['1 TB', 1024 * 1024 * MB], ['3 kib', 3 * KB], ['64 megabytes', 64 * MB],
  ])('parseBytes(%j) = %d', (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes);
  });

  it.each([
    ['90 s', 90 * S], ['30s', 30 * S], ['500 ms', 500], ['7 days', 7 * DAY], ['1 hour', 3_600_000], ['1.5 h', 5_400_000],
    ['2 weeks', 14 * DAY], ['5 min', 300 * S], ['1 day', DAY],
  ])('parseDuration(%j) = %d', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('rejects malformed quantities with a message naming the accepted units', () => {
    expectConfigError(() => parseBytes('-1 MB'), /not a byte count.*KB, MB/);
    expectConfigError(() => parseBytes('1 MX'), /unknown unit "MX"/);
    expectConfigError(() => parseBytes('lots'), /not a byte count/);
    expectConfigError(() => parseBytes('99999999999 TB'), /too large/);
    expectConfigError(() => parseDuration('30'), /needs a unit, e\.g\. "30 s"/);
    expectConfigError(() => parseDuration('3 fortnights'), /unknown unit "fortnights".*ms, s, min, h, days, weeks/);
    expectConfigError(() => parseDuration(''), /not a duration/);
  });

  it('formats exactly and parses back (property)', () => {
    expect(formatBytes(64 * MB)).toBe('64 MB');
    expect(formatBytes(1000)).toBe('1000 bytes');
    expect(formatDuration(7 * DAY)).toBe('7 days');
    expect(formatDuration(30 * S)).toBe('30 s');
    expect(formatDuration(60_000)).toBe('1 minute');
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 50 }), (n) => parseBytes(formatBytes(n)) === n));
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (n) => parseDuration(formatDuration(n)) === n));
  });
});

describe('config file parsing', () => {
  it('reads every key type into typed values', () => {
    const c = resolveText(`
Nickname Alpha1
Address 10.1.2.3
ORPort 9100
AdvertisedURL ws://relay.example.org:443
DataDirectory data
Network ../net/network.json
ExitPolicy accept *:80, accept *:443
ExitPolicy reject *:*
BandwidthRate 1 MB
BandwidthBurst 2 MB
AccountingMax 10 GB
AccountingPeriod week
Family ${HEX_A}
ContactInfo ops at example dot org
MaxLinks 100
MaxCircuits 2000
MaxCircuitsPerLink 300
CreateRate 2.5
CreateBurst 20
MaxQueuedBytes 32 MB
MaxQueuedBytesPerLink 512 KB
MetricsPort 9035
MetricsAddress 0.0.0.0
LogLevel debug
LogFile /var/log/chive.log
CryptoProvider noble
OnionKeyRotation 3 days
OnionKeyGrace 1 day
DescriptorUploadInterval 30 minutes
Testnet 0
`);
    expect(c).toMatchObject({
      nickname: 'Alpha1', address: '10.1.2.3', orPort: 9100, advertisedUrl: 'ws://relay.example.org:443',
      dataDirectory: '/etc/chive/data', network: '/etc/net/network.json',
      bandwidthRate: MB, bandwidthBurst: 2 * MB, accountingMax: 10 * 1024 * MB, accountingPeriod: 'week',
      contactInfo: 'ops at example dot org', maxLinks: 100, maxCircuits: 2000, maxCircuitsPerLink: 300,
      createRate: 2.5, createBurst: 20, maxQueuedBytes: 32 * MB, maxQueuedBytesPerLink: 512 * KB,
      metricsPort: 9035, metricsAddress: '0.0.0.0', logLevel: 'debug', logFile: '/var/log/chive.log',
      cryptoProvider: 'noble', onionKeyRotationMs: 3 * DAY, onionKeyGraceMs: DAY, descriptorUploadIntervalMs: 1_800_000,
      testnet: false,
    });
    expect(c.family).toEqual([new Uint8Array(32).fill(0xab)]);
    expect(c.exitPolicy.slice(-3)).toEqual(['accept *:80', 'accept *:443', 'reject *:*']);
  });

  it('gives every key its documented default', () => {
    const c = resolveText('DataDirectory /d\nTestnet 1\n');
    expect(c).toMatchObject({
      nickname: 'Unnamed', address: '127.0.0.1', orPort: 9001, advertisedUrl: 'ws://127.0.0.1:9001', network: undefined,
      exitPolicy: ['reject *:*'], bandwidthRate: 0, bandwidthBurst: 0, accountingMax: 0, accountingPeriod: 'month',
      family: [], contactInfo: undefined, maxLinks: 4096, maxCircuits: 65536, maxCircuitsPerLink: 8192, createRate: 200,
      createBurst: 400, maxQueuedBytes: 64 * MB, maxQueuedBytesPerLink: 8 * MB, metricsPort: 0, metricsAddress: undefined,
      logLevel: 'info', logFile: undefined, cryptoProvider: 'auto', onionKeyRotationMs: 7 * DAY, onionKeyGraceMs: 7 * DAY,
      descriptorUploadIntervalMs: 3_600_000,
    });
  });

  it('ignores comments and blank lines, accepts CRLF and a BOM, and matches keys case-insensitively', () => {
    const c = resolveText('\uFEFF# a relay\r\n\r\n   \r\nnickname Beta # trailing comment\r\nDATADIRECTORY /d\r\norport 0\r\ntestnet 1\r\nContactInfo a#b\r\n');
    expect(c.nickname).toBe('Beta');
    expect(c.orPort).toBe(0);
    expect(c.advertisedUrl).toBeUndefined();
    expect(c.contactInfo).toBe('a#b');
  });

  it('accumulates list keys: exit policy lines in order, family members deduplicated and sorted', () => {
    const base64 = Buffer.from(new Uint8Array(32).fill(0xab)).toString('base64');
    const c = resolveText(`${MINIMAL}ExitPolicy accept 127.0.0.1:7\nExitPolicy reject *:*\nFamily ${HEX_A}, $${HEX_B}\nfamily ${base64}\n`);
    expect(c.exitPolicy).toEqual(['accept 127.0.0.1/32:7', 'reject *:*']);
    expect(c.family).toEqual([new Uint8Array(32).fill(0x01), new Uint8Array(32).fill(0xab)]);
  });

  it('reports unknown keys, bad values, missing values and repeated scalars with file and line', () => {
    const at = '/etc/chive/relay.conf';
    expectConfigError(() => parseConfigText('Nickname A\n\nBogusKey 1\n', at), /^\/etc\/chive\/relay\.conf:3: unknown key "BogusKey"$/);
    expectConfigError(() => parseConfigText('or-port 1\n', at), /relay\.conf:1: unknown key "or-port" \(did you mean ORPort\?\)/);
    expectConfigError(() => parseConfigText('# x\nNickname has-dash\n', at), /relay\.conf:2: Nickname: .*1\.\.19 characters/);
    expectConfigError(() => parseConfigText('ORPort 70000\n', at), /relay\.conf:1: ORPort: "70000" is not a whole number in 0\.\.65535/);
    expectConfigError(() => parseConfigText('BandwidthRate 1 MX\n', at), /relay\.conf:1: BandwidthRate: .*unknown unit/);
    expectConfigError(() => parseConfigText('OnionKeyRotation 30\n', at), /relay\.conf:1: OnionKeyRotation: .*needs a unit/);
    expectConfigError(() => parseConfigText('OnionKeyRotation 30 days\n', at), /OnionKeyRotation: .*out of range: 1 s\.\.24 days/);
    expectConfigError(() => parseConfigText('ExitPolicy allow *:*\n', at), /relay\.conf:1: ExitPolicy: exit policy item "allow \*:\*"/);
    expectConfigError(() => parseConfigText('Family deadbeef\n', at), /relay\.conf:1: Family: family member "deadbeef"/);
    expectConfigError(() => parseConfigText('LogLevel loud\n', at), /LogLevel: "loud" is not one of trace, debug, info, warn, error/);
    expectConfigError(() => parseConfigText('Testnet yes\n', at), /Testnet: "yes" is not 0 or 1/);
    expectConfigError(() => parseConfigText('Address not_a_host!\n', at), /Address: .*not an IPv4 address/);
    expectConfigError(() => parseConfigText('AdvertisedURL http://x:1\n', at), /AdvertisedURL: .*ws:\/\/HOST:PORT/);
    expectConfigError(() => parseConfigText('MaxLinks 0\n', at), /MaxLinks: "0" is not a whole number in 1\.\./);
    expectConfigError(() => parseConfigText('ContactInfo\n', at), /relay\.conf:1: ContactInfo needs a value/);
    expectConfigError(() => parseConfigText('Nickname A\nORPort 1\nnickname B\n', at), /relay\.conf:3: Nickname is already set at \/etc\/chive\/relay\.conf:1/);
  });
});

describe('overrides', () => {
  const file = () => parseConfigText('DataDirectory /d\nTestnet 1\nORPort 9100\nExitPolicy accept 127.0.0.1:7\n', '/c/relay.conf');

  it('accepts the key name, its kebab-case, camelCase and --prefixed spellings, replacing the file value', () => {
    for (const flag of ['ORPort', 'or-port', '--or-port', '--ORPort', 'orPort']) {
      expect(resolveConfig(applyOverrides(file(), { [flag]: '0' })).orPort).toBe(0);
    }
    expect(resolveConfig(applyOverrides(file(), { orPort: undefined })).orPort).toBe(9100);
  });

  it('replaces list keys, takes commander booleans and numbers, and resolves paths from the cwd', () => {
    const c = resolveConfig(applyOverrides(file(), { 'exit-policy': ['accept 127.0.0.1:8', 'reject *:*'], testnet: true, 'metrics-port': 9500, 'log-file': 'relay.log' }, '/work'));
    expect(c.exitPolicy).toEqual(['accept 127.0.0.1/32:8', 'reject *:*']);
    expect(c.testnet).toBe(true);
    expect(c.metricsPort).toBe(9500);
    expect(c.logFile).toBe('/work/relay.log');
  });

  it('names the flag in errors and refuses unknown flags', () => {
    expectConfigError(() => applyOverrides(file(), { 'or-port': 'x' }), /^--or-port: ORPort: "x"/);
    expectConfigError(() => applyOverrides(file(), { 'no-such-thing': '1' }), /unknown option --no-such-thing/);
    expectConfigError(() => applyOverrides(file(), { nickname: ['A', 'B'] }), /--nickname: Nickname takes one value/);
  });

  it('extracts config flags from argv and leaves the rest', () => {
    const { overrides, rest } = extractConfigFlags(['--config', 'r.conf', '--ORPort', '0', '--exit-policy=accept 127.0.0.1:7', '--exit-policy', 'reject *:*', '--print-config']);
    expect(overrides).toEqual({ ORPort: ['0'], ExitPolicy: ['accept 127.0.0.1:7', 'reject *:*'] });
    expect(rest).toEqual(['--config', 'r.conf', '--print-config']);
    expectConfigError(() => extractConfigFlags(['--nickname']), /--nickname needs a value/);
  });
});

describe('resolution and cross-key checks', () => {
  it('requires DataDirectory and resolves relative paths from the config file', () => {
    expectConfigError(() => resolveConfig(emptyConfig()), /DataDirectory is required/);
    expect(resolveText('DataDirectory ./state\nTestnet 1\n', '/srv/relay/chive.conf').dataDirectory).toBe('/srv/relay/state');
  });

  it('checks bandwidth, queue and onion-key limits against each other', () => {
    expect(resolveText(`${MINIMAL}BandwidthRate 1 MB\n`).bandwidthBurst).toBe(MB);
    expectConfigError(() => resolveText(`${MINIMAL}BandwidthRate 2 MB\nBandwidthBurst 1 MB\n`), /relay\.conf:4: BandwidthBurst 1 MB is below BandwidthRate 2 MB/);
    expectConfigError(() => resolveText(`${MINIMAL}BandwidthBurst 1 MB\n`), /BandwidthRate is 0/);
    expectConfigError(() => resolveText(`${MINIMAL}MaxQueuedBytes 1 MB\nMaxQueuedBytesPerLink 2 MB\n`), /MaxQueuedBytesPerLink 2 MB exceeds MaxQueuedBytes 1 MB/);
    expectConfigError(() => resolveText(`${MINIMAL}OnionKeyRotation 30 s\nOnionKeyGrace 1 min\n`), /OnionKeyGrace 1 minute exceeds OnionKeyRotation 30 s/);
    expect(resolveText(`${MINIMAL}OnionKeyRotation 30 s\n`).onionKeyGraceMs).toBe(30 * S);
    expectConfigError(() => resolveText(`${MINIMAL}ORPort 9100\nMetricsPort 9100\n`), /MetricsPort must differ from ORPort/);
  });

  it('refuses to advertise a private or loopback address outside a testnet', () => {
    expectConfigError(() => resolveText('DataDirectory /d\n'), /default: the relay would advertise 127\.0\.0\.1.*Testnet 1/);
    expectConfigError(() => resolveText('DataDirectory /d\nAdvertisedURL ws://192.168.1.4:9001\n'), /relay\.conf:2: .*192\.168\.1\.4/);
    expectConfigError(() => resolveText('DataDirectory /d\nAddress 0.0.0.0\n'), /Address 0\.0\.0\.0 cannot be dialled.*AdvertisedURL/);
    const c = resolveText('DataDirectory /d\nAddress 0.0.0.0\nAdvertisedURL ws://203.0.113.9:443\n');
    expect(c.advertisedUrl).toBe('ws://203.0.113.9:443');
    expect(resolveText('DataDirectory /d\nTestnet 1\nORPort 0\n').advertisedUrl).toBeUndefined();
  });

  it('outside a testnet, puts rejects of private ranges and the own address in front of an accepting policy, once', () => {
    const text = 'DataDirectory /d\nAdvertisedURL ws://203.0.113.9:443\nExitPolicy accept *:80\n';
    const c = resolveText(text);
    const policy = parseExitPolicy(c.exitPolicy.join('\n'));
    expect(exitPolicyAllows(policy, '93.184.216.34', 80)).toBe(true);
    for (const ip of ['127.0.0.1', '10.1.1.1', '192.168.0.9', '172.20.0.1', '169.254.1.1', '100.64.0.1', '203.0.113.9']) {
      expect(exitPolicyAllows(policy, ip, 80)).toBe(false);
    }
    expect(c.exitPolicy.at(-1)).toBe('accept *:80');
    const again = resolveConfig(parseConfigText(formatConfig(c), '/x/relay.conf'));
    expect(again.exitPolicy).toEqual(c.exitPolicy);
    expect(resolveText('DataDirectory /d\nAdvertisedURL ws://203.0.113.9:443\n').exitPolicy).toEqual(['reject *:*']);
  });

  it('refuses an accept rule wholly inside a private range unless Testnet 1, naming the line', () => {
    const text = 'DataDirectory /d\nAdvertisedURL ws://203.0.113.9:443\nExitPolicy reject *:25\nExitPolicy accept 127.0.0.1:7\n';
    expectConfigError(() => resolveText(text), /relay\.conf:4: ExitPolicy rule "accept 127\.0\.0\.1\/32:7" accepts only private addresses \(127\.0\.0\.0\/8\)/);
    const c = resolveText(text + 'Testnet 1\n');
    expect(c.exitPolicy).toEqual(['reject *:25', 'accept 127.0.0.1/32:7']);
    expect(exitPolicyAllows(parseExitPolicy(c.exitPolicy.join('\n')), '127.0.0.1', 7)).toBe(true);
  });

  it('caps the family size', () => {
    const keys = Array.from({ length: 17 }, (_, i) => i.toString(16).padStart(2, '0').repeat(32));
    expectConfigError(() => resolveText(`${MINIMAL}${keys.map((k) => `Family ${k}`).join('\n')}\n`), /Family lists 17 relays; at most 16/);
  });
});

describe('files, printing, help and docs', () => {
  it('loads a file from disk and reports unreadable or non-UTF-8 files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chive-config-'));
    const path = join(dir, 'relay.conf');
    writeFileSync(path, 'Nickname FromDisk\nDataDirectory state\nTestnet 1\n');
    const c = await loadRelayConfig({ file: path, overrides: { 'or-port': '0' } });
    expect(c).toMatchObject({ nickname: 'FromDisk', dataDirectory: join(dir, 'state'), orPort: 0 });
    await expect(loadConfigFile(join(dir, 'missing.conf'))).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('ENOENT') });
    writeFileSync(path, Buffer.from([0x4e, 0xff, 0xfe, 0x0a]));
    await expect(loadConfigFile(path)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('not valid UTF-8') });
  });

  it('prints the effective configuration as a file that parses back to the same configuration', () => {
    const c = resolveText(`${MINIMAL}Nickname Round\nBandwidthRate 1.5 MB\nFamily ${HEX_A}\nExitPolicy accept 127.0.0.1:7-9\nContactInfo me\nOnionKeyRotation 90 s\nLogFile rel.log\n`);
    const printed = formatConfig(c);
    expect(printed).toContain('BandwidthRate 1536 KB\n');
    expect(printed).toContain('# Network (unset: none)\n');
    expect(resolveConfig(parseConfigText(printed, '/elsewhere/r.conf'))).toEqual(c);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 1000, max: 24 * DAY }), fc.constantFrom('day', 'week', 'month'), (port, rotation, period) => {
        const d = resolveText(`${MINIMAL}ORPort ${port}\nOnionKeyRotation ${rotation} ms\nAccountingPeriod ${period}\n`);
        expect(resolveConfig(parseConfigText(formatConfig(d), '/p/r.conf'))).toEqual(d);
      }),
      { numRuns: 50 },
    );
  });

  it('spells flags in kebab-case without two keys colliding', () => {
    expect(kebabCase('ORPort')).toBe('or-port');
    expect(kebabCase('AdvertisedURL')).toBe('advertised-url');
    expect(kebabCase('MaxQueuedBytesPerLink')).toBe('max-queued-bytes-per-link');
    const normalised = CONFIG_FIELDS.map((f) => CONFIG_KEYS[f].name.toLowerCase());
    expect(new Set(normalised).size).toBe(CONFIG_FIELDS.length);
    for (const f of CONFIG_FIELDS) expect(findConfigKey(`--${kebabCase(CONFIG_KEYS[f].name)}`)).toBe(f);
  });

  it('documents every key and its flag in --help', () => {
    const help = configHelpText();
    for (const f of CONFIG_FIELDS) {
      const def = CONFIG_KEYS[f];
      expect(help).toContain(`  ${def.name} ${def.type}  (--${kebabCase(def.name)}`);
      expect(help).toContain(def.doc);
    }
    expect(CONFIG_FIELDS.length).toBeGreaterThanOrEqual(29);
  });

  it('docs/RELAY.md holds the configuration reference generated from the key table', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../docs/RELAY.md', import.meta.url)), 'utf8');
    const start = '<!-- config-reference:start -->\n';
    const end = '<!-- config-reference:end -->';
    const section = doc.slice(doc.indexOf(start) + start.length, doc.indexOf(end));
    expect(doc.indexOf(start)).toBeGreaterThan(0);
    expect(section).toBe(configReferenceMarkdown());
    for (const f of CONFIG_FIELDS) expect(section).toContain(`| \`${CONFIG_KEYS[f].name}\` |`);
  });
});
