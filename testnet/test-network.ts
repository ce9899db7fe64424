/**
 * The testing API: a whole chive network in one process on random loopback ports, for
 * people who measure circuit latency in their own vitest suites (and for our own tests).
 *
 *   const net = await createTestNetwork({ relays: 5, authorities: 3 });
 *   await net.ready();                       // a consensus lists every relay
 *   const client = await net.client();       // bootstrapped
 *   const m = await measureCircuit(client, { target: net.echo });
 *   // m = { buildMs, perHopMs: [..], rttMs, connectMs }
 *   await net.close();
 *
 * Everything is real: authorities vote over HTTP and test reachability with Noise
 * handshakes, relays speak ws links, clients build ntor circuits. Only the clock of the
 * consensus schedule is shortened (votingIntervalMs, default 2 s).
 *
 * Not the process launcher (`chive testnet`, testnet/launcher.ts) and not a mock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCryptoProvider } from '../src/crypto/load.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { ChiveError } from '../src/errors.js';
import { REJECT_ALL, parseExitPolicy } from '../src/dirdoc/index.js';
import { fromHex } from '../src/bytes.js';
import type { NetworkConfig } from '../src/io/network-file.js';
import { listenAuthority, type AuthorityHandle } from '../directory/index.js';
import { startRelay, type RunningRelay } from '../relay/index.js';
import { DirectorySync } from '../relay/directory-sync.js';
import { ChiveClient, type ClientOptions } from '../client/client.js';

export interface TestNetworkOptions {
  relays?: number;
  authorities?: number;
  /** How many of the relays are exits allowing 127.0.0.1 (default 2, at most `relays`). */
  exits?: number;
  votingIntervalMs?: number;
  provider?: CryptoProvider;
  /** Parent of the nodes' data directories (default: a fresh temp dir, removed by close()). */
  dir?: string;
}

export interface TestRelay {
  readonly nickname: string;
  readonly exit: boolean;
  readonly relay: RunningRelay;
  readonly sync: DirectorySync;
}

export interface TestNetwork {
  readonly network: NetworkConfig;
  readonly authorities: readonly AuthorityHandle[];
  readonly relays: readonly TestRelay[];
  /** A TCP echo server on 127.0.0.1 that every exit allows: a target for measurements. */
  readonly echo: { host: string; port: number };
  readonly dir: string;
  /** Resolves when an authority serves a consensus listing every relay (and relays hold it). */
  ready(timeoutMs?: number): Promise<void>;
  /** A bootstrapped client of this network (closed by close()). */
  client(options?: Partial<ClientOptions>): Promise<ChiveClient>;
  /** Stops a relay abruptly (its links drop), as a crash would. */
  killRelay(index: number): Promise<void>;
  close(): Promise<void>;
}

export async function createTestNetwork(options: TestNetworkOptions = {}): Promise<TestNetwork> {
  const provider = options.provider ?? loadCryptoProvider();
  const relayCount = options.relays ?? 5;
  const authorityCount = options.authorities ?? 3;
  const exitCount = Math.min(options.exits ?? 2, relayCount);
  const votingIntervalMs = options.votingIntervalMs ?? 2_000;
  if (relayCount < 1 || authorityCount < 1) throw new ChiveError('INVALID_ARGUMENT', 'a test network needs relays and authorities');
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'chive-testnet-'));
  const closers: (() => Promise<void>)[] = [];
  const clients: ChiveClient[] = [];

  const echoServer = await startEchoServer();
  closers.push(() => new Promise<void>((r) => echoServer.close(() => r())));
  const echo = { host: '127.0.0.1', port: (echoServer.address() as { port: number }).port };

  try {
    const listening = [];
    for (let i = 0; i < authorityCount; i++) {
      listening.push(await listenAuthority({ provider, dataDir: join(dir, `auth${i}`) }));
    }
    const network: NetworkConfig = {
      testnet: true,
      authorities: listening.map((a, i) => ({ name: `auth${i}`, url: a.url, identity: fromHex(a.identity) })),
      timing: { votingIntervalMs, freshIntervals: 1, validIntervals: 3 },
    };
    const authorities = listening.map((a) => a.start(network));
    for (const a of authorities) closers.push(() => a.close());

    const relays: TestRelay[] = [];
    for (let i = 0; i < relayCount; i++) {
      const exit = i >= relayCount - exitCount;
      const exitPolicy = exit ? parseExitPolicy('accept 127.0.0.1/32:*\nreject *:*') : null;
      const relay = await startRelay({ dataDir: join(dir, `relay${i}`), provider, exitPolicy });
      const sync = new DirectorySync({
        provider,
        relay,
        keys: relay.keys,
        network,
        nickname: `relay${i}`,
        advertisedUrl: relay.node.url,
        bandwidth: 10 * 1024 * 1024,
        exitPolicy: exitPolicy ?? REJECT_ALL,
        family: [],
        contact: '',
        uploadIntervalMs: 60_000,
        now: Date.now,
        log: () => {},
      });
      closers.push(async () => {
        sync.stop();
        await relay.close();
      });
      relays.push({ nickname: `relay${i}`, exit, relay, sync });
    }
    await Promise.all(relays.map((r) => r.sync.uploadAll()));

    const net: TestNetwork = {
      network,
      authorities,
      relays,
      echo,
      dir,
      async ready(timeoutMs = 30_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const listed = Math.max(0, ...authorities.map((a) => a.latestConsensus()?.consensus.relays.length ?? 0));
          if (listed >= relays.length) break;
          if (Date.now() > deadline) {
            throw new ChiveError('NOT_ENOUGH_VOTES', `no consensus listing all ${relays.length} relays within ${timeoutMs} ms (best: ${listed})`);
          }
          await sleep(100);
        }
        await Promise.all(relays.map((r) => r.sync.refreshConsensus()));
      },
      async client(clientOptions = {}) {
        const c = new ChiveClient({ network, provider, preemptiveCircuits: 1, ...clientOptions });
        clients.push(c);
        await c.bootstrap();
        return c;
      },
      async killRelay(index) {
        const r = relays[index];
        if (!r) throw new ChiveError('INVALID_ARGUMENT', `no relay ${index}`);
        r.sync.stop();
        await r.relay.close();
      },
      async close() {
        for (const c of clients) await c.close();
        for (const close of closers.reverse()) await close().catch(() => {});
        if (ownDir) rmSync(dir, { recursive: true, force: true });
      },
    };
    return net;
  } catch (e) {
    for (const close of closers.reverse()) await close().catch(() => {});
    throw e;
  }
}

async function startEchoServer(): Promise<Server> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
