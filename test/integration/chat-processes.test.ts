/**
 * Chat end to end with real processes, as a user runs it: `chive testnet` nodes (one OS
 * process each) and two `chive chat --headless` processes speaking JSON lines.
 *   - A adds B by address, B accepts, 200 messages each way arrive in order, exactly once,
 *     with delivery acks; B is restarted mid-stream and the rest still arrives;
 *   - the rendezvous relay and one of B's introduction points are killed mid-conversation:
 *     every message is still delivered exactly once, automatically; recovery time printed;
 *   - nothing but JSON lines on stdout; no message text or address in any relay's log.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchTestnet, type Testnet } from '../../testnet/launcher.js';
import { CHIVE_BIN } from '../../testnet/node-process.js';
import { waitFor } from '../support/wait.js';

type Event = Record<string, unknown> & { event: string };

class HeadlessChat {
  readonly events: Event[] = [];
  readonly stdoutJunk: string[] = [];
  readonly stderr: string[] = [];
  private readonly proc: ChildProcessWithoutNullStreams;
  exited: Promise<number | null>;

  constructor(readonly name: string, profile: string, networkFile: string, extra: string[] = []) {
    this.proc = spawn(process.execPath, [CHIVE_BIN, 'chat', '--headless', '--profile', profile, '--network', networkFile, '--name', name, ...extra], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      try {
        const e = JSON.parse(line) as Event;
        if (typeof e.event !== 'string') throw new Error('no event');
        this.events.push(e);
      } catch {
        this.stdoutJunk.push(line);
      }
    });
    createInterface({ input: this.proc.stderr }).on('line', (line) => this.stderr.push(line));
    this.exited = new Promise((r) => this.proc.on('exit', (code) => r(code)));
  }

  cmd(c: Record<string, unknown>): void {
    this.proc.stdin.write(JSON.stringify(c) + '\n');
  }

  of(kind: string): Event[] {
    return this.events.filter((e) => e.event === kind);
  }

  async ready(): Promise<string> {
    const e = await waitFor(`${this.name} ready`, () => this.of('ready')[0] ?? this.of('error')[0], 60_000);
    if (e.event !== 'ready') throw new Error(`${this.name} failed to start: ${JSON.stringify(e)}\n${this.stderr.join('\n')}`);
    return e.address as string;
  }

  async quit(): Promise<number | null> {
    this.cmd({ cmd: 'quit' });
    this.proc.stdin.end();
    return this.exited;
  }
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('chive chat --headless over a chive testnet (real processes)', () => {
  let net: Testnet;
  let dir: string;
  const chats: HeadlessChat[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chive-chat-e2e-'));
    dirs.push(dir);
    net = await launchTestnet({ dir: join(dir, 'net'), authorities: 3, relays: 7, exits: 1, stopGraceMs: 3000 });
  }, 120_000);

  afterAll(async () => {
    for (const c of chats) await Promise.race([c.quit(), new Promise((r) => setTimeout(r, 3000))]);
    await net?.stop();
  });

  const start = (name: string, profile = join(dir, name)) => {
    const c = new HeadlessChat(name, profile, net.networkFile);
    chats.push(c);
    return c;
  };

  it('200 messages each way, in order, exactly once, acknowledged, across a restart and the loss of the rendezvous and an introduction point', async () => {
    try {
      await conversation();
    } catch (e) {
      for (const c of chats) {
        const kinds: Record<string, number> = {};
        for (const ev of c.events) kinds[ev.event] = (kinds[ev.event] ?? 0) + 1;
        console.log(`${c.name}: ${JSON.stringify(kinds)}\n  ${c.stderr.slice(-25).join('\n  ')}`);
      }
      throw e;
    }
  }, 400_000);

  async function conversation(): Promise<void> {
    const a = start('alice');
    let b = start('bob');
    const [addrA, addrB] = await Promise.all([a.ready(), b.ready()]);
    expect(addrA).toMatch(/^chive1p[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/);

    const tAdd = performance.now();
    a.cmd({ cmd: 'add', address: addrB, name: 'bob' });
    await waitFor('request at bob', () => b.of('request').find((e) => e.from === addrA), 30_000);
    console.log(`first contact (add → request at the peer): ${(performance.now() - tAdd).toFixed(1)} ms`);
    b.cmd({ cmd: 'accept', address: addrA });

    const N = 200;
    const textA = (i: number) => `from alice #${i}`;
    const textB = (i: number) => `from bob #${i} ${'·'.repeat(i % 7 === 0 ? 700 : 3)}`;
    const bobReceived: Event[] = [];
    const collect = (c: HeadlessChat, from: string) => () => c.of('message').filter((m) => m.from === from);

    // First half both ways, then bob restarts while alice keeps sending.
    for (let i = 0; i < N / 2; i++) {
      a.cmd({ cmd: 'send', to: addrB, text: textA(i) });
      b.cmd({ cmd: 'send', to: addrA, text: textB(i) });
    }
    await waitFor('bob got the first half', () => collect(b, addrA)().length >= N / 4, 60_000);
    expect(await b.quit()).toBe(0);
    bobReceived.push(...collect(b, addrA)());
    const bobDeliveredBefore = b.of('delivered').length;
    // What bob has not seen acknowledged yet will be resent by the new process from its outbox.
    for (let i = N / 2; i < N; i++) a.cmd({ cmd: 'send', to: addrB, text: textA(i) });
    b = start('bob', join(dir, 'bob'));
    expect(await b.ready()).toBe(addrB);
    for (let i = N / 2; i < N; i++) b.cmd({ cmd: 'send', to: addrA, text: textB(i) });

    // Mid-conversation: kill the rendezvous relay and one of bob's introduction points.
    await waitFor('bob has a session with alice again', () => b.of('contact').some((e) => e.address === addrA && e.online === true), 60_000);
    await waitFor('some of the second half arrived', () => collect(b, addrA)().length > 0, 60_000);
    b.cmd({ cmd: 'circuits' });
    const circuits = (await waitFor('bob circuits', () => b.of('circuits').at(-1), 10_000)).circuits as { purpose: string; hops: { nickname: string }[] }[];
    const rendezvous = circuits.find((c) => c.purpose === 'rendezvous')!.hops.at(-1)!.nickname;
    const intro = circuits.filter((c) => c.purpose === 'intro').map((c) => c.hops.at(-1)!.nickname).find((n) => n !== rendezvous)!;
    const tKill = performance.now();
    for (const nick of [rendezvous, intro]) process.kill(net.relays.find((r) => r.nickname === nick)!.pid, 'SIGKILL');
    const mark = b.events.length;
    const after = () => b.events.slice(mark).filter((e) => e.event === 'contact' && e.address === addrA);
    await waitFor('bob notices the session is gone', () => after().some((e) => e.online === false), 30_000);
    await waitFor('a new session after the kill', () => after().at(-1)?.online === true, 60_000);
    console.log(`recovery after killing the rendezvous point and an introduction point: ${(performance.now() - tKill).toFixed(0)} ms`);

    await waitFor('all 200 of alice delivered', () => a.of('delivered').length >= N, 120_000);
    await waitFor('all 200 of bob delivered', () => bobDeliveredBefore + b.of('delivered').length >= N, 120_000);
    await waitFor('alice received 200', () => collect(a, addrB)().length >= N, 60_000);

    // Bob's messages at alice: each once, in order.
    expect(collect(a, addrB)().map((m) => m.text)).toEqual(Array.from({ length: N }, (_, i) => textB(i)));
    expect(collect(a, addrB)().map((m) => m.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    // Alice's messages at bob, across both bob processes: each once, in order.
    const atBob = [...bobReceived, ...collect(b, addrA)()];
    expect(atBob.map((m) => m.text)).toEqual(Array.from({ length: N }, (_, i) => textA(i)));
    // And bob's history (the profile) holds all 200, once each.
    b.cmd({ cmd: 'history', with: addrA });
    const history = (await waitFor('bob history', () => b.of('history').at(-1), 10_000)).entries as { direction: string; text: string; state: string }[];
    expect(history.filter((h) => h.direction === 'in').map((h) => h.text)).toEqual(Array.from({ length: N }, (_, i) => textA(i)));
    expect(history.filter((h) => h.direction === 'out').every((h) => h.state === 'delivered')).toBe(true);

    // Message RTT over the spliced circuit.
    const rtts: number[] = [];
    for (let i = 0; i < 20; i++) {
      a.cmd({ cmd: 'rtt', with: addrB });
      await waitFor('rtt', () => a.of('rtt').length > i, 10_000);
    }
    rtts.push(...a.of('rtt').map((e) => e.ms as number));
    rtts.sort((x, y) => x - y);
    console.log(`message RTT over the spliced circuit: p50 ${rtts[Math.floor(rtts.length / 2)]!.toFixed(2)} ms, p95 ${rtts[Math.floor(rtts.length * 0.95)]!.toFixed(2)} ms`);

    // Nothing but JSON events on stdout.
    for (const c of chats) expect(c.stdoutJunk).toEqual([]);
    // No relay logged an address or a message text.
    for (const relay of net.relays) {
      for (const file of readdirSync(relay.dataDir)) {
        const path = join(relay.dataDir, file);
        if (!statSync(path).isFile()) continue;
        const text = readFileSync(path, 'latin1');
        expect(text.includes(addrA) || text.includes(addrB) || text.includes('from alice #') || text.includes('from bob #')).toBe(false);
      }
    }
  }
});
