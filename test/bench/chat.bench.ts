/**
 * `npm run bench:chat`: chat latency on a process testnet (`chive testnet` nodes, one OS
 * process each), with the chat clients in this process.
 *
 *   first contact — cold: a fresh profile (just bootstrapped) adds a peer who already has
 *     it as a contact and sends "hi"; measured from addContact to the peer's `message` event
 *     (descriptor fetch, introduction, rendezvous, end-to-end handshake, the message);
 *   message RTT — PING / PONG over the spliced circuit (6 relay hops), p50 / p95.
 * Goals (issue #6): first contact p50 ≤ 60 ms; RTT p50 ≤ 1.5 ms, p95 ≤ 5 ms.
 * Usage: npm run bench:chat [-- --contacts 15 --warmup 5 --rtts 300 --json]
 * (the first --warmup contacts are not counted: they open the relays' links to each other).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatClient } from '../../client/chat/chat-client.js';
import { loadNetworkFile } from '../../src/io/network-file.js';
import { describeMachine, machineInfo, summarize } from '../../testnet/bench-stats.js';
import { launchTestnet } from '../../testnet/launcher.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const contacts = arg('contacts', 15);
  // First contacts not counted: a fresh testnet's relays have no links to each other yet;
  // a running network's do. The clients measured are cold either way.
  const warmup = arg('warmup', 5);
  const rtts = arg('rtts', 300);
  const json = process.argv.includes('--json');
  const dir = mkdtempSync(join(tmpdir(), 'chive-bench-chat-'));
  const say = (s: string) => process.stderr.write(s + '\n');
  say(`starting a testnet (3 authorities, 8 relays) in ${dir} …`);
  const net = await launchTestnet({ dir: join(dir, 'net'), authorities: 3, relays: 8, exits: 1, stopGraceMs: 3000 });
  const network = loadNetworkFile(net.networkFile);
  const open: ChatClient[] = [];
  try {
    const bob = new ChatClient({ profileDir: join(dir, 'bob'), network, name: 'bob' });
    open.push(bob);
    await bob.start();
    // The senders' profiles exist before they go online, so bob can add them first: he then
    // fails to reach them (no descriptor yet) and gives up, and each measurement is one
    // side connecting, cold, as when a contact comes online and writes.
    const alices = Array.from({ length: warmup + contacts }, (_, i) => new ChatClient({ profileDir: join(dir, `alice-${i}`), network, name: `alice${i}` }));
    for (const a of alices) bob.addContact(a.address);
    say('waiting for bob to give up reaching the offline contacts…');
    await new Promise((r) => setTimeout(r, 12_000));
    const firstContact: number[] = [];
    for (let i = 0; i < warmup + contacts; i++) {
      const alice = alices[i]!;
      open.push(alice);
      await alice.start();
      await new Promise((r) => setTimeout(r, 500)); // let its preemptive circuits settle
      const arrived = new Promise<number>((resolve) => {
        const off = bob.on('message', (m) => {
          if (m.from !== alice.address) return;
          off();
          resolve(performance.now());
        });
      });
      const t0 = performance.now();
      alice.addContact(bob.address, 'bob');
      alice.send(bob.address, 'hi');
      const ms = (await arrived) - t0;
      if (i >= warmup) firstContact.push(ms);
      say(`first contact ${i < warmup ? `(warm-up ${i + 1}/${warmup})` : `${i + 1 - warmup}/${contacts}`}: ${ms.toFixed(1)} ms`);
      if (i < warmup + contacts - 1) {
        await alice.close();
        open.pop();
      }
    }
    const alice = open.at(-1)!;
    const rtt: number[] = [];
    for (let i = 0; i < 20; i++) await alice.measureRtt(bob.address); // warm-up
    for (let i = 0; i < rtts; i++) rtt.push(await alice.measureRtt(bob.address));
    const result = { machine: machineInfo(), firstContactMs: summarize(firstContact), rttMs: summarize(rtt) };
    if (json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    say(`machine: ${describeMachine(result.machine)}`);
    say(`first contact (cold, n=${contacts}): p50 ${result.firstContactMs.p50} ms, p95 ${result.firstContactMs.p95} ms (goal p50 ≤ 60 ms)`);
    say(`message RTT over the spliced circuit (n=${rtts}): p50 ${result.rttMs.p50} ms, p95 ${result.rttMs.p95} ms (goals p50 ≤ 1.5 ms, p95 ≤ 5 ms)`);
  } finally {
    for (const c of open) await c.close().catch(() => undefined);
    await net.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench:chat failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
