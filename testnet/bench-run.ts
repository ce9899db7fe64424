/**
 * One `chive bench` run's phases over an open bench network (bench-network.ts): warm-up,
 * circuit builds, round trips, bulk transfers — one operation at a time — and the samples
 * and failure counts they leave. Every loss is counted: a circuit the client gave up on, a
 * stream that did not open, an echo or a transfer that failed or timed out.
 *
 * Not here: options, the network, the result's shape (bench.ts).
 */
import { ChiveError, isChiveError } from '../src/errors.js';
import type { ClientCircuit } from '../client/circuit.js';
import type { ClientStream } from '../client/stream.js';
import type { BenchNetwork } from './bench-network.js';
import { formatByteSize } from './bench-stats.js';
import type { BenchPhase, ResolvedOptions } from './bench.js';
import { echoOnce } from './measure.js';

const HALF_MIB = 512 * 1024;
const ONE_MIB = 1024 * 1024;
const RTT_PAYLOAD_BYTES = 64;

export interface FailureDetail {
  /** Circuit build attempts since the bench began (the client retries on fresh paths). */
  buildAttempts: number;
  buildFailures: number;
  buildTimeouts: number;
  /** Requests for which the client gave up after all its attempts (those are counted above). */
  circuitsNotBuilt: number;
  /** Requests the consensus of the moment had no path for (PATH_*): no attempt was made. */
  pathFailures: number;
  streamFailures: number;
  streamTimeouts: number;
  echoFailures: number;
  echoTimeouts: number;
  transferFailures: number;
  transferTimeouts: number;
}

export interface BenchSamples {
  readonly circuitBuildMs: number[];
  readonly perHopMs: number[][];
  readonly streamConnectMs: number[];
  readonly rttMs: number[];
  readonly ttfbMs: Record<string, number[]>;
  readonly ttlbMs: Record<string, number[]>;
  readonly goodputMBps: number[];
}

export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ChiveError('BENCH_INTERRUPTED', 'the bench was stopped before it finished');
}

function isTimeout(e: unknown): boolean {
  return isChiveError(e) && e.code.endsWith('_TIMEOUT');
}

/** Rejects with BENCH_TIMEOUT after `ms` (and runs `onTimeout`) unless `p` settles first. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new ChiveError('BENCH_TIMEOUT', `${what} did not finish within ${ms} ms`));
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** One run's state: the samples, the failure counts, and the phases that fill them. */
export class BenchRun {
  readonly samples: BenchSamples = {
    circuitBuildMs: [], perHopMs: [], streamConnectMs: [], rttMs: [], ttfbMs: {}, ttlbMs: {}, goodputMBps: [],
  };
  readonly detail: FailureDetail = {
    buildAttempts: 0, buildFailures: 0, buildTimeouts: 0, circuitsNotBuilt: 0, pathFailures: 0, streamFailures: 0, streamTimeouts: 0,
    echoFailures: 0, echoTimeouts: 0, transferFailures: 0, transferTimeouts: 0,
  };
  readonly statsAtStart: { builds: number; buildFailures: number; buildTimeouts: number };
  private readonly target: { host: string; port: number };
  private builtOnce = false;

  constructor(
    private readonly net: BenchNetwork,
    private readonly opts: ResolvedOptions,
    private readonly say: (phase: BenchPhase, done: number, total: number, message: string) => void,
    private readonly tally: (e: unknown) => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.statsAtStart = { ...net.client.stats };
    this.target = net.target;
  }

  async all(): Promise<void> {
    const { warmup, circuits } = this.opts;
    for (let i = 0; i < warmup; i++) {
      this.say('warmup', i, warmup, `warming up (links to the relays) ${i + 1}/${warmup}…`);
      (await this.build())?.destroy();
    }
    if (warmup > 0) this.say('warmup', warmup, warmup, `warm-up circuits ${warmup}/${warmup}`);
    for (let i = 0; i < circuits; i++) {
      this.say('circuits', i, circuits, `building circuits ${i + 1}/${circuits}…`);
      const circuit = await this.build();
      if (!circuit) continue;
      this.samples.circuitBuildMs.push(circuit.buildMs);
      circuit.hopTimesMs.forEach((ms, hop) => (this.samples.perHopMs[hop] ??= []).push(ms));
      circuit.destroy();
    }
    if (circuits > 0) this.say('circuits', circuits, circuits, `circuits ${this.samples.circuitBuildMs.length}/${circuits} built`);
    await this.rtt();
    await this.transfers();
  }

  /** A fresh circuit to an exit allowing the target, or null (counted) when the client gave up. */
  private async build(): Promise<ClientCircuit | null> {
    checkAborted(this.signal);
    try {
      const circuit = await this.net.client.buildCircuit({ target: this.target });
      this.builtOnce = true;
      return circuit;
    } catch (e) {
      const noPath = isChiveError(e) && e.code.startsWith('PATH_');
      if (noPath && !this.builtOnce) {
        // Before any success, the network cannot serve the bench at all: say why and stop.
        const why = isChiveError(e, 'PATH_NO_EXIT')
          ? `no exit of the network allows ${this.target.host}:${this.target.port}: the bench needs exits that allow its server (a chive testnet allows 127.0.0.1), or --target`
          : (e as ChiveError).message;
        throw new ChiveError((e as ChiveError).code, why, { cause: e });
      }
      if (noPath) {
        // The consensus of the moment offered no path (relays dropped out of it): no attempt was made.
        this.tally(e);
        this.detail.pathFailures += 1;
      }
      this.detail.circuitsNotBuilt += 1;
      return null;
    }
  }

  /** A stream to the target over `circuit` (connect time recorded), or null (counted; the circuit destroyed). */
  private async open(circuit: ClientCircuit): Promise<ClientStream | null> {
    const t0 = performance.now();
    try {
      const stream = await circuit.openStream(this.target.host, this.target.port, { timeoutMs: this.opts.timeoutMs });
      this.samples.streamConnectMs.push(performance.now() - t0);
      stream.on('error', () => {}); // failures surface through the operation that awaits them
      return stream;
    } catch (e) {
      this.tally(e);
      if (isTimeout(e)) this.detail.streamTimeouts += 1;
      else this.detail.streamFailures += 1;
      circuit.destroy();
      return null;
    }
  }

  /**
   * `rttSamples` echoes spread over `rttCircuits` circuits. A circuit that fails (counted)
   * hands its share to the next one; at most `rttCircuits` extra circuits are tried.
   */
  private async rtt(): Promise<void> {
    const total = this.opts.rttSamples;
    const circuits = Math.min(this.opts.rttCircuits, total);
    const payload = new Uint8Array(RTT_PAYLOAD_BYTES).fill(0x2a);
    const samples = this.samples.rttMs;
    let used = 0;
    for (let tries = 0; samples.length < total && tries < 2 * circuits; tries++) {
      const want = Math.ceil((total - samples.length) / Math.max(1, circuits - used));
      this.say('rtt', samples.length, total, `round trips on circuit ${used + 1}/${circuits}, ${samples.length}/${total}…`);
      const circuit = await this.build();
      const stream = circuit && (await this.open(circuit));
      if (!circuit || !stream) continue;
      used += 1;
      try {
        const timeoutMs = this.opts.timeoutMs;
        const kill = (): void => void stream.destroy();
        stream.write('echo\n');
        await withTimeout(echoOnce(stream, payload), timeoutMs, 'the first echo', kill);
        for (let i = 0; i < want; i++) {
          checkAborted(this.signal);
          samples.push(await withTimeout(echoOnce(stream, payload), timeoutMs, `a ${RTT_PAYLOAD_BYTES}-byte echo`, kill));
        }
      } catch (e) {
        if (isChiveError(e, 'BENCH_INTERRUPTED')) throw e;
        this.tally(e);
        if (isTimeout(e)) this.detail.echoTimeouts += 1;
        else this.detail.echoFailures += 1;
      } finally {
        circuit.destroy();
      }
    }
    if (total > 0) this.say('rtt', total, total, `round trips ${samples.length}/${total} timed`);
  }

  private async transfers(): Promise<void> {
    const { sizes, transfers } = this.opts;
    const total = sizes.length * transfers;
    let done = 0;
    for (let round = 0; round < transfers; round++) {
      for (const size of sizes) {
        this.say('transfers', done, total, `transfers ${done + 1}/${total} (${formatByteSize(size)})…`);
        await this.transfer(size);
        done += 1;
      }
    }
    if (total > 0) this.say('transfers', total, total, `transfers ${Object.values(this.samples.ttlbMs).reduce((a, v) => a + v.length, 0)}/${total} completed`);
  }

  private async transfer(size: number): Promise<void> {
    const circuit = await this.build();
    const stream = circuit && (await this.open(circuit));
    if (!circuit || !stream) return;
    const meter = this.net.meter;
    try {
      const snapshot = meter.before();
      const t = await this.receive(stream, size);
      meter.after(snapshot, circuit, size);
      const key = String(size);
      (this.samples.ttfbMs[key] ??= []).push(t.firstByte);
      (this.samples.ttlbMs[key] ??= []).push(t.lastByte);
      if (t.goodputMBps !== null) this.samples.goodputMBps.push(t.goodputMBps);
    } catch (e) {
      if (isChiveError(e, 'BENCH_INTERRUPTED')) throw e;
      this.tally(e);
      if (isTimeout(e)) this.detail.transferTimeouts += 1;
      else this.detail.transferFailures += 1;
    } finally {
      circuit.destroy();
    }
  }

  /** Asks the bench server for `size` bytes and times them from the request on. */
  private receive(stream: ClientStream, size: number): Promise<{ firstByte: number; lastByte: number; goodputMBps: number | null }> {
    return new Promise((resolve, reject) => {
      let got = 0;
      let firstAt: number | null = null;
      let half: { at: number; bytes: number } | null = null;
      let one: { at: number; bytes: number } | null = null;
      const cleanup = (): void => {
        clearTimeout(timer);
        this.signal?.removeEventListener('abort', onAbort);
        stream.off('data', onData);
        stream.off('end', onEnd);
        stream.off('error', onError);
      };
      const onData = (chunk: Buffer): void => {
        const now = performance.now();
        firstAt ??= now;
        got += chunk.length;
        if (half === null && got >= HALF_MIB) half = { at: now, bytes: got };
        if (one === null && got >= ONE_MIB) one = { at: now, bytes: got };
        if (got < size) return;
        cleanup();
        const first = stream.firstByteAt ?? firstAt;
        const goodput = half !== null && one !== null && one.at > half.at ? (one.bytes - half.bytes) / (one.at - half.at) / 1000 : null;
        resolve({ firstByte: first - t0, lastByte: now - t0, goodputMBps: goodput });
      };
      const onEnd = (): void => {
        cleanup();
        reject(new ChiveError('BENCH_TRANSFER_SHORT', `the ${formatByteSize(size)} transfer ended after ${got} bytes`));
      };
      const onError = (e: unknown): void => {
        cleanup();
        reject(e);
      };
      const onAbort = (): void => {
        cleanup();
        stream.destroy();
        reject(new ChiveError('BENCH_INTERRUPTED', 'the bench was stopped during a transfer'));
      };
      this.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => {
        cleanup();
        stream.destroy();
        reject(new ChiveError('BENCH_TIMEOUT', `the ${formatByteSize(size)} transfer did not finish within ${this.opts.timeoutMs} ms (${got} bytes arrived)`));
      }, this.opts.timeoutMs);
      stream.on('data', onData);
      stream.on('end', onEnd);
      stream.on('error', onError);
      const t0 = performance.now();
      stream.write(`${size}\n`);
    });
  }
}
