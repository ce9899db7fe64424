/**
 * `measureCircuit`: what one fresh circuit costs and how fast it answers — the build time
 * with each hop's share (CREATE2 / EXTEND2 round trips), the time to open a stream through
 * it, and the round-trip time of small messages to an echo server behind its exit.
 *
 * Not a benchmark driver (testnet/bench.ts aggregates many of these into percentiles).
 */
import type { Duplex } from 'node:stream';
import type { ChiveClient } from '../client/client.js';

export interface CircuitMeasurement {
  /** Whole build, link set-up included, ms. */
  readonly buildMs: number;
  /** Each hop's handshake round trip (CREATE2 for the first, EXTEND2 for the others), ms. */
  readonly perHopMs: readonly number[];
  /** BEGIN → CONNECTED, ms. */
  readonly connectMs: number;
  /** Median round-trip time of the echoes, ms. */
  readonly rttMs: number;
  readonly rttSamplesMs: readonly number[];
}

export interface MeasureOptions {
  /** An echo server reachable from the exits (a test network's `net.echo`). */
  readonly target: { host: string; port: number };
  /** Echo round trips to time (default 5). */
  readonly pings?: number;
  /** Bytes per echo (default 64). */
  readonly payloadBytes?: number;
  readonly timeoutMs?: number;
}

export async function measureCircuit(client: ChiveClient, options: MeasureOptions): Promise<CircuitMeasurement> {
  const pings = options.pings ?? 5;
  const size = options.payloadBytes ?? 64;
  const circuit = await client.buildCircuit({ target: options.target });
  try {
    const t0 = performance.now();
    const stream = await circuit.openStream(options.target.host, options.target.port, { timeoutMs: options.timeoutMs ?? 10_000 });
    const connectMs = performance.now() - t0;
    const samples: number[] = [];
    const payload = new Uint8Array(size).fill(0x2a);
    for (let i = 0; i < pings; i++) samples.push(await echoOnce(stream, payload));
    stream.end();
    const sorted = [...samples].sort((a, b) => a - b);
    return {
      buildMs: circuit.buildMs,
      perHopMs: [...circuit.hopTimesMs],
      connectMs,
      rttMs: sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN,
      rttSamplesMs: samples,
    };
  } finally {
    circuit.destroy();
  }
}

/** Writes `payload` and resolves with the ms until as many bytes came back. */
export function echoOnce(stream: Duplex, payload: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const t0 = performance.now();
    const onData = (chunk: Buffer) => {
      got += chunk.length;
      if (got >= payload.length) {
        cleanup();
        resolve(performance.now() - t0);
      }
    };
    const onError = (e: unknown) => {
      cleanup();
      reject(e);
    };
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('error', onError);
    };
    stream.on('data', onData);
    stream.on('error', onError);
    stream.write(payload);
  });
}
