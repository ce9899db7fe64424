/**
 * The SOCKS5 server behind `chive socks`: a node:net listener that turns each local TCP
 * connection into one stream through the network.
 *
 * Per connection: read the greeting (NO_AUTH is the only method; anything else gets
 * NO_ACCEPTABLE and is closed), then the request (CONNECT only: COMMAND_NOT_SUPPORTED
 * otherwise; IPv6 targets get ADDRESS_TYPE_NOT_SUPPORTED for now), all within
 * `handshakeTimeoutMs`. Then the injected `openStream(host, port)` (the circuit layer's
 * ClientStream, or any Duplex) within `openTimeoutMs`; its failure is answered with the
 * reply socksReplyForError gives (client/socks.ts), success with SUCCEEDED and 0.0.0.0:0.
 * Bytes the program sent after its request are kept and go first. Then both directions
 * are piped with backpressure (a full socket pauses the stream, so the stream stops
 * acknowledging the exit; a full stream pauses the socket) and half-close (the program's
 * FIN ends the stream's writable side, END from the exit ends the socket's); the socket is
 * corked for the rest of a tick when cells arrive, so a frame's cells leave in one writev. An error on
 * either side destroys the other. After a failure reply the socket is ended and anything
 * more the program sends is discarded until it closes or the handshake timer fires.
 *
 * Limits: `maxConnections` sockets at once (more are closed on accept), the handshake and
 * open timeouts. The listener refuses a non-loopback host unless `allowNonLoopback`, and
 * warns when it is allowed: anyone who can reach the port can use the client's circuits.
 * Counters are a snapshot (`server.counters()`); bytes are counted when a socket closes.
 *
 * Not here: the protocol bytes (client/socks.ts), circuits (the injected openStream), the
 * command line (client/socks-command.ts).
 */
import { createServer, isIPv4, isIPv6, type Server, type Socket } from 'node:net';
import { type Duplex, finished } from 'node:stream';
import { ChiveError } from '../src/errors.js';
import { SocksCommand, SocksMethod, SocksReply } from '../src/wire/constants.js';
import {
  encodeMethodSelection,
  encodeReply,
  readGreeting,
  readRequest,
  selectMethod,
  socksReplyForError,
  socksReplyName,
} from './socks.js';

/** Opens a stream to host:port through the network; rejects with a ChiveError. */
export type OpenStream = (host: string, port: number) => Promise<Duplex>;

export type SocksLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface SocksServerOptions {
  readonly openStream: OpenStream;
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** TCP port (default 0: any free port). */
  readonly port?: number;
  /** Allow a host that is not a loopback address (default false; warns when true). */
  readonly allowNonLoopback?: boolean;
  /** Connections served at once; more are closed on accept (default 256). */
  readonly maxConnections?: number;
  /** Time for the greeting and the request (default 10 s). */
  readonly handshakeTimeoutMs?: number;
  /** Time openStream may take before the program gets TTL_EXPIRED (default 120 s). */
  readonly openTimeoutMs?: number;
  readonly log?: SocksLog;
}

export interface SocksCounters {
  /** Connections accepted and served (not counting those over the limit). */
  accepted: number;
  /** Connections closed on accept because maxConnections were open. */
  rejectedOverLimit: number;
  /** Connections open now. */
  active: number;
  /** Greetings without NO_AUTH. */
  noAcceptableMethod: number;
  /** Greetings or requests that broke RFC 1928. */
  malformed: number;
  /** Connections that did not finish greeting + request in time (or closed before). */
  handshakeIncomplete: number;
  /** Requests refused before openStream (BIND, UDP ASSOCIATE, IPv6, unknown ATYP). */
  unsupported: number;
  /** Streams opened (SUCCEEDED sent). */
  streamsOpened: number;
  /** Failed opens, by the reply sent (`NOT_ALLOWED: 3`). */
  openFailures: Record<string, number>;
  /** Bytes read from / written to program sockets, handshakes included, counted at close. */
  bytesFromPrograms: number;
  bytesToPrograms: number;
}

export interface SocksServer {
  readonly host: string;
  readonly port: number;
  counters(): SocksCounters;
  /** Stops listening and destroys every connection and its stream. */
  close(): Promise<void>;
}

export const DEFAULT_SOCKS_HOST = '127.0.0.1';
export const DEFAULT_MAX_SOCKS_CONNECTIONS = 256;
export const DEFAULT_SOCKS_HANDSHAKE_TIMEOUT_MS = 10_000;
export const DEFAULT_SOCKS_OPEN_TIMEOUT_MS = 120_000;

/** True for 127.0.0.0/8, ::1, ::ffff:127.x.y.z and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (!isIPv6(h)) return false;
  if (h === '::1' || /^0{0,4}(:0{0,4}){6}:0{0,3}1$/.test(h)) return true;
  const mapped = /^::ffff:([0-9.]+)$/.exec(h);
  return mapped !== null && isIPv4(mapped[1]!) && mapped[1]!.startsWith('127.');
}

/** Starts listening; resolves once the port is bound (SOCKS_LISTEN_FAILED otherwise). */
export async function startSocksServer(options: SocksServerOptions): Promise<SocksServer> {
  const host = options.host ?? DEFAULT_SOCKS_HOST;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_SOCKS_CONNECTIONS;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_SOCKS_HANDSHAKE_TIMEOUT_MS;
  const openTimeoutMs = options.openTimeoutMs ?? DEFAULT_SOCKS_OPEN_TIMEOUT_MS;
  const log: SocksLog = options.log ?? (() => {});
  for (const [name, v] of [['maxConnections', maxConnections], ['handshakeTimeoutMs', handshakeTimeoutMs], ['openTimeoutMs', openTimeoutMs]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ChiveError('INVALID_ARGUMENT', `socks server: ${name} must be a positive integer`);
  }
  if (!isLoopbackHost(host)) {
    if (!options.allowNonLoopback) {
      throw new ChiveError('INVALID_ARGUMENT', `socks server: ${host} is not a loopback address; anyone who can reach it could use your circuits (allow it explicitly to listen there anyway)`);
    }
    log('warn', `SOCKS port on non-loopback address ${host}: anyone who can reach it can use this client's circuits`, { host });
  }

  const counters: SocksCounters = {
    accepted: 0, rejectedOverLimit: 0, active: 0, noAcceptableMethod: 0, malformed: 0, handshakeIncomplete: 0,
    unsupported: 0, streamsOpened: 0, openFailures: {}, bytesFromPrograms: 0, bytesToPrograms: 0,
  };
  const connections = new Set<SocksConnection>();
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true });
  server.on('connection', (socket) => {
    if (connections.size >= maxConnections) {
      counters.rejectedOverLimit += 1;
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    counters.accepted += 1;
    counters.active += 1;
    const conn = new SocksConnection(socket, { openStream: options.openStream, handshakeTimeoutMs, openTimeoutMs, counters, log });
    connections.add(conn);
    socket.once('close', () => {
      connections.delete(conn);
      counters.active -= 1;
      counters.bytesFromPrograms += socket.bytesRead;
      counters.bytesToPrograms += socket.bytesWritten;
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      reject(new ChiveError('SOCKS_LISTEN_FAILED', `socks server: cannot listen on ${host}:${options.port ?? 0}: ${e.code ?? e.message}`, { cause: e }));
    };
    server.once('error', onError);
    server.listen({ host, port: options.port ?? 0 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (e) => log('error', `socks server: ${e.message}`));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  log('info', 'socks server listening', { host, port });

  let closing: Promise<void> | null = null;
  return {
    host,
    port,
    counters: () => ({ ...counters, openFailures: { ...counters.openFailures } }),
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const conn of connections) conn.destroy();
      });
      return closing;
    },
  };
}

interface ConnectionContext {
  readonly openStream: OpenStream;
  readonly handshakeTimeoutMs: number;
  readonly openTimeoutMs: number;
  readonly counters: SocksCounters;
  readonly log: SocksLog;
}

type Phase = 'greeting' | 'request' | 'opening' | 'piping' | 'refused' | 'closed';

/** One program's connection: handshake state machine, then the pipes. */
class SocksConnection {
  private phase: Phase = 'greeting';
  private buffer: Uint8Array = new Uint8Array(0);
  private timer: NodeJS.Timeout | null;
  private stream: Duplex | null = null;

  constructor(private readonly socket: Socket, private readonly ctx: ConnectionContext) {
    socket.on('error', (e) => ctx.log('debug', `socks connection error: ${e.message}`));
    socket.on('data', this.onData);
    socket.on('end', this.onHandshakeEnd);
    socket.once('close', () => this.onClose());
    this.timer = setTimeout(() => this.onHandshakeTimeout(), ctx.handshakeTimeoutMs);
  }

  destroy(): void {
    this.stream?.destroy();
    this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.phase === 'refused') return; // discarded until the program closes
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      if (this.phase === 'greeting') this.handleGreeting();
      if (this.phase === 'request') this.handleRequest();
    } catch (e) {
      this.ctx.counters.malformed += 1;
      const code = e instanceof ChiveError && e.code === 'SOCKS_ADDRESS_TYPE_UNKNOWN' ? SocksReply.ADDRESS_TYPE_NOT_SUPPORTED : SocksReply.GENERAL_FAILURE;
      this.ctx.log('debug', `socks handshake refused: ${(e as Error).message}`);
      // A malformed greeting gets no reply (no method was agreed); a malformed request does.
      this.refuse(this.phase === 'request' ? encodeReply(code) : null);
    }
  };

  private handleGreeting(): void {
    const framed = readGreeting(this.buffer);
    if (framed === null) return;
    this.buffer = this.buffer.subarray(framed.length);
    const method = selectMethod(framed.message);
    if (method !== SocksMethod.NO_AUTH) {
      this.ctx.counters.noAcceptableMethod += 1;
      return this.refuse(encodeMethodSelection(SocksMethod.NO_ACCEPTABLE));
    }
    this.socket.write(encodeMethodSelection(method));
    this.phase = 'request';
  }

  private handleRequest(): void {
    const framed = readRequest(this.buffer);
    if (framed === null) return;
    const early = this.buffer.subarray(framed.length);
    this.buffer = new Uint8Array(0);
    const { command, address, port } = framed.message;
    if (command !== SocksCommand.CONNECT) {
      this.ctx.counters.unsupported += 1;
      return this.refuse(encodeReply(SocksReply.COMMAND_NOT_SUPPORTED));
    }
    if (address.type === 'ipv6') {
      this.ctx.counters.unsupported += 1;
      return this.refuse(encodeReply(SocksReply.ADDRESS_TYPE_NOT_SUPPORTED));
    }
    this.clearTimer();
    this.phase = 'opening';
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onHandshakeEnd);
    this.socket.pause();
    void this.open(address.host, port, early);
  }

  private async open(host: string, port: number, early: Uint8Array): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const attempt = Promise.resolve().then(() => this.ctx.openStream(host, port));
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ChiveError('STREAM_TIMEOUT', `socks: no stream to ${host}:${port} within ${this.ctx.openTimeoutMs} ms`)), this.ctx.openTimeoutMs);
    });
    let stream: Duplex;
    try {
      stream = await Promise.race([attempt, timeout]);
    } catch (e) {
      // A stream that arrives after the timeout is not wanted any more.
      attempt.then((late) => late.destroy(), () => {});
      if (this.phase !== 'opening') return;
      const reply = socksReplyForError(e);
      const name = socksReplyName(reply);
      this.ctx.counters.openFailures[name] = (this.ctx.counters.openFailures[name] ?? 0) + 1;
      this.ctx.log('info', 'socks stream failed', { reply: name, code: e instanceof ChiveError ? e.code : 'UNKNOWN', message: (e as Error)?.message });
      return this.refuse(encodeReply(reply));
    } finally {
      clearTimeout(timer);
    }
    if (this.phase !== 'opening') {
      stream.destroy(); // the program went away meanwhile
      return;
    }
    this.ctx.counters.streamsOpened += 1;
    this.pipe(stream, early);
  }

  private pipe(stream: Duplex, early: Uint8Array): void {
    const socket = this.socket;
    this.stream = stream;
    this.phase = 'piping';
    socket.write(encodeReply(SocksReply.SUCCEEDED));
    if (early.length > 0) stream.write(early);
    // An error or a premature close on one side tears down the other; clean ends half-close.
    finished(stream, (e) => {
      if (e) socket.destroy();
    });
    finished(socket, (e) => {
      if (e) stream.destroy();
    });
    // Cells arrive as many small chunks in one tick (a link frame holds up to 64): corking
    // the socket until the tick ends writes them with one writev instead of one each.
    stream.on('data', () => {
      if (socket.writableCorked > 0) return;
      socket.cork();
      process.nextTick(() => socket.uncork());
    });
    stream.pipe(socket);
    socket.pipe(stream);
  }

  /** Sends `reply` (if any), ends the socket, and discards what else the program sends. */
  private refuse(reply: Uint8Array | null): void {
    this.phase = 'refused';
    this.buffer = new Uint8Array(0);
    // Once the program ends its side too, the socket closes by itself (allowHalfOpen).
    this.socket.off('end', this.onHandshakeEnd);
    this.socket.resume();
    if (reply) this.socket.end(reply);
    else this.socket.end();
    // The handshake timer, restarted, closes a program that never closes its side.
    this.clearTimer();
    this.timer = setTimeout(() => this.socket.destroy(), this.ctx.handshakeTimeoutMs);
  }

  private readonly onHandshakeEnd = (): void => {
    this.ctx.counters.handshakeIncomplete += 1;
    this.socket.destroy();
  };

  private onHandshakeTimeout(): void {
    this.timer = null;
    if (this.phase === 'greeting' || this.phase === 'request') {
      this.ctx.counters.handshakeIncomplete += 1;
      this.ctx.log('debug', new ChiveError('SOCKS_HANDSHAKE_TIMEOUT', `socks: no complete request within ${this.ctx.handshakeTimeoutMs} ms`).message);
    }
    this.socket.destroy();
  }

  private onClose(): void {
    this.clearTimer();
    // While opening, open() destroys the stream when it arrives; while piping,
    // finished(socket) has destroyed it if the socket closed before both of its sides ended.
    this.phase = 'closed';
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
