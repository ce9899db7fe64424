/**
 * Directory authorities over real HTTP and real links on 127.0.0.1, through both crypto
 * providers:
 *   - 3 authorities and real relays (link servers holding the link keys of their signed
 *     descriptors): a consensus appears, signed by all three, identical at each; the
 *     client accepts it; a down relay and one without its link key are not listed;
 *   - one authority stopped: the other two publish the next consensus, the client accepts
 *     it (2 of 3); two stopped: the survivor publishes nothing new, and a consensus
 *     carrying only its signature is refused by the client (CONSENSUS_UNDER_SIGNED);
 *   - every upload refusal over HTTP (bad signature, missing or wrong cert, published
 *     far past or future, identity conflict, oversized, truncated, cut-off body) and the
 *     API's own errors; the vote and signature endpoints;
 *   - the `chive directory` command module.
 * The authorities' logs are printed when the 3-authority test fails (or always, with
 * CHIVE_DIRECTORY_TEST_LOG=1).
 */
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { toHex } from '../../src/bytes.js';
import {
  type RelayDescriptor, addSignatures, checkVote, consensusDigest, decodeConsensus, decodeVote, encodeConsensus,
  encodeDescriptor, signDescriptor,
} from '../../src/dirdoc/index.js';
import { encodeDescriptorBody } from '../../src/dirdoc/descriptor.js';
import { signWithDomain } from '../../src/dirdoc/signing.js';
import { signKeyCert } from '../../src/dirdoc/cert.js';
import {
  fetchConsensusBytes, fetchDescriptorBytes, fetchDetachedSignature, fetchVoteBytes, uploadDescriptor,
} from '../../src/io/directory-client.js';
import { formatNetworkFile, pinnedIdentities, type NetworkConfig } from '../../src/io/network-file.js';
import { CertType, MAX_DESCRIPTOR_LEN, RelayFlag, SIG_DOMAIN_DESCRIPTOR } from '../../src/wire/constants.js';
import { ConsensusClient } from '../../client/consensus.js';
import { authorityIdentity, startAuthority } from '../../directory/index.js';
import { runDirectoryCommand } from '../../directory/command.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DAY, type TestRelay, eventually, relayFields, removeDirs, startAuthorities, startRelay, tempDir, timingFor, waitFor,
} from './directory-harness.js';

const dirs: string[] = [];
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  removeDirs(dirs);
});


describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('directory authorities (%s)', (_name, p) => {
  const TIMING = timingFor(p);
  it('3 authorities publish a consensus signed by all; 2 of 3 still do; 1 alone cannot', async () => {
    const started = Date.now();
    const logs: string[] = [];
    const net = await startAuthorities(p, 3, TIMING, {
      log: (level, msg, fields) => logs.push(`${Date.now() - started} ${level} ${msg} ${JSON.stringify(fields ?? {})}`),
    });
    onTestFailed(() => console.error(logs.join('\n')));
    if (process.env.CHIVE_DIRECTORY_TEST_LOG) closers.push(async () => console.error(logs.join('\n')));
    dirs.push(...net.dataDirs);
    const auths = net.authorities.map((a) => a!);
    closers.push(...auths.map((a) => () => a.close()));
    const relays = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => startRelay(p, i)));
    const down = await startRelay(p, 6, 'down');
    const wrongKey = await startRelay(p, 7, 'wrong-key');
    closers.push(...[...relays, wrongKey].map((r) => () => r.server!.close()));

    // The bootstrap consensus comes within a few seconds of the start.
    await waitFor('the first consensus at every authority', () => auths.every((a) => a.latestConsensus()), 5000);
    const firstAfterMs = Date.now() - started;
    expect(firstAfterMs).toBeLessThan(5000);

    for (const r of [...relays, down, wrongKey]) {
      for (const a of auths) expect(await uploadDescriptor(a.url, r.bytes)).toEqual({ status: 'accepted', identity: toHex(r.descriptor.identity) });
    }
    const listed = await waitFor(
      'a consensus listing the six reachable relays, signed by all three, at every authority',
      () => {
        const cs = auths.map((a) => a.latestConsensus());
        return cs.every((c) => c && c.consensus.relays.length === 6 && c.consensus.signatures.length === 3) ? cs.map((c) => c!) : null;
      },
      6 * TIMING.votingIntervalMs + 2000,
    );
    // Every authority computed and serves the same document.
    for (const c of listed) expect(toHex(c.bytes)).toBe(toHex(listed[0]!.bytes));
    const ids = listed[0]!.consensus.relays.map((r) => toHex(r.identity)).sort();
    expect(ids).toEqual(relays.map((r) => toHex(r.descriptor.identity)).sort());
    expect(ids).not.toContain(toHex(down.descriptor.identity));
    expect(ids).not.toContain(toHex(wrongKey.descriptor.identity));

    const client = new ConsensusClient({ provider: p, network: net.network, dataDir: tempDir('client') });
    const accepted = await client.refresh();
    expect(accepted.validSigners).toHaveLength(3);
    expect(accepted.validAfter).toBeGreaterThanOrEqual(listed[0]!.consensus.validAfter);
    for (const r of relays) {
      const entry = accepted.relays.find((x) => toHex(x.identity) === toHex(r.descriptor.identity))!;
      expect(entry.address).toBe(r.descriptor.address);
      expect(toHex(entry.linkKey)).toBe(toHex(r.descriptor.linkKey));
      expect(toHex(entry.onionKey)).toBe(toHex(r.descriptor.onionKey));
      const base = RelayFlag.RUNNING | RelayFlag.FAST | RelayFlag.STABLE | RelayFlag.GUARD | RelayFlag.HSDIR;
      expect(entry.flags).toBe(r.descriptor.exitPolicy.length > 0 ? base | RelayFlag.EXIT : base);
      expect(entry.weight).toBe(r.descriptor.bandwidth);
    }
    expect(await fetchDescriptorBytes(auths[1]!.url, relays[2]!.descriptor.identity)).toEqual(relays[2]!.bytes);

    // One authority stops: the other two publish the next consensus, 2 of 3 signatures.
    const before = listed[0]!.consensus.validAfter;
    await auths[2]!.close();
    const twoSigned = await waitFor(
      'a newer consensus signed by the two remaining authorities',
      () => {
        const cs = [auths[0]!.latestConsensus(), auths[1]!.latestConsensus()];
        return cs.every((c) => c && c.consensus.validAfter > before + TIMING.votingIntervalMs && c.consensus.signatures.length === 2) ? cs[0]! : null;
      },
      6 * TIMING.votingIntervalMs + 2000,
    );
    expect(twoSigned.consensus.relays).toHaveLength(6);
    const client2 = new ConsensusClient({ provider: p, network: net.network });
    const accepted2 = await client2.refresh();
    expect(accepted2.validSigners).toHaveLength(2);
    expect(accepted2.validAfter).toBeGreaterThanOrEqual(twoSigned.consensus.validAfter);

    // A second stops: the survivor cannot reach a majority of votes and publishes nothing new.
    await auths[1]!.close();
    const survivor = auths[0]!;
    const lastPublished = survivor.latestConsensus()!.consensus.validAfter;
    const failedBefore = survivor.stats.roundsFailed;
    await waitFor('a failed round at the survivor', () => survivor.stats.roundsFailed > failedBefore, 5 * TIMING.votingIntervalMs);
    expect(survivor.latestConsensus()!.consensus.validAfter).toBe(lastPublished);

    // A consensus signed by the survivor alone (its real detached signature over its last
    // body, served by a mirror in its place) is refused by the client.
    const last = decodeConsensus(await fetchConsensusBytes(survivor.url));
    const detached = await fetchDetachedSignature(survivor.url, last.validAfter);
    expect(toHex(detached.digest)).toBe(toHex(consensusDigest(p, last)));
    const alone = encodeConsensus(addSignatures(p, { ...last, signatures: [] }, [detached]));
    const mirror = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(Buffer.from(alone));
    });
    await new Promise<void>((r) => mirror.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise((r) => mirror.close(r)));
    const mirrored: NetworkConfig = {
      ...net.network,
      authorities: net.network.authorities.map((a, i) => (i === 0 ? { ...a, url: `http://127.0.0.1:${(mirror.address() as AddressInfo).port}` } : a)),
    };
    const refused = await new ConsensusClient({ provider: p, network: mirrored }).refresh().then(() => null, (e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'CONSENSUS_UNDER_SIGNED',
      message: expect.stringContaining('consensus has 1 valid signature of 3 pinned authorities; 2 needed'),
    });
    await survivor.close();
  }, 60_000);

  describe('uploads and the HTTP API', () => {
    let url = '';
    let network: NetworkConfig;
    let relayCount: () => number;
    let base: TestRelay;

    it('starts a lone authority (a network of one)', async () => {
      const dataDir = tempDir('auth');
      dirs.push(dataDir);
      const identity = authorityIdentity(p, dataDir);
      network = { testnet: true, authorities: [{ name: 'solo', url: 'http://127.0.0.1:1', identity: Buffer.from(identity, 'hex') }], timing: TIMING };
      const a = await startAuthority({ provider: p, dataDir, network, probe: async () => {} });
      closers.push(() => a.close());
      url = a.url;
      relayCount = () => a.relayCount();
      expect(a.identity).toBe(identity);
      base = await startRelay(p, 1);
      closers.push(() => base.server!.close());
      expect(await uploadDescriptor(url, base.bytes)).toMatchObject({ status: 'accepted' });
      expect(await uploadDescriptor(url, base.bytes)).toMatchObject({ status: 'unchanged' });
    });

    /** A descriptor of relay `index` with `change` applied to its fields, re-signed by `seed`. */
    function resigned(seed: Uint8Array, d: RelayDescriptor, change: Partial<RelayDescriptor>): Uint8Array {
      const unsigned = { ...d, ...change };
      const signature = signWithDomain(p, seed, SIG_DOMAIN_DESCRIPTOR, encodeDescriptorBody(unsigned));
      return encodeDescriptor({ ...unsigned, signature });
    }

    async function refusal(bytes: Uint8Array, code: string, fragment = ''): Promise<void> {
      const before = relayCount();
      await expect(uploadDescriptor(url, bytes)).rejects.toMatchObject({ code, message: expect.stringContaining(fragment) });
      expect(relayCount()).toBe(before);
    }

    it('refuses a bad signature (400 BAD_SIGNATURE)', async () => {
      const r = await startRelay(p, 2, 'down');
      const bytes = r.bytes.slice();
      bytes[bytes.length - 3]! ^= 0x40;
      await refusal(bytes, 'BAD_SIGNATURE', 'does not verify');
    });

    it('refuses a missing or wrong cross-certification (400 BAD_CERT)', async () => {
      const r = await startRelay(p, 3, 'down');
      const d = r.descriptor;
      await refusal(resigned(r.seed, d, { linkKeyCert: { expires: d.linkKeyCert.expires, signature: new Uint8Array(64) } }), 'BAD_CERT', 'link key');
      const stranger = p.randomBytes(32);
      const foreignCert = signKeyCert(p, stranger, CertType.ONION_KEY, d.onionKey, d.onionKeyCert.expires);
      await refusal(resigned(r.seed, d, { onionKeyCert: foreignCert }), 'BAD_CERT', 'onion key');
      const swapped = signKeyCert(p, r.seed, CertType.ONION_KEY, d.linkKey, d.linkKeyCert.expires);
      await refusal(resigned(r.seed, d, { linkKeyCert: swapped }), 'BAD_CERT', 'link key');
    });

    it('refuses a published time far in the past or the future', async () => {
      const r = await startRelay(p, 4, 'down');
      await refusal(resigned(r.seed, r.descriptor, { published: Date.now() - DAY - 60_000 }), 'DESCRIPTOR_STALE');
      await refusal(resigned(r.seed, r.descriptor, { published: Date.now() + 10 * 60_000 }), 'DESCRIPTOR_FROM_FUTURE');
    });

    it('refuses a second descriptor claiming a listed identity with other keys; allows a forward key rotation', async () => {
      const d = base.descriptor;
      const other = signDescriptor(p, base.seed, {
        ...relayFields(p, 1, d.address, p.randomBytes(32), p.randomBytes(32)), published: d.published - 1000,
      });
      await refusal(encodeDescriptor(other), 'DESCRIPTOR_IDENTITY_CONFLICT', 'already listed with other keys');
      const sameTime = signDescriptor(p, base.seed, { ...relayFields(p, 1, d.address, p.randomBytes(32), p.randomBytes(32)), published: d.published });
      await refusal(encodeDescriptor(sameTime), 'DESCRIPTOR_IDENTITY_CONFLICT', 'needs a newer published time');
      const olderSameKeys = signDescriptor(p, base.seed, { ...relayFields(p, 1, d.address, base.onionSecret, base.linkSecret), published: d.published - 1, bandwidth: 7 });
      await refusal(encodeDescriptor(olderSameKeys), 'DESCRIPTOR_SUPERSEDED');

      // A rotated onion key with a newer published time is a normal update…
      const rotated = signDescriptor(p, base.seed, { ...relayFields(p, 1, d.address, p.randomBytes(32), base.linkSecret), published: d.published + 1000 });
      expect(await uploadDescriptor(url, encodeDescriptor(rotated))).toMatchObject({ status: 'updated' });
      expect(await fetchDescriptorBytes(url, d.identity)).toEqual(encodeDescriptor(rotated));
      // …but the old onion key never comes back, even newer (two machines sharing one identity).
      const back = signDescriptor(p, base.seed, { ...relayFields(p, 1, d.address, base.onionSecret, base.linkSecret), published: d.published + 2000 });
      await refusal(encodeDescriptor(back), 'DESCRIPTOR_IDENTITY_CONFLICT', 'rotated away');
      // Another identity may not claim this relay's link key.
      const thief = signDescriptor(p, p.randomBytes(32), relayFields(p, 9, d.address, p.randomBytes(32), base.linkSecret));
      await refusal(encodeDescriptor(thief), 'DESCRIPTOR_KEY_CONFLICT', 'link key');
    });

    it('refuses an oversized upload (413 OVER_LENGTH), by Content-Length or streamed', async () => {
      const big = new Uint8Array(MAX_DESCRIPTOR_LEN + 1);
      const res = await fetch(`${url}/chive/v1/descriptor`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: big });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ code: 'OVER_LENGTH', message: expect.stringContaining(`maximum of ${MAX_DESCRIPTOR_LEN}`) });
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(1024));
          c.close();
        },
      });
      const streamed = await fetch(`${url}/chive/v1/descriptor`, {
        method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: stream, duplex: 'half',
      } as RequestInit);
      expect(streamed.status).toBe(413);
      expect(await streamed.json()).toMatchObject({ code: 'OVER_LENGTH' });
      await expect(uploadDescriptor(url, big)).rejects.toMatchObject({ code: 'OVER_LENGTH' });
    });

    it('refuses a truncated upload (400 TRUNCATED) and survives a body cut off mid-way', async () => {
      const r = await startRelay(p, 5, 'down');
      await refusal(r.bytes.subarray(0, r.bytes.length - 10), 'TRUNCATED');
      const before = relayCount();
      await new Promise<void>((resolve) => {
        const port = Number(new URL(url).port);
        const s = connect(port, '127.0.0.1', () => {
          s.write(`POST /chive/v1/descriptor HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${r.bytes.length}\r\n\r\n`);
          s.write(r.bytes.subarray(0, 100));
          s.destroy();
          resolve();
        });
      });
      await new Promise((res) => setTimeout(res, 100));
      expect(relayCount()).toBe(before);
      expect(await uploadDescriptor(url, r.bytes.subarray(0))).toMatchObject({ status: 'accepted' });
    });

    it('answers API misuse with stable codes', async () => {
      const post = (body: string, type: string) => fetch(`${url}/chive/v1/descriptor`, { method: 'POST', headers: { 'Content-Type': type }, body });
      const wrongType = await post('x', 'text/plain');
      expect([wrongType.status, (await wrongType.json()).code]).toEqual([415, 'DIRECTORY_BAD_REQUEST']);
      const noSuch = await fetch(`${url}/chive/v1/nothing`);
      expect([noSuch.status, (await noSuch.json()).code]).toEqual([404, 'DIRECTORY_BAD_REQUEST']);
      const getUpload = await fetch(`${url}/chive/v1/descriptor`);
      expect([getUpload.status, getUpload.headers.get('allow')]).toEqual([405, 'POST']);
      await expect(fetchDescriptorBytes(url, new Uint8Array(32))).rejects.toMatchObject({ code: 'DIRECTORY_NOT_FOUND' });
      const badHex = await fetch(`${url}/chive/v1/descriptor/xyz`);
      expect([badHex.status, (await badHex.json()).code]).toEqual([400, 'DIRECTORY_BAD_REQUEST']);
      await expect(fetchVoteBytes(url, 12345)).rejects.toMatchObject({ code: 'DIRECTORY_NOT_FOUND' });
    });

    it('serves its vote and its detached signature for the period it published', async () => {
      const consensus = decodeConsensus(await eventually('a consensus', () => fetchConsensusBytes(url), 3000));
      const vote = decodeVote(await fetchVoteBytes(url, consensus.validAfter));
      expect(toHex(vote.authority)).toBe(toHex(pinnedIdentities(network)[0]!));
      expect(checkVote(p, vote, pinnedIdentities(network), Date.now()).validAfter).toBe(consensus.validAfter);
      const sig = await fetchDetachedSignature(url, consensus.validAfter);
      expect(addSignatures(p, { ...consensus, signatures: [] }, [sig]).signatures).toHaveLength(1);
    });
  });
});

describe('chive directory command', () => {
  const p: CryptoProvider = allCryptoProviders()[0]!;
  const TIMING = timingFor(p);

  it('prints the identity, creating the key, and the same again later', async () => {
    const dataDir = tempDir('cmd');
    dirs.push(dataDir);
    const out: string[] = [];
    expect(await runDirectoryCommand(['--data-dir', dataDir, '--print-identity'], { stdout: (l) => out.push(l), stderr: () => {} })).toBe(0);
    expect(out[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(out[0]).toBe(authorityIdentity(p, dataDir));
  });

  it('runs until stopped, announcing itself with one JSON line', async () => {
    const dataDir = tempDir('cmd');
    dirs.push(dataDir);
    const identity = authorityIdentity(p, dataDir);
    const networkPath = join(dataDir, 'network.json');
    writeFileSync(networkPath, formatNetworkFile({ testnet: true, authorities: [{ name: 'solo', url: 'http://127.0.0.1:1', identity: Buffer.from(identity, 'hex') }], timing: TIMING }));
    const out: string[] = [];
    const err: string[] = [];
    const stop = new AbortController();
    const exit = runDirectoryCommand(['--data-dir', dataDir, '--network', networkPath, '--port', '0', '--log-level', 'warn'], {
      stdout: (l) => out.push(l), stderr: (l) => err.push(l), signal: stop.signal,
    });
    const line = JSON.parse(await waitFor('the listening line', () => out[0], 5000)) as { event: string; url: string; identity: string };
    expect(line).toMatchObject({ event: 'listening', identity });
    const consensus = decodeConsensus(await eventually('a consensus', () => fetchConsensusBytes(line.url), 5000));
    expect(consensus.signatures).toHaveLength(1);
    stop.abort();
    expect(await exit).toBe(0);
  });

  it('exits 2 on bad usage and 1 on a bad network file, with the stable code', async () => {
    const err: string[] = [];
    const io = { stdout: () => {}, stderr: (l: string) => err.push(l) };
    expect(await runDirectoryCommand(['--port', '99999', '--data-dir', '/tmp/x'], io)).toBe(2);
    const dataDir = tempDir('cmd');
    dirs.push(dataDir);
    expect(await runDirectoryCommand(['--data-dir', dataDir, '--network', join(dataDir, 'missing.json')], io)).toBe(1);
    expect(err.join('\n')).toContain('NETWORK_FILE_INVALID');
  });
});
