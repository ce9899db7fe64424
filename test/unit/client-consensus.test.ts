/**
 * The client's consensus (client/consensus.ts) against stub authorities over real HTTP on
 * 127.0.0.1, through both crypto providers: acceptance with 3 and 2 of 3 signatures, the
 * random authority order, every refusal (forged, duplicated, unknown-keys-only, single
 * signature, expired, not yet valid) with its code, unreachable authorities, the disk
 * cache across restarts (a stale or foreign cache refused), the refetch jitter window,
 * automatic refresh after freshUntil, and retries at start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isChiveError } from '../../src/errors.js';
import { decodeDetachedSignature, encodeDetachedSignature, uploadToAuthorities } from '../../src/io/directory-client.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { concatBytes } from '../../src/bytes.js';
import {
  type Consensus, type UnsignedConsensus, addSignatures, computeConsensus, encodeConsensus, encodeConsensusBody,
  signConsensus,
} from '../../src/dirdoc/index.js';
import type { NetworkConfig } from '../../src/io/network-file.js';
import { CONSENSUS_CACHE_FILE, ConsensusClient, type ConsensusClientOptions } from '../../client/consensus.js';
import { HOUR, NOW, type TestAuthority, checkedRelay, entry, makeAuthorities, seed, vote } from './dirdoc-fixtures.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An HTTP server answering GET /chive/v1/consensus with whatever `serve` holds now. */
async function stubAuthority(initial: Uint8Array | null): Promise<{ url: string; hits: () => number; serve: (b: Uint8Array | null) => void; server: Server }> {
  let body = initial;
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    if (req.url !== '/chive/v1/consensus' || body === null) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ code: 'DIRECTORY_NOT_FOUND', message: 'no consensus published yet' }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.end(Buffer.from(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits, serve: (b) => (body = b), server };
}

/** A URL nobody listens on. */
async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

function network(auths: readonly TestAuthority[], urls: readonly string[]): NetworkConfig {
  return {
    testnet: true,
    authorities: auths.map((a, i) => ({ name: `auth${i}`, url: urls[i]!, identity: a.identity })),
    timing: { votingIntervalMs: HOUR, freshIntervals: 1, validIntervals: 3 },
  };
}

function body(p: CryptoProvider, auths: readonly TestAuthority[], window = { validAfter: NOW, freshUntil: NOW + HOUR, validUntil: NOW + 3 * HOUR }): UnsignedConsensus {
  const relays = [0, 1, 2].map((i) => checkedRelay(p, i));
  const votes = auths.map((a) => vote(p, a, auths, relays.map((r) => entry(r)), window));
  return computeConsensus(votes, auths.map((a) => a.identity));
}

function signedBy(p: CryptoProvider, b: UnsignedConsensus, signers: readonly TestAuthority[]): Consensus {
  return addSignatures(p, b, signers.map((a) => signConsensus(p, a.seed, b)));
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'chive-client-'));

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('consensus client (%s)', (_name, p) => {
  const auths = makeAuthorities(p, 3);
  const b = body(p, auths);
  const full = encodeConsensus(signedBy(p, b, auths));

  function client(net: NetworkConfig, extra: Partial<ConsensusClientOptions> = {}): ConsensusClient {
    const c = new ConsensusClient({ provider: p, network: net, now: () => NOW + 1000, fetchTimeoutMs: 2000, ...extra });
    cleanups.push(() => c.stop());
    return c;
  }

  async function refusedWith(doc: Uint8Array, code: string, fragment: string, now = NOW + 1000): Promise<void> {
    const stubs = await Promise.all([stubAuthority(doc), stubAuthority(doc), stubAuthority(doc)]);
    const c = client(network(auths, stubs.map((s) => s.url)), { now: () => now });
    const err = await c.refresh().then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code, message: expect.stringContaining(fragment) });
    for (const i of [0, 1, 2]) expect((err as Error).message).toContain(`auth${i} (${stubs[i]!.url})`);
    expect(c.current()).toBeNull();
  }

  it('accepts a consensus signed by all three pinned authorities and caches it (0600)', async () => {
    const dir = tmp();
    const stubs = await Promise.all([stubAuthority(full), stubAuthority(full), stubAuthority(full)]);
    const c = client(network(auths, stubs.map((s) => s.url)), { dataDir: dir });
    const got = await c.start();
    expect(got.validSigners).toHaveLength(3);
    expect(got.relays).toHaveLength(3);
    expect(statSync(join(dir, CONSENSUS_CACHE_FILE)).mode & 0o777).toBe(0o600);
  });

  it('accepts 2 of 3 signatures, from whichever authority still answers', async () => {
    const two = encodeConsensus(signedBy(p, b, auths.slice(0, 2)));
    const live = await stubAuthority(two);
    const c = client(network(auths, [await deadUrl(), live.url, await deadUrl()]));
    const got = await c.refresh();
    expect(got.validSigners).toHaveLength(2);
    expect(live.hits()).toBe(1);
  });

  it('asks the authorities in a random order', async () => {
    const stubs = await Promise.all([stubAuthority(full), stubAuthority(full), stubAuthority(full)]);
    for (let i = 0; i < 30; i++) await client(network(auths, stubs.map((s) => s.url))).refresh();
    for (const s of stubs) expect(s.hits()).toBeGreaterThan(0);
    expect(stubs.reduce((n, s) => n + s.hits(), 0)).toBe(30);
  });

  it('refuses a consensus signed by one authority only (CONSENSUS_UNDER_SIGNED)', async () => {
    await refusedWith(encodeConsensus(signedBy(p, b, auths.slice(2))), 'CONSENSUS_UNDER_SIGNED', 'has 1 valid signature of 3 pinned authorities; 2 needed');
  });

  it('refuses forged signatures: they do not count', async () => {
    const c = signedBy(p, b, auths);
    const forged: Consensus = {
      ...c,
      signatures: c.signatures.map((s, i) => (i === 0 ? s : { ...s, signature: s.signature.map((x, j) => (j === 5 ? x ^ 1 : x)) })),
    };
    await refusedWith(encodeConsensus(forged), 'CONSENSUS_UNDER_SIGNED', '2 invalid signatures from pinned authorities');
  });

  it('refuses a duplicated signature (one signer counted once; the encoding is refused first)', async () => {
    const one = signedBy(p, b, auths.slice(0, 1)).signatures[0]!;
    const sig = concatBytes(one.identity, one.signature);
    const duplicated = concatBytes(encodeConsensusBody(b), new Uint8Array([2]), sig, sig);
    await refusedWith(duplicated, 'DOCUMENT_NOT_CANONICAL', 'signatures are not sorted by authority identity and unique');
  });

  it('refuses a consensus signed only by keys that are not pinned', async () => {
    const strangers = Array.from({ length: 3 }, (_, i) => {
      const s = seed(77, i);
      return { seed: s, identity: p.ed25519PublicKey(s) };
    });
    await refusedWith(encodeConsensus(signedBy(p, b, strangers)), 'CONSENSUS_UNDER_SIGNED', '3 signatures from unknown keys');
  });

  it('refuses a consensus past validUntil and one before validAfter', async () => {
    await refusedWith(full, 'CONSENSUS_EXPIRED', 'consensus expired at', NOW + 3 * HOUR + 1);
    await refusedWith(full, 'CONSENSUS_NOT_YET_VALID', 'consensus is valid only after', NOW - 1);
  });

  it('reports every unreachable authority (CONSENSUS_UNAVAILABLE)', async () => {
    const c = client(network(auths, [await deadUrl(), await deadUrl(), await deadUrl()]));
    const err = await c.start().then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'CONSENSUS_UNAVAILABLE', message: expect.stringContaining('DIRECTORY_UNREACHABLE') });
    expect(c.lastError).toBe(err);
  });

  it('serves from the cache after a restart, with no authority reachable', async () => {
    const dir = tmp();
    const stubs = await Promise.all([stubAuthority(full), stubAuthority(full), stubAuthority(full)]);
    const first = await client(network(auths, stubs.map((s) => s.url)), { dataDir: dir }).start();
    const dead = network(auths, [await deadUrl(), await deadUrl(), await deadUrl()]);
    const again = client(dead, { dataDir: dir, now: () => NOW + 2000 });
    const got = await again.start();
    expect(encodeConsensus(got)).toEqual(encodeConsensus(first));
    expect(again.cacheError).toBeNull();
  });

  it('refuses a stale cache (CONSENSUS_EXPIRED) and a cache from another network, saying so', async () => {
    const dir = tmp();
    const stubs = await Promise.all([stubAuthority(full), stubAuthority(full), stubAuthority(full)]);
    await client(network(auths, stubs.map((s) => s.url)), { dataDir: dir }).start();
    const dead = network(auths, [await deadUrl(), await deadUrl(), await deadUrl()]);
    const late = client(dead, { dataDir: dir, now: () => NOW + 3 * HOUR + 1 });
    const err = await late.start().then(() => null, (e: unknown) => e);
    expect(late.cacheError).toMatchObject({ code: 'CONSENSUS_EXPIRED' });
    expect(err).toMatchObject({ code: 'CONSENSUS_UNAVAILABLE', message: expect.stringContaining('cached consensus in') });
    expect((err as Error).message).toContain('CONSENSUS_EXPIRED');

    const others = [0, 1, 2].map((i) => ({ seed: seed(55, i), identity: p.ed25519PublicKey(seed(55, i)) }));
    const foreign = client(network(others, await Promise.all(others.map(() => deadUrl()))), { dataDir: dir });
    expect(foreign.loadCache()).toBeNull();
    expect(foreign.cacheError).toMatchObject({ code: 'CONSENSUS_UNDER_SIGNED' });
  });

  it('schedules the refetch after freshUntil, within the jitter window', async () => {
    const stub = await stubAuthority(full);
    let counter = 0;
    for (let i = 0; i < 20; i++) {
      const c = client(network(auths, [stub.url, stub.url, stub.url]), { rng: (n) => new Uint8Array(n).fill((counter += 13) & 0xff) });
      await c.refresh();
      const at = c.refetchAt()!;
      expect(at).toBeGreaterThanOrEqual(NOW + HOUR);
      expect(at).toBeLessThanOrEqual(NOW + HOUR + 0.5 * 2 * HOUR);
    }
    const exact = client(network(auths, [stub.url, stub.url, stub.url]), { refetchSpread: 0 });
    await exact.refresh();
    expect(exact.refetchAt()).toBe(NOW + HOUR);
  });

  it('refreshes by itself once the consensus is no longer fresh, and never goes back to an older one', async () => {
    const offset = NOW + HOUR - 300 - Date.now(); // the client's clock: 300 ms before freshUntil
    const stub = await stubAuthority(full);
    const c = client(network(auths, [stub.url, stub.url, stub.url]), { now: () => Date.now() + offset, refetchSpread: 0, retryMs: 100 });
    await c.start();
    const next = encodeConsensus(signedBy(p, body(p, auths, { validAfter: NOW + HOUR, freshUntil: NOW + 2 * HOUR, validUntil: NOW + 4 * HOUR }), auths));
    stub.serve(next);
    const got = await new Promise<number>((resolve) => c.onConsensus((x) => resolve(x.validAfter)));
    expect(got).toBe(NOW + HOUR);
    stub.serve(full);
    await c.refresh();
    expect(c.current()!.validAfter).toBe(NOW + HOUR);
  });

  it('keeps retrying at start until the first consensus appears', async () => {
    const stub = await stubAuthority(null);
    const c = client(network(auths, [stub.url, stub.url, stub.url]), { retryMs: 50, bootstrapTimeoutMs: 5000 });
    setTimeout(() => stub.serve(full), 300);
    const got = await c.start();
    expect(got.validSigners).toHaveLength(3);
    expect(stub.hits()).toBeGreaterThan(3);
  });
});

describe('authority answers parsed by clients', () => {
  it('decodes a detached signature of exactly 128 bytes; anything else is a typed error (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          const s = decodeDetachedSignature(bytes);
          expect(bytes.length).toBe(128);
          expect(encodeDetachedSignature(s)).toEqual(bytes);
        } catch (e) {
          expect(bytes.length).not.toBe(128);
          expect(isChiveError(e)).toBe(true);
        }
      }),
    );
  });

  it('uploads to every authority and reports each outcome, never rejecting', async () => {
    const stub = await stubAuthority(null);
    const outcomes = await uploadToAuthorities([{ name: 'a', url: stub.url }, { name: 'b', url: await deadUrl() }], new Uint8Array(10), { timeoutMs: 2000 });
    expect(outcomes.map((o) => ('error' in o ? o.error.code : o.receipt.status))).toEqual(['DIRECTORY_NOT_FOUND', 'DIRECTORY_UNREACHABLE']);
  });
});
