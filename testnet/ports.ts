/**
 * Port choice for `chive testnet`: either consecutive ports from a base the user gave
 * (`--base-port`), or free ports found by binding port 0 on 127.0.0.1, reading the port
 * the kernel chose and closing the socket again.
 *
 * All free ports of one call are held open together before any is closed, so one call
 * never hands out the same port twice. Between the close here and the node binding it
 * another program could take the port: the node then fails to start and the launcher
 * says so (with --base-port the user picks the range instead).
 *
 * Not here: which node gets which port (launcher.ts).
 */
import { createServer, type Server } from 'node:net';
import { ChiveError } from '../src/errors.js';

export const LOOPBACK = '127.0.0.1';

function listenOnFreePort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (e) => reject(new ChiveError('INVALID_ARGUMENT', `cannot find a free port on ${LOOPBACK}: ${e.message}`, { cause: e })));
    server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => resolve(server));
  });
}

/** `count` distinct ports that were free on 127.0.0.1 a moment ago. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await listenOnFreePort());
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string') throw new ChiveError('INVALID_ARGUMENT', 'a listening socket has no port');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/**
 * `count` ports: base, base + 1, … when `base` > 0, otherwise free ones. The whole range
 * must fit below 65536.
 */
export async function choosePorts(base: number, count: number): Promise<number[]> {
  if (!Number.isInteger(base) || base < 0 || base > 65535) throw new ChiveError('INVALID_ARGUMENT', `base port ${base} is not in 0..65535`);
  if (base === 0) return freePorts(count);
  if (base + count - 1 > 65535) {
    throw new ChiveError('INVALID_ARGUMENT', `base port ${base} leaves too few ports: ${count} are needed, the last would be ${base + count - 1} > 65535`);
  }
  return Array.from({ length: count }, (_, i) => base + i);
}
