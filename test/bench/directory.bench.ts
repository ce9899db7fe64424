/**
 * Directory benchmark (`npx tsx test/bench/directory.bench.ts [--provider sodium|noble]
 * [--interval ms] [--relays n] [--json] [--log]`), in process, on 127.0.0.1:
 *   - coldStart:  3 authorities start with empty data directories; n relays (real link
 *                 servers, real keys) upload to all three as soon as they listen. Times to
 *                 the first consensus at all three (the bootstrap round) and to the first
 *                 one listing all n relays.
 *   - restart:    the same 3 authorities restarted from their data directories with the n
 *                 descriptors saved but no saved consensus or vote: time to the first
 *                 consensus listing all n (bootstrap round: reachability sweep, vote,
 *                 vote exchange, signatures).
 *   - client1000: size of a consensus of 1,000 relays signed by 3 authorities, and the
 *                 client's decode + checkConsensus time for it (median of 20).
 * Default timing is the testnet's (10 s periods). Not part of `npm test`.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadCryptoProvider } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import {
  type CheckedDescriptor, addSignatures, checkConsensus, checkDescriptor, computeConsensus, decodeConsensus,
  encodeConsensus, signConsensus, signDescriptor,
} from '../../src/dirdoc/index.js';
import { uploadDescriptor } from '../../src/io/directory-client.js';
import { listenAuthority, type AuthorityHandle } from '../../directory/index.js';
import { checkVote, signVote } from '../../src/dirdoc/index.js';
import { relayFields, removeDirs, startAuthorities, startRelay, waitFor } from '../integration/directory-harness.js';
import { machineLine, percentile } from './harness.js';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const provider: CryptoProvider = loadCryptoProvider((arg('provider') as 'sodium' | 'noble' | undefined) ?? 'auto');
const interval = Number(arg('interval') ?? 10_000);
const relayCount = Number(arg('relays') ?? 50);
const timing = { votingIntervalMs: interval, freshIntervals: 1, validIntervals: 3 };
const benchStart = performance.now();
/** `--log`: the authorities' log lines on stderr, with ms since the bench started. */
const log = args.includes('--log')
  ? (level: string, msg: string, fields?: Record<string, unknown>) => console.error(`${(performance.now() - benchStart).toFixed(0)} ${level} ${msg} ${JSON.stringify(fields ?? {})}`)
  : undefined;

const listsAll = (auths: readonly AuthorityHandle[]) => () =>
  auths.every((a) => (a.latestConsensus()?.consensus.relays.length ?? 0) === relayCount);

async function coldAndRestart(): Promise<{ firstConsensusMs: number; allRelaysMs: number; restartAllRelaysMs: number }> {
  const relays = await Promise.all(Array.from({ length: relayCount }, (_, i) => startRelay(provider, i)));
  const t0 = performance.now();
  const net = await startAuthorities(provider, 3, timing, log ? { log } : {});
  const auths = net.authorities.map((a) => a!);
  await Promise.all(relays.map(async (r) => { for (const a of auths) await uploadDescriptor(a.url, r.bytes); }));
  await waitFor('first consensus', () => auths.every((a) => a.latestConsensus()), 4 * interval);
  const firstConsensusMs = performance.now() - t0;
  await waitFor('all relays listed', listsAll(auths), 6 * interval);
  const allRelaysMs = performance.now() - t0;

  const ports = auths.map((a) => Number(new URL(a.url).port));
  for (const a of auths) await a.close();
  for (const d of net.dataDirs) for (const f of ['consensus.bin', 'vote.bin']) rmSync(join(d, 'state', f), { force: true });
  const t1 = performance.now();
  const again = await Promise.all(net.dataDirs.map((dataDir, i) => listenAuthority({ provider, dataDir, port: ports[i]!, ...(log ? { log } : {}) })));
  const restarted = again.map((l) => l.start(net.network));
  await waitFor('all relays listed after restart', listsAll(restarted), 6 * interval);
  const restartAllRelaysMs = performance.now() - t1;
  for (const a of restarted) await a.close();
  for (const r of relays) await r.server!.close();
  removeDirs(net.dataDirs);
  return { firstConsensusMs, allRelaysMs, restartAllRelaysMs };
}

function client1000(): { bytes: number; checkMsMedian: number; checkMsP95: number } {
  const now = Date.now();
  const auths = [0, 1, 2].map(() => {
    const seed = provider.randomBytes(32);
    return { seed, identity: provider.ed25519PublicKey(seed) };
  });
  const pinned = auths.map((a) => a.identity);
  const descriptors: CheckedDescriptor[] = Array.from({ length: 1000 }, (_, i) => {
    const fields = relayFields(provider, i, `ws://10.${(i >> 8) & 255}.${i & 255}.1:9001`, provider.randomBytes(32), provider.randomBytes(32), now - 60_000);
    return checkDescriptor(provider, signDescriptor(provider, provider.randomBytes(32), fields), now);
  });
  const window = { validAfter: now, freshUntil: now + 3_600_000, validUntil: now + 3 * 3_600_000 };
  const known = new Map(descriptors.map((d) => [Buffer.from(d.digest).toString('hex'), d]));
  const votes = auths.map((a) => checkVote(provider, signVote(provider, a.seed, {
    ...window, entries: descriptors.map((descriptor) => ({ descriptor, flags: 0x3f & ~0x08, measuredBandwidth: descriptor.bandwidth })),
  }), pinned, now, { knownDescriptors: known }));
  const body = computeConsensus(votes, pinned);
  const bytes = encodeConsensus(addSignatures(provider, body, auths.map((a) => signConsensus(provider, a.seed, body))));
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    checkConsensus(provider, decodeConsensus(bytes), pinned, now + 1);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { bytes: bytes.length, checkMsMedian: percentile(times, 0.5), checkMsP95: percentile(times, 0.95) };
}

const cold = await coldAndRestart();
const client = client1000();
const result = { provider: provider.name, machine: machineLine(), votingIntervalMs: interval, relays: relayCount, ...cold, client1000: client };
if (args.includes('--json')) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`directory bench — ${result.machine}, provider ${provider.name}, ${interval} ms periods, ${relayCount} relays, 3 authorities`);
  console.log(`  start → first consensus (bootstrap round)             ${cold.firstConsensusMs.toFixed(0)} ms`);
  console.log(`  start → first consensus listing all ${relayCount} relays       ${cold.allRelaysMs.toFixed(0)} ms  (relays upload after start)`);
  console.log(`  restart with ${relayCount} saved descriptors → consensus of all ${cold.restartAllRelaysMs.toFixed(0)} ms`);
  console.log(`  consensus of 1,000 relays, 3 signatures               ${client.bytes.toLocaleString('en-US')} bytes`);
  console.log(`  client decode + checkConsensus (1,000 relays)          ${client.checkMsMedian.toFixed(2)} ms median, ${client.checkMsP95.toFixed(2)} ms p95`);
}
process.exit(0);
