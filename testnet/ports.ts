/**
 * Port choice for `chive testnet`: either consecutive ports from a base the user gave
 * (`--base-port`), or free ports found by binding them on 127.0.0.1 and closing the
 * socket again.
 *
 * Free ports are taken below the kernel's ephemeral range (Linux:
 * /proc/sys/net/ipv4/ip_local_port_range, usually 32768..60999), from a random point of
 * the 12000 ports under it: the kernel hands ports of the ephemeral range to every
 * outgoing connection and every bind to port 0, so a port chosen there could be taken by
 * one of the hundreds of connections a large testnet opens before its node binds it.
 * Where the range is unknown or leaves no room, port 0 is bound instead.
 *
 * All free ports of one call are held open together before any is closed, so one call
 * never hands out the same port twice. Between the close here and the node binding it
 * another program could take the port: the node then fails to start and the launcher
 * says so (with --base-port the user picks the range instead).
 *
 * Not here: which node gets which port (launcher.ts).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { ChiveError } from '../src/errors.js';

export const LOOPBACK = '127.0.0.1';
/** How many ports below the ephemeral range free ports are drawn from. */
const BELOW_EPHEMERAL = 12_000;
const LOWEST_PORT = 1024;

/** The kernel's ephemeral port range ([32768, 60999] when it cannot be read). */
export function ephemeralPortRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! > 0 && high! >= low!) return [low!, high!];
  } catch {
    /* not Linux: the usual default */
  }
  return [32768, 60999];
}

/** Listens on `port` (0: the kernel's choice); null when the port is taken. */
function tryListen(port: number): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (port !== 0 && (e.code === 'EADDRINUSE' || e.code === 'EACCES')) resolve(null);
      else reject(new ChiveError('INVALID_ARGUMENT', `cannot find a free port on ${LOOPBACK}: ${e.message}`, { cause: e }));
    });
    server.listen({ host: LOOPBACK, port, exclusive: true }, () => resolve(server));
  });
}

/** `count` distinct ports that were free on 127.0.0.1 a moment ago (see the module comment). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const [ephemeralLow] = ephemeralPortRange();
    const low = Math.max(LOWEST_PORT, ephemeralLow - BELOW_EPHEMERAL);
    const span = ephemeralLow - low;
    if (span >= 2 * count) {
      const start = Math.floor(Math.random() * span);
      for (let k = 0; k < span && servers.length < count; k++) {
        const server = await tryListen(low + ((start + k) % span));
        if (server) servers.push(server);
      }
    }
    while (servers.length < count) servers.push((await tryListen(0))!);
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
