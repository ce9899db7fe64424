/**
 * One process of the chat load generator (`chive bench load`): hosts `clients` chat
 * clients (each its own profile), pairs them (2i ↔ 2i+1, mutual contacts), and has each
 * side send messages at `rate` per second for `durationMs`. Every message carries its
 * pair-local number and send time; the worker checks what arrives (duplicates, order) and
 * measures the message RTT (send → delivery ack). It reports on stdout, one JSON line per
 * second ({"type":"stats",…} with counters and the RTT samples since the last line) and
 * a last {"type":"done",…}; logs go to stderr. Stop early with SIGTERM or a "stop" line.
 *
 * Run by testnet/load.ts through the hidden `chive load-worker` command; not for people.
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ChatClient } from '../client/chat/chat-client.js';
import { loadCryptoProvider } from '../src/crypto/load.js';
import { loadNetworkFile } from '../src/io/network-file.js';

export interface LoadWorkerArgs {
  readonly network: string;
  readonly dir: string;
  readonly clients: number;
  readonly first: number;
  readonly rate: number;
  readonly durationMs: number;
  readonly startConcurrency: number;
}

export interface LoadStats {
  type: 'stats' | 'done';
  worker: number;
  ready: number;
  sessions: number;
  sent: number;
  delivered: number;
  received: number;
  duplicates: number;
  outOfOrder: number;
  failed: number;
  buildFailures: number;
  builds: number;
  startFailures: number;
  /** RTT samples (ms) since the previous line. */
  rtts: number[];
}

function parseArgs(argv: readonly string[]): LoadWorkerArgs {
  const get = (name: string): string => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0 || argv[i + 1] === undefined) throw new Error(`load-worker: --${name} is required`);
    return argv[i + 1]!;
  };
  return {
    network: get('network'),
    dir: get('dir'),
    clients: Number(get('clients')),
    first: Number(get('first')),
    rate: Number(get('rate')),
    durationMs: Number(get('duration-ms')),
    startConcurrency: Number(get('start-concurrency')),
  };
}

export async function runLoadWorker(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  const network = loadNetworkFile(args.network);
  const provider = loadCryptoProvider();
  const err = (msg: string) => process.stderr.write(`load-worker ${args.first}: ${msg}\n`);
  const stats: LoadStats = {
    type: 'stats', worker: args.first, ready: 0, sessions: 0, sent: 0, delivered: 0, received: 0, duplicates: 0,
    outOfOrder: 0, failed: 0, buildFailures: 0, builds: 0, startFailures: 0, rtts: [],
  };
  const clients: ChatClient[] = [];
  for (let i = 0; i < args.clients; i++) {
    clients.push(new ChatClient({
      profileDir: join(args.dir, `client-${args.first + i}`),
      network,
      provider,
      name: `load${args.first + i}`,
      log: (level, message, fields) => {
        if (level === 'error') err(`${message} ${JSON.stringify(fields ?? {})}`);
      },
    }));
  }
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.once('SIGTERM', stop);
  const control = createInterface({ input: process.stdin });
  control.on('line', (l) => l.trim() === 'stop' && stop());

  // Start with bounded concurrency: 2 cores cannot bootstrap hundreds of clients at once.
  const started = new Set<ChatClient>();
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(1, args.startConcurrency) }, async () => {
    while (next < clients.length && !stopping) {
      const c = clients[next++]!;
      try {
        await c.start();
        started.add(c);
        stats.ready += 1;
      } catch (e) {
        stats.startFailures += 1;
        err(`a client failed to start: ${(e as Error).message}`);
      }
    }
  }));

  const sentAt = new Map<string, number>();
  const lastSeen = new Map<string, number>();
  const pairs: [ChatClient, ChatClient][] = [];
  for (let i = 0; i + 1 < clients.length; i += 2) {
    const a = clients[i]!;
    const b = clients[i + 1]!;
    if (!started.has(a) || !started.has(b)) continue;
    pairs.push([a, b]);
    for (const [self, peer] of [[a, b], [b, a]] as const) {
      self.addContact(peer.address);
      self.on('delivered', (d) => {
        const t = sentAt.get(d.id);
        if (t === undefined) return;
        sentAt.delete(d.id);
        stats.delivered += 1;
        stats.rtts.push(performance.now() - t);
      });
      self.on('failed', () => void (stats.failed += 1));
      self.on('message', (m) => {
        stats.received += 1;
        const n = Number(m.text.split(' ', 1)[0]);
        const key = `${m.from}>${self.address}`;
        const prev = lastSeen.get(key) ?? -1;
        if (n <= prev) stats.duplicates += 1;
        else if (n !== prev + 1) stats.outOfOrder += 1;
        lastSeen.set(key, Math.max(prev, n));
      });
    }
  }

  const report = (type: 'stats' | 'done') => {
    stats.type = type;
    stats.sessions = clients.reduce((n, c) => n + c.contacts().filter((x) => x.online).length, 0);
    let builds = 0;
    let buildFailures = 0;
    for (const c of clients) {
      const s = c.networkStats();
      builds += s.builds;
      buildFailures += s.buildFailures;
    }
    stats.builds = builds;
    stats.buildFailures = buildFailures;
    process.stdout.write(JSON.stringify(stats) + '\n');
    stats.rtts = [];
  };
  const ticker = setInterval(() => report('stats'), 1000);

  // Each side of each pair sends at `rate` per second, spread out so they do not all fire at once.
  const counters = new Map<ChatClient, number>();
  const periodMs = 1000 / args.rate;
  const t0 = performance.now();
  const senders: NodeJS.Timeout[] = [];
  pairs.forEach(([a, b], k) => {
    for (const [self, peer] of [[a, b], [b, a]] as const) {
      const offset = ((k * 2 + (self === a ? 0 : 1)) / Math.max(1, pairs.length * 2)) * periodMs;
      const fire = () => {
        if (stopping || performance.now() - t0 > args.durationMs) return;
        const n = counters.get(self) ?? 0;
        counters.set(self, n + 1);
        try {
          const { id } = self.send(peer.address, `${n} ${Date.now()} load`);
          sentAt.set(id, performance.now());
          stats.sent += 1;
        } catch (e) {
          err(`send failed: ${(e as Error).message}`);
        }
      };
      const t = setTimeout(() => {
        fire();
        senders.push(setInterval(fire, periodMs));
      }, offset);
      senders.push(t);
    }
  });

  // Run for the duration, then wait (bounded) for the last deliveries.
  const deadline = performance.now() + args.durationMs;
  while (!stopping && performance.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  for (const s of senders) clearInterval(s);
  const drainUntil = performance.now() + 30_000;
  while (!stopping && sentAt.size > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 200));
  clearInterval(ticker);
  report('done');
  for (const c of clients) await c.close().catch(() => undefined);
  control.close();
  process.stdin.destroy();
  return 0;
}
