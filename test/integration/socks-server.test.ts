/**
 * The SOCKS5 server (client/socks-server.ts) and `chive socks` (client/socks-command.ts)
 * over real loopback sockets, driven by the real curl binary and by a raw socket client.
 *
 * STAND-IN: the injected openStream here dials the target directly with node:net (or
 * returns a hand-made Duplex), and refuses the way an exit does (STREAM_REFUSED worded as
 * client/circuit-streams.ts words it). That stands in for the circuit layer in THIS unit:
 * the server only ever sees a Promise<Duplex>. Streams through real circuits are tested
 * where the client is composed (createTestNetwork).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ChiveError, isChiveError } from '../../src/errors.js';
import { EndReason, SocksReply } from '../../src/wire/constants.js';
import { endReasonName } from '../../client/reason-names.js';
import { type OpenStream, isLoopbackHost, type SocksServerOptions, startSocksServer } from '../../client/socks-server.js';
import { runSocksCommand } from '../../client/socks-command.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const MiB = 1024 * 1024;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const poll = (cond: () => boolean): Promise<void> =>
  new Promise((r) => { const t = setInterval(() => cond() && (clearInterval(t), r()), 5); });
/** Deterministic bytes, so a corrupted or reordered transfer cannot pass. */
const pattern = (n: number, salt = 0): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >>> 11) + salt) & 0xff;
  return b;
};
async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return (server.address() as { port: number }).port;
}
/** TCP echo (half-close aware: ends after echoing everything once the client ends). */
const echoClosed: number[] = [];
async function echoServer(): Promise<number> {
  return listen(createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {}).on('close', () => echoClosed.push(Date.now())).pipe(s);
  }));
}

const BIG = pattern(5 * MiB, 3);
async function httpServer(): Promise<number> {
  const server = createHttpServer((req, res) => {
    res.end(req.url === '/big' ? BIG : 'hello through socks\n');
  });
  const port = await listen(server);
  cleanups.push(() => server.closeAllConnections());
  return port;
}

/** The stand-in for the circuit layer (see the header). */
const directOpen: OpenStream = (host, port) => {
  if (port === 25) return Promise.reject(new ChiveError('STREAM_REFUSED', `the exit refused ${host}:${port}: EXIT_POLICY`, { cause: { endReason: EndReason.EXIT_POLICY } }));
  if (host.endsWith('.invalid')) return Promise.reject(new ChiveError('STREAM_REFUSED', `the exit refused ${host}:${port}: ${endReasonName(EndReason.RESOLVE_FAILED)}`, { cause: { endReason: EndReason.RESOLVE_FAILED } }));
  if (host === 'slow.example') return Promise.reject(new ChiveError('STREAM_TIMEOUT', 'no CONNECTED within 10 ms'));
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, allowHalfOpen: true });
    s.once('connect', () => resolve(s));
    s.once('error', (e: NodeJS.ErrnoException) => {
      const reason = e.code === 'ECONNREFUSED' ? EndReason.CONNECT_REFUSED : EndReason.MISC;
      reject(new ChiveError('STREAM_REFUSED', `the exit refused ${host}:${port}: ${endReasonName(reason)}`, { cause: { endReason: reason } }));
    });
  });
};

async function socks(extra: Partial<SocksServerOptions> = {}) {
  const server = await startSocksServer({ openStream: directOpen, ...extra });
  cleanups.push(() => server.close());
  return server;
}

/** Collects what a raw client socket receives; `take(n)` waits for n bytes. */
class Received {
  private chunks: Buffer[] = [];
  private length = 0;
  ended = false;
  closed = false;
  private wake: (() => void) | null = null;
  constructor(readonly socket: Socket) {
    socket.on('data', (c: Buffer) => { this.chunks.push(c); this.length += c.length; this.wake?.(); }).on('error', () => {});
    socket.on('end', () => { this.ended = true; this.wake?.(); }).on('close', () => { this.closed = true; this.wake?.(); });
  }
  private async until(cond: () => boolean, what: string): Promise<void> {
    for (const deadline = Date.now() + 10_000; !cond(); await new Promise<void>((r) => { this.wake = r; setTimeout(r, 20); })) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    }
  }
  private all(): Buffer {
    return (this.chunks = [Buffer.concat(this.chunks)])[0]!;
  }
  async take(n: number): Promise<Buffer> {
    await this.until(() => this.length >= n || this.ended || this.closed, `${n} bytes`);
    if (this.length < n) throw new Error(`connection ended after ${this.length} of ${n} bytes`);
    const b = this.all();
    this.chunks = [b.subarray(n)];
    this.length -= n;
    return b.subarray(0, n);
  }
  async rest(): Promise<Buffer> {
    await this.until(() => this.ended || this.closed, 'the end');
    return this.all();
  }
}

async function rawClient(port: number): Promise<Received> {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
  cleanups.push(() => socket.destroy());
  return new Received(socket);
}

const GREETING = Buffer.from([5, 1, 0]);
const connectIpv4 = (port: number, ip = [127, 0, 0, 1]) => Buffer.from([5, 1, 0, 1, ...ip, port >> 8, port & 0xff]);
const connectDomain = (name: string, port: number) => Buffer.from([5, 1, 0, 3, name.length, ...Buffer.from(name), port >> 8, port & 0xff]);
const replyOf = (code: number) => Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);

/** Greeting + request; resolves with the client once the reply (checked against `expected`) came. */
async function handshake(socksPort: number, request: Buffer, expected: number = SocksReply.SUCCEEDED): Promise<Received> {
  const c = await rawClient(socksPort);
  c.socket.write(GREETING);
  expect(await c.take(2)).toEqual(Buffer.from([5, 0]));
  c.socket.write(request);
  expect(await c.take(10)).toEqual(replyOf(expected));
  return c;
}

function curl(args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '30', ...args], { encoding: 'buffer', maxBuffer: 64 * MiB }, (e, stdout, stderr) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr: stderr.toString() });
    });
  });
}
async function haveCurl(): Promise<boolean> {
  const ok = (await curl(['--version'])).code === 0;
  if (!ok) console.warn('curl is not installed: skipping the curl case of the SOCKS5 server test');
  return ok;
}

describe('SOCKS5 server with curl', () => {
  it('serves curl --socks5-hostname: IPv4 literal, host name, 5 MiB intact, and refusals', async (ctx) => {
    if (!(await haveCurl())) return ctx.skip();
    const http = await httpServer();
    const opened: string[] = [];
    const server = await socks({ openStream: (h, p) => { opened.push(`${h}:${p}`); return directOpen(h, p); } });
    const proxy = ['--socks5-hostname', `127.0.0.1:${server.port}`];
    const small = await curl([...proxy, `http://127.0.0.1:${http}/`]);
    expect(small.stderr).toBe('');
    expect(small.stdout.toString()).toBe('hello through socks\n');
    expect((await curl([...proxy, `http://localhost:${http}/`])).stdout.toString()).toBe('hello through socks\n');
    const big = await curl([...proxy, `http://127.0.0.1:${http}/big`]);
    expect(big.stdout.length).toBe(BIG.length);
    expect(sha(big.stdout)).toBe(sha(BIG));
    // curl 7.88 names the reply code: "Can't complete SOCKS5 connection to 127.0.0.1. (2)".
    const policy = await curl([...proxy, `http://127.0.0.1:25/`]);
    expect(policy.code).not.toBe(0);
    expect(policy.stderr).toMatch(/SOCKS5.*\(2\)/);
    const v6 = await curl([...proxy, `http://[::1]:${http}/`]);
    expect(v6.code).not.toBe(0);
    expect(v6.stderr).toMatch(/SOCKS5.*\(8\)/);
    // curl sends an IPv4 literal as ATYP 1 and a name as ATYP 3; IPv6 never reaches openStream.
    expect(opened).toEqual([`127.0.0.1:${http}`, `localhost:${http}`, `127.0.0.1:${http}`, '127.0.0.1:25']);
    const c = server.counters();
    expect(c.streamsOpened).toBe(3);
    expect(c.openFailures).toEqual({ NOT_ALLOWED: 1 });
    expect(c.unsupported).toBe(1);
  });
});

describe('SOCKS5 server with a raw client', () => {
  it('CONNECTs by IPv4 and by domain name and echoes; bytes sent with the request go first', async () => {
    const echo = await echoServer();
    const server = await socks();
    const a = await handshake(server.port, connectIpv4(echo));
    a.socket.write('ping');
    expect((await a.take(4)).toString()).toBe('ping');
    const b = await handshake(server.port, connectDomain('127.0.0.1', echo));
    b.socket.write('pong');
    expect((await b.take(4)).toString()).toBe('pong');
    // Greeting, request and data in one write (optimistic data).
    const c = await rawClient(server.port);
    c.socket.write(Buffer.concat([GREETING, connectIpv4(echo), Buffer.from('early')]));
    expect(await c.take(12)).toEqual(Buffer.concat([Buffer.from([5, 0]), replyOf(0)]));
    expect((await c.take(5)).toString()).toBe('early');
  });

  it('answers refusals with the mapped reply code and closes', async () => {
    const closed = createServer();
    const deadPort = await listen(closed);
    await new Promise((r) => closed.close(r));
    const server = await socks();
    const cases: [Buffer, number][] = [
      [connectIpv4(deadPort), SocksReply.CONNECTION_REFUSED],
      [connectIpv4(25), SocksReply.NOT_ALLOWED],
      [connectDomain('nowhere.invalid', 80), SocksReply.HOST_UNREACHABLE],
      [connectDomain('slow.example', 80), SocksReply.TTL_EXPIRED],
      [Buffer.from([5, 2, 0, 1, 127, 0, 0, 1, 0, 80]), SocksReply.COMMAND_NOT_SUPPORTED], // BIND
      [Buffer.from([5, 3, 0, 1, 127, 0, 0, 1, 0, 80]), SocksReply.COMMAND_NOT_SUPPORTED], // UDP ASSOCIATE
      [Buffer.from([5, 1, 0, 4, ...new Array(15).fill(0), 1, 0, 80]), SocksReply.ADDRESS_TYPE_NOT_SUPPORTED], // [::1]
      [Buffer.from([5, 1, 0, 2, 1, 2, 3, 4]), SocksReply.ADDRESS_TYPE_NOT_SUPPORTED], // ATYP 2
      [Buffer.from([5, 1, 1, 1, 127, 0, 0, 1, 0, 80]), SocksReply.GENERAL_FAILURE], // RSV 1
      [connectDomain('bad name', 80), SocksReply.GENERAL_FAILURE],
    ];
    for (const [request, expected] of cases) {
      const c = await handshake(server.port, request, expected);
      expect((await c.rest()).length).toBe(0);
      expect(c.ended).toBe(true);
    }
    const counters = server.counters();
    expect(counters.openFailures).toEqual({ CONNECTION_REFUSED: 1, NOT_ALLOWED: 1, HOST_UNREACHABLE: 1, TTL_EXPIRED: 1 });
    expect(counters.unsupported).toBe(3);
    expect(counters.malformed).toBe(3);
    expect(counters.streamsOpened).toBe(0);
  });

  it('refuses bad greetings: no reply to a wrong version, 0xff without NO_AUTH', async () => {
    const server = await socks();
    for (const bytes of [[4, 1, 0, 80, 127, 0, 0, 1, 0], [...Buffer.from('GET / HTTP/1.1\r\n')], [5, 0]]) {
      const c = await rawClient(server.port);
      c.socket.write(Buffer.from(bytes));
      expect((await c.rest()).length).toBe(0);
    }
    const c = await rawClient(server.port);
    c.socket.write(Buffer.from([5, 1, 2])); // username/password only
    expect(await c.take(2)).toEqual(Buffer.from([5, 0xff]));
    await c.rest();
    expect(server.counters()).toMatchObject({ malformed: 3, noAcceptableMethod: 1 });
  });

  it('half-closes both ways', async () => {
    const echo = await echoServer();
    const server = await socks();
    // The program ends first: the echo still answers everything, then ends.
    const a = await handshake(server.port, connectIpv4(echo));
    a.socket.end(pattern(100_000));
    expect(sha(await a.rest())).toBe(sha(pattern(100_000)));
    expect(a.ended).toBe(true);
    // The target ends first: the program still gets to send, and the target reads it all.
    let got = 0;
    const done = new Promise<number>((resolve) => {
      const target = createServer({ allowHalfOpen: true }, (s) => {
        s.end('bye');
        s.on('data', (d: Buffer) => { got += d.length; });
        s.on('end', () => resolve(got));
      });
      void listen(target).then(async (port) => {
        const b = await handshake(server.port, connectIpv4(port));
        expect((await b.take(3)).toString()).toBe('bye');
        await poll(() => b.ended);
        b.socket.end(pattern(300_000));
      });
    });
    expect(await done).toBe(300_000);
  });

  it('carries 5 MiB each way intact at once', async () => {
    const echo = await echoServer();
    const server = await socks();
    const c = await handshake(server.port, connectIpv4(echo));
    const data = pattern(5 * MiB, 11);
    c.socket.end(data);
    const back = await c.rest();
    expect(back.length).toBe(data.length);
    expect(sha(back)).toBe(sha(data));
    await new Promise((r) => setTimeout(r, 50));
    const counters = server.counters();
    expect(counters.active).toBe(0);
    expect(counters.bytesFromPrograms).toBe(3 + 10 + data.length);
    expect(counters.bytesToPrograms).toBe(2 + 10 + data.length);
  });

  it('applies backpressure: a program that does not read stops the stream producing', async () => {
    let produced = 0;
    const total = 64 * MiB;
    const source = new Duplex({
      read() {
        if (produced >= total) return void this.push(null);
        produced += 64 * 1024;
        this.push(pattern(64 * 1024, produced >>> 16));
      },
      write(_c, _e, cb) { cb(); },
    });
    const server = await socks({ openStream: async () => source });
    const c = await handshake(server.port, connectDomain('source', 1));
    c.socket.pause();
    await new Promise((r) => setTimeout(r, 500));
    const whilePaused = produced;
    await new Promise((r) => setTimeout(r, 200));
    expect(produced).toBe(whilePaused); // stalled, not merely slow
    expect(produced).toBeLessThan(16 * MiB);
    c.socket.resume();
    expect((await c.rest()).length).toBe(total);
  });

  it('cleans up: a program that vanishes closes the target; a failing stream closes the program', async () => {
    const echo = await echoServer();
    const server = await socks();
    const before = echoClosed.length;
    const a = await handshake(server.port, connectIpv4(echo));
    a.socket.write(pattern(1 * MiB));
    a.socket.resetAndDestroy();
    await poll(() => echoClosed.length > before);
    const failing = new Duplex({ read() {}, write(_c, _e, cb) { cb(new ChiveError('CIRCUIT_DESTROYED', 'relay killed')); } });
    const server2 = await socks({ openStream: async () => failing });
    const b = await handshake(server2.port, connectDomain('x', 1));
    b.socket.write('data');
    await b.rest();
    expect(b.closed || b.ended).toBe(true);
    expect(failing.destroyed).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(server.counters().active + server2.counters().active).toBe(0);
  });

  it('limits: handshake timeout, open timeout (a late stream is destroyed), max connections', async () => {
    let late: Duplex | null = null;
    const server = await socks({
      handshakeTimeoutMs: 200, openTimeoutMs: 200, maxConnections: 2,
      openStream: () => new Promise((r) => setTimeout(() => { late = new Duplex({ read() {}, write(_c, _e, cb) { cb(); } }); r(late); }, 400)),
    });
    const idle = await rawClient(server.port);
    const t0 = Date.now();
    await idle.rest();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    const slow = await handshake(server.port, connectDomain('x', 1), SocksReply.TTL_EXPIRED);
    await slow.rest();
    await new Promise((r) => setTimeout(r, 400));
    expect(late).not.toBeNull();
    expect(late!.destroyed).toBe(true);
    const held = [await rawClient(server.port), await rawClient(server.port)];
    const third = await rawClient(server.port);
    expect((await third.rest()).length).toBe(0);
    expect(held.every((h) => !h.closed)).toBe(true);
    expect(server.counters()).toMatchObject({ rejectedOverLimit: 1, handshakeIncomplete: 1, openFailures: { TTL_EXPIRED: 1 } });
  });

  it('listens on loopback only unless allowed (with a warning); SOCKS_LISTEN_FAILED on a taken port', async () => {
    for (const h of ['127.0.0.1', '127.9.8.7', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::ffff:10.0.0.1', 'example.com']) expect(isLoopbackHost(h), h).toBe(false);
    await expect(startSocksServer({ openStream: directOpen, host: '0.0.0.0' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const warnings: string[] = [];
    const open = await socks({ host: '0.0.0.0', allowNonLoopback: true, log: (lvl, msg) => lvl === 'warn' && warnings.push(msg) });
    expect(warnings.join()).toMatch(/non-loopback/);
    const err = await startSocksServer({ openStream: directOpen, port: open.port }).catch((e: unknown) => e);
    expect(isChiveError(err, 'SOCKS_LISTEN_FAILED')).toBe(true);
  });
});

describe('chive socks (the command)', () => {
  it('--help documents every flag; bad usage exits 2', async () => {
    const out: string[] = [];
    expect(await runSocksCommand(['--help'], { stdout: (l) => out.push(l) })).toBe(0);
    for (const flag of ['--network', '--port', '--host', '--data-dir', '--allow-non-loopback', '--max-connections', '--handshake-timeout', '--open-timeout', '--log-level', '--crypto']) {
      expect(out.join('\n')).toContain(flag);
    }
    expect(await runSocksCommand(['--port', '0'], { stderr: () => {} })).toBe(2);
    expect(await runSocksCommand(['--network', 'n.json', '--port', '70000'], { stderr: () => {} })).toBe(2);
  });

  it('prints the listening line, serves through client.openStream, closes the client on stop', async () => {
    const echo = await echoServer();
    const dir = mkdtempSync('/tmp/chive-socks-');
    const networkFile = `${dir}/network.json`;
    writeFileSync(networkFile, JSON.stringify({ version: 1, testnet: true, authorities: [{ name: 'auth0', url: 'http://127.0.0.1:7000', identity: 'ab'.repeat(32) }] }));
    const calls: string[] = [];
    let closed = false;
    const lines: string[] = [];
    const abort = new AbortController();
    const listening = new Promise<{ port: number; host: string }>((resolve) => {
      void runSocksCommand(['--network', networkFile, '--port', '0', '--log-level', 'silent'], {
        stdout: (l) => { lines.push(l); resolve(JSON.parse(l)); },
        stderr: () => {},
        signal: abort.signal,
        createClient: async ({ network, dataDir }) => {
          calls.push(`create ${network.authorities.length} ${dataDir}`);
          return { openStream: (h, p) => { calls.push(`open ${h}:${p}`); return directOpen(h, p); }, close: async () => { closed = true; } };
        },
      }).then((code) => calls.push(`exit ${code}`));
    });
    const { port } = await listening;
    expect(JSON.parse(lines[0]!)).toEqual({ event: 'listening', host: '127.0.0.1', port });
    const c = await handshake(port, connectIpv4(echo));
    c.socket.end('via command');
    expect((await c.rest()).toString()).toBe('via command');
    abort.abort();
    await new Promise((r) => setTimeout(r, 100));
    expect(calls).toEqual(['create 1 undefined', `open 127.0.0.1:${echo}`, 'exit 0']);
    expect(closed).toBe(true);
  });
});
