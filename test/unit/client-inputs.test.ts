/**
 * Typed errors for bad inputs to the client's circuit API, caught before any network I/O:
 * relay descriptions (client/relay-info.ts), buildCircuit options, LinkPool options and
 * gets. Through both crypto providers where a provider is involved.
 */
import { describe, expect, it } from 'vitest';
import { buildCircuit } from '../../client/circuit-builder.js';
import { LinkPool } from '../../client/link-pool.js';
import { checkRelayInfo, describeRelay, relayKey, type RelayInfo } from '../../client/relay-info.js';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { MAX_HOPS } from '../../src/wire/constants.js';

const providers = allCryptoProviders().map((p) => [p.name, p] as const);

function relay(p: CryptoProvider, extra: Partial<RelayInfo> = {}): RelayInfo {
  return {
    identity: p.randomBytes(32), onionKey: p.randomBytes(32), linkKey: p.randomBytes(32),
    url: 'ws://127.0.0.1:9', ...extra,
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code ?? 'no code';
  }
  return undefined;
}

describe.each(providers)('client inputs (%s)', (_name, p) => {
  it('checkRelayInfo accepts a well-formed relay and refuses wrong key sizes and URLs', () => {
    expect(codeOf(() => checkRelayInfo(relay(p)))).toBeUndefined();
    expect(codeOf(() => checkRelayInfo(relay(p, { url: 'wss://relay.example:443/x' })))).toBeUndefined();
    for (const bad of [
      { identity: p.randomBytes(31) }, { onionKey: p.randomBytes(33) }, { linkKey: new Uint8Array(0) },
      { url: 'http://127.0.0.1:9' }, { url: 'ws://' }, { url: 'ws://a b' }, { url: `ws://${'a'.repeat(300)}` },
      { identity: 'not bytes' as unknown as Uint8Array },
    ]) {
      expect(codeOf(() => checkRelayInfo(relay(p, bad)))).toBe('INVALID_ARGUMENT');
    }
    expect(codeOf(() => checkRelayInfo(null as unknown as RelayInfo))).toBe('INVALID_ARGUMENT');
  });

  it('describeRelay names a relay without secrets; relayKey tells relays apart', () => {
    const r = relay(p, { identity: Uint8Array.from({ length: 32 }, (_, i) => i) });
    expect(describeRelay(r)).toBe('00010203');
    expect(describeRelay({ ...r, nickname: 'Alice' })).toBe('Alice (00010203)');
    expect(relayKey(r)).not.toBe(relayKey({ ...r, url: 'ws://127.0.0.1:10' }));
    expect(relayKey(r)).not.toBe(relayKey({ ...r, linkKey: p.randomBytes(32) }));
    expect(relayKey(r)).toBe(relayKey({ ...r, nickname: 'other name' }));
  });

  it('buildCircuit refuses bad paths, timeouts and missing parts with INVALID_ARGUMENT, before any I/O', async () => {
    const pool = new LinkPool({ provider: p, rng: (n) => p.randomBytes(n) });
    const base = { provider: p, rng: (n: number) => p.randomBytes(n), pool, timeoutMs: 1000 };
    const cases = [
      { ...base, path: [] },
      { ...base, path: Array.from({ length: MAX_HOPS + 1 }, () => relay(p)) },
      { ...base, path: [relay(p), relay(p, { onionKey: new Uint8Array(5) })] },
      { ...base, path: [relay(p)], timeoutMs: 0 },
      { ...base, path: [relay(p)], timeoutMs: Number.NaN },
      { ...base, path: [relay(p)], timeoutMs: Number.POSITIVE_INFINITY },
      { ...base, path: [relay(p)], rng: undefined as unknown as (n: number) => Uint8Array },
    ];
    for (const options of cases) {
      await expect(buildCircuit(options)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(pool.size).toBe(0);
    pool.close();
  });

  it('LinkPool refuses a bad connect timeout and a bad relay; a closed pool refuses gets with LINK_CLOSED', async () => {
    expect(codeOf(() => new LinkPool({ provider: p, rng: (n) => p.randomBytes(n), connectTimeoutMs: 0 }))).toBe('INVALID_ARGUMENT');
    const pool = new LinkPool({ provider: p, rng: (n) => p.randomBytes(n) });
    await expect(pool.get(relay(p, { linkKey: new Uint8Array(3) }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    pool.close();
    expect(pool.closed).toBe(true);
    await expect(pool.get(relay(p))).rejects.toMatchObject({ code: 'LINK_CLOSED' });
  });
});
