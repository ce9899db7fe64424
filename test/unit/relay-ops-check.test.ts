/**
 * `chive relay check` (relay/check.ts), with both crypto providers for the handshakes:
 *   - a sound relay: nothing fails, the self-test completes a Noise NK handshake with a
 *     temporary listener on ORPort — or with the relay itself when it runs;
 *   - each failing check, with its fix: a bad configuration line; an exit policy accepting a
 *     private range outside a testnet; a Family without ContactInfo; an Address that is not
 *     this machine's; an AdvertisedURL nobody answers at; a key file and a data directory
 *     open to others; an offline identity's signing key about to expire;
 *   - the command prints ✓ / ✗ lines with fixes and exits 0 only when all is well.
 */
import { describe, expect, it, vi } from 'vitest';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { type CheckResult, formatCheckResults, runRelayChecks } from '../../relay/check.js';
import { runKeygen } from '../../relay/keygen.js';
import { runRelayCommand } from '../../relay/command.js';
import { startRelay } from '../../relay/index.js';
import { freePort, tempDirs } from '../support/temp.js';

const tempDir = tempDirs('chive-check-');

/** A relay folder with keys and a config file; `lines` replace or add keys. */
async function relayConf(provider: CryptoProvider, lines: Record<string, string> = {}): Promise<{ dir: string; file: string; port: number }> {
  const dir = tempDir();
  const port = await freePort();
  runKeygen({ provider, rng: (n) => provider.randomBytes(n), dataDir: join(dir, 'data'), now: Date.now() });
  const keys: Record<string, string> = {
    Nickname: 'Checked', DataDirectory: 'data', Address: '127.0.0.1', ORPort: String(port), Testnet: '1',
    ContactInfo: 'ops@example.org', LogFile: 'relay.log', MetricsPort: String(await freePort()), ...lines,
  };
  const file = join(dir, 'relay.conf');
  writeFileSync(file, Object.entries(keys).filter(([, v]) => v !== '').map(([k, v]) => `${k} ${v}`).join('\n') + '\n');
  return { dir, file, port };
}

const failed = (results: CheckResult[]) => results.filter((r) => r.status === 'fail');
const named = (results: CheckResult[], name: string) => results.filter((r) => r.name === name);

describe.each(allCryptoProviders())('chive relay check ($name)', (provider) => {
  const rng = (n: number) => provider.randomBytes(n);
  const check = (file: string) => runRelayChecks({ file, provider, rng, selfTestTimeoutMs: 1000 });

  it('a sound relay: all is well, the self-test reaches a temporary listener, then the running relay', async () => {
    const { dir, file, port } = await relayConf(provider);
    const results = await check(file);
    expect(failed(results)).toEqual([]);
    expect(named(results, 'reachability')[0]!.detail).toMatch(/Noise NK handshake with ws:\/\/127\.0\.0\.1:\d+ in \d+ ms \(a temporary listener/);
    expect(formatCheckResults(results)).toMatch(/✓ configuration: .*\n[\s\S]*all is well\n$/);
    const relay = await startRelay({ dataDir: join(dir, 'data'), provider, port });
    try {
      const running = await check(file);
      expect(failed(running)).toEqual([]);
      expect(named(running, 'address')[0]!.detail).toContain('in use');
      expect(named(running, 'reachability')[0]!.detail).toContain('(the running relay)');
    } finally {
      await relay.close();
    }
  });

  it('an AdvertisedURL nobody answers at fails the self-test, with what to open', async () => {
    const elsewhere = await freePort();
    const { file } = await relayConf(provider, { AdvertisedURL: `ws://127.0.0.1:${elsewhere}` });
    const [r] = named(await check(file), 'reachability');
    expect(r).toMatchObject({ status: 'fail' });
    expect(r!.detail).toContain('no Noise NK handshake with the advertised address');
    expect(r!.fix).toContain(`port ${elsewhere}`);
  });

  it('an Address that is not this machine\'s cannot be bound, and is not reachable', async () => {
    const { file } = await relayConf(provider, { Address: '192.0.2.1' });
    const results = await check(file);
    expect(named(results, 'address')[0]).toMatchObject({ status: 'fail', detail: expect.stringContaining('EADDRNOTAVAIL') });
    expect(named(results, 'reachability')[0]!.status).toBe('fail');
  });
});

describe('chive relay check: configuration and files', () => {
  const provider = allCryptoProviders()[0]!;
  const check = (file: string) => runRelayChecks({ file, provider, rng: (n) => provider.randomBytes(n), selfTestTimeoutMs: 500 });

  it('a bad line stops at the configuration, naming it', async () => {
    const { file } = await relayConf(provider, { ORPrt: '9001' });
    const results = await check(file);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ status: 'fail', name: 'configuration', detail: expect.stringMatching(/relay\.conf:\d+: unknown key "ORPrt"/) });
  });

  it('an exit policy accepting a private range outside a testnet', async () => {
    const { file } = await relayConf(provider, { Testnet: '0', AdvertisedURL: 'ws://203.0.113.9:9001', ExitPolicy: 'accept 192.168.0.0/16:*' });
    const results = await check(file);
    const [r] = named(results, 'exit policy');
    expect(r).toMatchObject({ status: 'fail' });
    expect(r!.detail).toMatch(/relay\.conf:\d+: "accept 192\.168\.0\.0\/16:\*" accepts private addresses \(192\.168\.0\.0\/16\) outside a testnet/);
    expect(r!.fix).toContain('Testnet 1');
    expect(named(results, 'configuration')[0]!.status).toBe('ok'); // the rest was checked
  });

  it('a resolved exit policy rejects private ranges in front of a broad accept', async () => {
    const { file } = await relayConf(provider, { Testnet: '0', AdvertisedURL: 'ws://203.0.113.9:9001', ExitPolicy: 'accept *:443' });
    expect(named(await check(file), 'exit policy')[0]).toMatchObject({ status: 'ok', detail: expect.stringContaining('private ranges and this relay\'s own address are rejected') });
  });

  it('a Family without ContactInfo', async () => {
    const { file } = await relayConf(provider, { ContactInfo: '', Family: 'ab'.repeat(32) });
    expect(named(await check(file), 'family')[0]).toMatchObject({ status: 'fail', fix: expect.stringContaining('set ContactInfo') });
  });

  it('key files and a data directory open to group or others', async () => {
    const { dir, file } = await relayConf(provider);
    chmodSync(join(dir, 'data', 'keys', 'link.key'), 0o644);
    chmodSync(join(dir, 'data'), 0o755);
    const results = await check(file);
    const key = named(results, 'key file')[0]!;
    expect(key).toMatchObject({ status: 'fail', fix: `chmod 600 ${join(dir, 'data', 'keys', 'link.key')}` });
    expect(named(results, 'data directory')[0]).toMatchObject({ status: 'fail', fix: `chmod 700 ${join(dir, 'data')}` });
  });

  it('an offline identity whose signing key expires within a week', async () => {
    const { dir, file } = await relayConf(provider);
    mkdirSync(join(dir, 'offline'));
    runKeygen({
      provider, rng: (n) => provider.randomBytes(n), dataDir: join(dir, 'data'), identityKeyFile: join(dir, 'offline', 'identity.key'),
      signingKeyLifetimeMs: 3 * 86_400_000, now: Date.now(),
    });
    const [r] = named(await check(file), 'signing key');
    expect(r).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^expires in 2 days 23 h/) });
    expect(r!.fix).toContain('chive relay keygen');
  });

  it('the command prints ✓ / ✗ with fixes, and exits 0 only when all is well', async () => {
    const good = await relayConf(provider);
    const bad = await relayConf(provider, { ContactInfo: '', Family: 'cd'.repeat(32) });
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    let codes: number[];
    try {
      codes = [await runRelayCommand(['check', '--config', good.file]), await runRelayCommand(['check', '--config', bad.file]), await runRelayCommand(['check', '--bogus'])];
    } finally {
      spy.mockRestore();
    }
    expect(codes).toEqual([0, 1, 2]);
    const text = out.join('');
    expect(text).toContain('✓ reachability: Noise NK handshake');
    expect(text).toContain('✗ family: Family lists 1 relay but ContactInfo is not set\n    fix: set ContactInfo');
    expect(text).toContain('1 problem to fix');
  });
});
