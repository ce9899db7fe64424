/**
 * Load for bandwidth tests and the rate-limit bench: a TCP server behind the exit that
 * either streams bytes without end ("bulk\n") or echoes ("echo\n"), and stream circuits
 * at the cell level (raw-circuit.ts) that answer the exit's DATA with authenticated
 * SENDMEs, so the exit keeps sending as fast as the windows and the relays allow.
 * Test support only: honest clients live in client/.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { decodeCell } from '../../src/wire/cell.js';
import {
  CIRCUIT_WINDOW_INCREMENT, CIRCUIT_WINDOW_START, SENDME_VERSION, STREAM_WINDOW_INCREMENT, STREAM_WINDOW_START,
} from '../../src/wire/constants.js';
import { DeliverWindow } from '../../src/flow/sendme.js';
import { decodeRelayMessageInCell } from '../../src/wire/relay-message.js';
import type { ListedRelay } from '../../relay/index.js';
import { type RawLink, type RawCircuit, rawCircuit } from './raw-circuit.js';

export interface LoadServer {
  readonly port: number;
  close(): Promise<void>;
}

/** "bulk\n": pseudo-random bytes until the connection closes; "echo\n": every byte back. */
export async function startLoadServer(): Promise<LoadServer> {
  const sockets = new Set<Socket>();
  const chunk = new Uint8Array(64 * 1024).map((_, i) => (i * 31 + 7) & 0xff);
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    let line = '';
    const onData = (d: Buffer): void => {
      line += d.toString('latin1');
      const nl = line.indexOf('\n');
      if (nl < 0) return;
      socket.off('data', onData);
      const request = line.slice(0, nl);
      const rest = line.slice(nl + 1);
      if (request === 'echo') {
        if (rest) socket.write(Buffer.from(rest, 'latin1'));
        socket.pipe(socket);
      } else if (request === 'bulk') {
        const pump = (): void => {
          while (!socket.destroyed && socket.write(chunk));
        };
        socket.on('drain', pump);
        pump();
      } else socket.destroy();
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One circuit through `path` with one stream to the load server, answering DATA with SENDMEs. */
export class StreamCircuit {
  received = 0;
  failed: string | null = null;
  private readonly circuitWindow = new DeliverWindow(CIRCUIT_WINDOW_START, CIRCUIT_WINDOW_INCREMENT);
  private readonly streamWindow = new DeliverWindow(STREAM_WINDOW_START, STREAM_WINDOW_INCREMENT);
  private connected = false;
  private waiters: (() => void)[] = [];

  private constructor(private readonly circuit: RawCircuit, private readonly lastHop: number) {
    circuit.raw.on(circuit.circId, (cell) => this.onCell(cell));
  }

  static async open(raw: RawLink, path: ListedRelay[], port: number, request: 'bulk' | 'echo', timeoutMs = 5000): Promise<StreamCircuit> {
    const c = new StreamCircuit(await rawCircuit(raw, path), path.length - 1);
    c.circuit.send(c.lastHop, { kind: 'BEGIN', streamId: 1, target: { host: '127.0.0.1', port } });
    await c.until(() => c.connected, timeoutMs, 'CONNECTED');
    c.write(new TextEncoder().encode(`${request}\n`));
    return c;
  }

  write(data: Uint8Array): void {
    this.circuit.send(this.lastHop, { kind: 'DATA', streamId: 1, data });
  }

  /** Waits until `received` reaches `n` bytes. */
  waitBytes(n: number, timeoutMs = 5000): Promise<void> {
    return this.until(() => this.received >= n, timeoutMs, `${n} bytes`);
  }

  /** Sends `size` bytes on an echo stream and times their return (ms). */
  async echo(size = 64, timeoutMs = 10_000): Promise<number> {
    const target = this.received + size;
    const t0 = performance.now();
    this.write(new Uint8Array(size).fill(0x61));
    await this.waitBytes(target, timeoutMs);
    return performance.now() - t0;
  }

  private until(ok: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}${this.failed ? ` (${this.failed})` : ''}`)), timeoutMs);
      const check = (): void => {
        if (this.failed) {
          clearTimeout(timer);
          reject(new Error(this.failed));
        } else if (ok()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  private onCell(cellBytes: Uint8Array): void {
    try {
      const cell = decodeCell(cellBytes);
      if (cell.kind === 'DESTROY') this.failed = `circuit destroyed (reason ${cell.reason})`;
      else if (cell.kind === 'RELAY') {
        const { body } = this.circuit.layers.decryptBackward(cell.payload.slice());
        const tag = this.circuit.layers.lastBackwardTag.slice();
        const msg = decodeRelayMessageInCell(body);
        if (msg.kind === 'CONNECTED') this.connected = true;
        else if (msg.kind === 'END') this.failed = `stream ended (reason ${msg.reason})`;
        else if (msg.kind === 'DATA') {
          this.received += msg.data.length;
          if (this.circuitWindow.onDelivered()) this.circuit.send(this.lastHop, { kind: 'SENDME', streamId: 0, version: SENDME_VERSION, tag });
          if (this.streamWindow.onDelivered()) this.circuit.send(this.lastHop, { kind: 'SENDME', streamId: 1, version: SENDME_VERSION, tag });
        }
      }
    } catch (e) {
      this.failed = `bad cell: ${(e as Error).message}`;
    }
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }
}

/** Nearest-rank percentile of ascending samples. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.round(q * (sorted.length - 1))]!;
}
