/**
 * Restarting directory authorities from their data directories (real HTTP, real relay
 * links, both crypto providers): a restarted authority serves the same consensus bytes at
 * once, still lists the accepted descriptors, and rejoins the vote; a saved consensus past
 * validUntil is not served; a corrupt descriptor file is set aside. The client's disk
 * cache survives a restart, and a stale one is refused.
 */
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { toHex } from '../../src/bytes.js';
import { decodeVote, encodeConsensus } from '../../src/dirdoc/index.js';
import { fetchConsensusBytes, fetchDescriptorBytes, fetchVoteBytes, uploadDescriptor } from '../../src/io/directory-client.js';
import { ConsensusClient } from '../../client/consensus.js';
import { listenAuthority } from '../../directory/index.js';
import { removeDirs, startAuthorities, startRelay, tempDir, timingFor, waitFor } from './directory-harness.js';

const dirs: string[] = [];
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  removeDirs(dirs);
});


describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('authority restart (%s)', (_name, p) => {
  const TIMING = timingFor(p);
  it('serves the same consensus at once, keeps its descriptors and rejoins; the client cache survives', async () => {
    const started = Date.now();
    const logs: string[] = [];
    const log = (level: string, msg: string, fields?: Record<string, unknown>): void => {
      logs.push(`${Date.now() - started} ${level} ${msg} ${JSON.stringify(fields ?? {})}`);
    };
    onTestFailed(() => console.error(logs.join('\n')));
    const net = await startAuthorities(p, 3, TIMING, { log });
    dirs.push(...net.dataDirs);
    const auths = net.authorities.map((a) => a!);
    closers.push(...auths.map((a) => () => a.close()));
    const relays = await Promise.all([0, 1, 2, 3].map((i) => startRelay(p, i)));
    closers.push(...relays.map((r) => () => r.server!.close()));
    for (const r of relays) for (const a of auths) await uploadDescriptor(a.url, r.bytes);
    await waitFor(
      'a consensus of the four relays signed by all three',
      () => auths.every((a) => a.latestConsensus()?.consensus.relays.length === 4 && a.latestConsensus()?.consensus.signatures.length === 3),
      6 * TIMING.votingIntervalMs,
    );

    const clientDir = tempDir('client');
    dirs.push(clientDir);
    const cached = await new ConsensusClient({ provider: p, network: net.network, dataDir: clientDir }).refresh();

    // Authority 0 stops and comes back on the same port from the same data directory.
    const port = Number(new URL(auths[0]!.url).port);
    await auths[0]!.close();
    const before = auths[0]!.latestConsensus()!;
    const again = (await listenAuthority({ provider: p, dataDir: net.dataDirs[0]!, port, log })).start(net.network);
    closers.push(() => again.close());
    expect(again.identity).toBe(auths[0]!.identity);
    expect(toHex(await fetchConsensusBytes(again.url))).toBe(toHex(before.bytes));
    expect(again.relayCount()).toBe(4);
    for (const r of relays) expect(await fetchDescriptorBytes(again.url, r.descriptor.identity)).toEqual(r.bytes);

    // It votes again (its relays retested) and signs the next consensus with the others.
    const rejoined = await waitFor(
      'a newer consensus signed by all three, the restarted authority included',
      () => {
        const c = again.latestConsensus();
        return c && c.consensus.validAfter > before.consensus.validAfter && c.consensus.signatures.length === 3 ? c : null;
      },
      6 * TIMING.votingIntervalMs,
    );
    expect(rejoined.consensus.relays).toHaveLength(4);
    const vote = decodeVote(await fetchVoteBytes(again.url, rejoined.consensus.validAfter));
    expect(vote.entries).toHaveLength(4);

    // Everything stops. The client still has the cached consensus, until it goes stale.
    for (const a of [again, auths[1]!, auths[2]!]) await a.close();
    const offline = new ConsensusClient({ provider: p, network: net.network, dataDir: clientDir, now: () => cached.validAfter + 1 });
    expect(encodeConsensus(await offline.start())).toEqual(encodeConsensus(cached));
    offline.stop();
    const stale = new ConsensusClient({ provider: p, network: net.network, dataDir: clientDir, now: () => cached.validUntil + 1 });
    await expect(stale.start()).rejects.toMatchObject({ code: 'CONSENSUS_UNAVAILABLE', message: expect.stringContaining('CONSENSUS_EXPIRED') });
    expect(stale.cacheError).toMatchObject({ code: 'CONSENSUS_EXPIRED' });

    // A restart after validUntil does not serve the saved consensus; a corrupt descriptor file is set aside.
    const descriptorDir = join(net.dataDirs[1]!, 'descriptors');
    writeFileSync(join(descriptorDir, `${'ab'.repeat(32)}.json`), '{"descriptor": "not base64 of a descriptor"}');
    const saved = auths[1]!.latestConsensus()!.consensus;
    const offset = saved.validUntil + 1 - Date.now(); // the restarted authority's clock: just past validUntil
    const lateAuthority = (await listenAuthority({ provider: p, dataDir: net.dataDirs[1]!, now: () => Date.now() + offset, log }))
      .start(net.network);
    closers.push(() => lateAuthority.close());
    await expect(fetchConsensusBytes(lateAuthority.url)).rejects.toMatchObject({ code: 'DIRECTORY_NOT_FOUND' });
    expect(lateAuthority.relayCount()).toBe(4);
    expect(readdirSync(descriptorDir)).toContain(`${'ab'.repeat(32)}.json.rejected`);
    await lateAuthority.close();
  }, 60_000);
});
