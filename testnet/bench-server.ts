/**
 * The bench server: the TCP endpoint behind the exits that `chive bench` measures against,
 * both the echo server of the RTT figures and the "bulk server" of the transfer figures.
 *
 * Protocol (one request line, ASCII, ending in "\n", at most MAX_REQUEST_LINE bytes):
 *   - `echo`      → from then on, every byte the client sends comes straight back;
 *   - `<n>`       → a decimal count 1..MAX_BULK_BYTES: the server sends n bytes, then
 *                   half-closes (FIN). The bytes are pseudo-random, not zeros.
 * Anything else closes the connection. Written by hand, it is `printf '1048576\n' | nc …`.
 *
 * Also `parseHostPort` for `--target host:port`. Not here: timing (bench.ts).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { ChiveError } from '../src/errors.js';

export const MAX_REQUEST_LINE = 32;
export const MAX_BULK_BYTES = 1024 ** 3;
const CHUNK = 64 * 1024;

export interface BenchServer {
  readonly host: string;
  readonly port: number;
  /** Connections served so far (echo and bulk). */
  readonly connections: () => number;
  close(): Promise<void>;
}

/** Starts a bench server on host:port (default 127.0.0.1, a free port). */
export async function startBenchServer(options: { host?: string; port?: number } = {}): Promise<BenchServer> {
  const host = options.host ?? '127.0.0.1';
  const payload = randomBytes(CHUNK);
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    serve(socket, payload);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new ChiveError('INVALID_ARGUMENT', `the bench server cannot listen on ${host}:${options.port ?? 0}: ${e.message}`, { cause: e })));
    server.listen(options.port ?? 0, host, resolve);
  });
  const port = (server.address() as { port: number }).port;
  return {
    host,
    port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function serve(socket: Socket, payload: Buffer): void {
  let line = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    line = Buffer.concat([line, chunk]);
    const nl = line.indexOf(0x0a);
    if (nl < 0) {
      if (line.length > MAX_REQUEST_LINE) socket.destroy();
      return;
    }
    socket.off('data', onData);
    const request = line.subarray(0, nl).toString('latin1').trim();
    const rest = line.subarray(nl + 1);
    if (request === 'echo') {
      if (rest.length > 0) socket.write(rest);
      socket.pipe(socket);
      return;
    }
    if (!/^[0-9]{1,10}$/.test(request) || Number(request) < 1 || Number(request) > MAX_BULK_BYTES) {
      socket.destroy();
      return;
    }
    sendBulk(socket, Number(request), payload);
  };
  socket.on('data', onData);
}

function sendBulk(socket: Socket, total: number, payload: Buffer): void {
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, payload.length);
      left -= n;
      const more = socket.write(n === payload.length ? payload : payload.subarray(0, n));
      if (!more && left > 0) {
        socket.once('drain', pump);
        return;
      }
    }
    socket.end();
  };
  // The client may half-close after its request; what it sends after the line is ignored.
  socket.on('data', () => {});
  pump();
}

/** "127.0.0.1:8080" → { host, port }; "[::1]:80" too; port 0 only with `allowAnyPort`. INVALID_ARGUMENT otherwise. */
export function parseHostPort(text: string, options: { allowAnyPort?: boolean } = {}): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):([0-9]{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < (options.allowAnyPort ? 0 : 1) || port > 65535) throw new ChiveError('INVALID_ARGUMENT', `not host:port: ${JSON.stringify(text)}`);
  return { host: (m[1] ?? m[2])!, port };
}
