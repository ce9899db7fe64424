/**
 * Accepting links: an HTTP server (node:http) whose WebSocket upgrades become links after
 * the responder side of a Noise NK or XK handshake (docs/PROTOCOL.md §1 §1.9).
 *
 * Per TCP connection: the upgrade must name exactly one allowed subprotocol
 * (`chive-link-nk`, or `chive-link-xk` when allowXK) — else HTTP 400 / 403 — and is refused
 * with HTTP 503 while the server is closing or already holds maxLinks links (open or
 * handshaking). Each handshake message is one binary ws message; anything else closes
 * that connection (link-close.ts codes, counted in `stats.closes`). The whole of it, TCP
 * accept to the last handshake message, must finish within handshakeTimeoutMs. Then a
 * Link is made and handed to `onLink` synchronously, before any of its cells is delivered.
 *
 * `close()` refuses new connections, closes every link (SHUTDOWN, close code 1001) and
 * every half-made one, and resolves once every socket is gone.
 *
 * Not here: checking an XK initiator's key against the consensus (the caller does that
 * with `link.remoteStatic` in onLink), TLS, and what the links carry.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ChiveError } from '../errors.js';
import type { CryptoProvider, Rng } from '../crypto/provider.js';
import { HandshakeState, type NoisePattern } from '../noise/handshake.js';
import { X25519_KEY_LEN } from '../wire/constants.js';
import { LINK_CLOSE_CODES, localCloseReason, type LinkCloseCode, type LinkCloseReason } from './link-close.js';
import { Link } from './link.js';
import { resolveLinkOptions, type LinkOptions } from './link-options.js';
import {
  closeSocket, describe, LINK_WS_OPTIONS, patternForSubprotocol, stepHandshake, toBytes, type WsData,
} from './link-socket.js';

/** Default time from TCP accept to a finished handshake. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;
/** Default most links (open or handshaking) one server holds. */
export const DEFAULT_MAX_LINKS = 4096;

export interface LinkServerOptions extends LinkOptions {
  readonly provider: CryptoProvider;
  readonly rng: Rng;
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default 0: any free port; read it back from `server.port`). */
  readonly port?: number;
  /** This node's 32-byte X25519 link (Noise static) secret. */
  readonly linkStaticSecret: Uint8Array;
  /** Called synchronously with every link whose handshake finished; set its handlers here. */
  readonly onLink: (link: Link) => void;
  readonly maxLinks?: number;
  readonly handshakeTimeoutMs?: number;
  /** Accept relays and authorities (XK)? Default true. */
  readonly allowXK?: boolean;
  /** Accept anonymous clients (NK)? Default true. */
  readonly allowNK?: boolean;
}

/** Live counters (updated in place). */
export interface LinkServerStats {
  /** Links whose handshake finished, since start. */
  linksAccepted: number;
  /** Links open now. */
  linksOpen: number;
  /** Upgraded connections still in their handshake now. */
  handshaking: number;
  /** Upgrades refused with an HTTP status (busy, closing, bad or disallowed subprotocol). */
  upgradesRefused: number;
  /** Handshakes that failed or timed out. */
  handshakesFailed: number;
  /** Closes, of links and of connections still in their handshake, by reason. */
  readonly closes: Record<LinkCloseCode, number>;
}

export interface LinkServer {
  readonly port: number;
  /** `ws://host:port` (what a descriptor would publish). */
  readonly url: string;
  /** The server's static link public key (what the consensus publishes). */
  readonly publicKey: Uint8Array;
  readonly stats: LinkServerStats;
  /** The open links, for callers that walk them (metrics, shutdown). */
  links(): ReadonlySet<Link>;
  close(): Promise<void>;
}

/** One accepted TCP connection that has not (yet) become a Link. */
interface Pending {
  readonly socket: Duplex;
  readonly timer: NodeJS.Timeout;
  ws: WebSocket | null;
  hs: HandshakeState | null;
  /** True once it counts toward maxLinks (upgrade accepted) until it is gone or a Link. */
  counted: boolean;
  done: boolean;
}

export async function startLinkServer(options: LinkServerOptions): Promise<LinkServer> {
  const { provider, rng, onLink } = options;
  const linkOptions = resolveLinkOptions(options);
  const host = options.host ?? '127.0.0.1';
  const maxLinks = options.maxLinks ?? DEFAULT_MAX_LINKS;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const allowed = { NK: options.allowNK ?? true, XK: options.allowXK ?? true };
  if (!(options.linkStaticSecret instanceof Uint8Array) || options.linkStaticSecret.length !== X25519_KEY_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', `linkStaticSecret must be ${X25519_KEY_LEN} bytes`);
  }
  const staticSecret = options.linkStaticSecret.slice();
  const publicKey = provider.x25519PublicKey(staticSecret);

  const stats: LinkServerStats = {
    linksAccepted: 0, linksOpen: 0, handshaking: 0, upgradesRefused: 0, handshakesFailed: 0,
    closes: Object.fromEntries(LINK_CLOSE_CODES.map((code) => [code, 0])) as Record<LinkCloseCode, number>,
  };
  const links = new Set<Link>();
  const pending = new Map<Duplex, Pending>();
  const sockets = new Set<Duplex>();
  let closing = false;
  let socketsGone: (() => void) | null = null;

  const http = createServer((_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain', Connection: 'close' });
    res.end('chive link endpoint: WebSocket upgrades only\n');
  });
  const wss = new WebSocketServer({
    ...LINK_WS_OPTIONS,
    noServer: true,
    clientTracking: false,
    handleProtocols: (protocols) => {
      for (const p of protocols) if (patternForSubprotocol(p) !== null) return p;
      return false;
    },
  });

  const forget = (rec: Pending): void => {
    clearTimeout(rec.timer);
    if (rec.counted) stats.handshaking -= 1;
    rec.counted = false;
    pending.delete(rec.socket);
  };

  http.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => {}); // ws and http report what matters; a reset must not crash us.
    const rec: Pending = {
      socket, ws: null, hs: null, counted: false, done: false,
      timer: setTimeout(() => failHandshake(rec, localCloseReason('HANDSHAKE_TIMEOUT', `no link within ${handshakeTimeoutMs} ms`)), handshakeTimeoutMs),
    };
    pending.set(socket, rec);
    socket.once('close', () => {
      sockets.delete(socket);
      const still = pending.get(socket);
      if (still !== undefined) {
        if (still.ws !== null && !still.done) {
          stats.closes.REMOTE += 1;
          still.hs?.abort();
        }
        forget(still);
      }
      if (sockets.size === 0) socketsGone?.();
    });
    if (closing) socket.destroy();
  });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const rec = pending.get(socket);
    if (rec === undefined || closing) return refuse(socket, 503, 'Service Unavailable');
    const pattern = patternForSubprotocol(req.headers['sec-websocket-protocol']);
    if (pattern === null) return refuse(socket, 400, 'Bad Request');
    if (!allowed[pattern]) return refuse(socket, 403, 'Forbidden');
    if (links.size + stats.handshaking >= maxLinks) return refuse(socket, 503, 'Service Unavailable');
    rec.counted = true;
    stats.handshaking += 1;
    wss.handleUpgrade(req, socket, head, (ws) => respond(rec, ws, pattern));
  });

  function refuse(socket: Duplex, status: number, text: string): void {
    stats.upgradesRefused += 1;
    socket.once('finish', () => socket.destroy());
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }

  function respond(rec: Pending, ws: WebSocket, pattern: NoisePattern): void {
    rec.ws = ws;
    ws.binaryType = 'nodebuffer';
    if (closing) return failHandshake(rec, localCloseReason('SHUTDOWN', 'the server is closing'));
    let hs: HandshakeState;
    try {
      hs = new HandshakeState({ provider, pattern, role: 'responder', rng, localStaticSecret: staticSecret });
    } catch (e) {
      return failHandshake(rec, localCloseReason('INTERNAL', `cannot start a handshake: ${describe(e)}`, e));
    }
    rec.hs = hs;
    const onMessage = (data: WsData, isBinary: boolean): void => {
      if (rec.done) return;
      if (!isBinary) return failHandshake(rec, localCloseReason('TEXT_MESSAGE', 'a text WebSocket message in the handshake'));
      let step;
      try {
        step = stepHandshake(hs, toBytes(data));
        if (step.reply !== null) ws.send(step.reply);
      } catch (e) {
        return failHandshake(rec, localCloseReason('HANDSHAKE_FAILED', describe(e), e));
      }
      if (step.result === null) return;
      rec.done = true;
      forget(rec);
      const { send, receive, remoteStatic, handshakeHash } = step.result;
      const link = new Link({ ws, pattern, role: 'responder', send, receive, remoteStatic, handshakeHash }, linkOptions, linkClosed);
      ws.off('message', onMessage);
      ws.off('error', onError);
      links.add(link);
      stats.linksAccepted += 1;
      stats.linksOpen += 1;
      try {
        onLink(link);
      } catch (e) {
        link.handlerFailed('onLink', e);
      }
    };
    const onError = (err: Error & { code?: string }): void => {
      if (rec.done) return;
      const code = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'FRAME_TOO_LARGE' : 'WS_PROTOCOL';
      failHandshake(rec, localCloseReason(code, err.message, err));
    };
    ws.on('message', onMessage);
    ws.on('error', onError);
  }

  function failHandshake(rec: Pending, reason: LinkCloseReason): void {
    if (rec.done) return;
    rec.done = true;
    stats.closes[reason.code] += 1;
    if (reason.code !== 'SHUTDOWN') stats.handshakesFailed += 1;
    rec.hs?.abort();
    if (rec.ws !== null) {
      closeSocket(rec.ws, reason, linkOptions.closeGraceMs);
    } else {
      rec.socket.destroy();
    }
  }

  function linkClosed(link: Link): void {
    if (links.delete(link)) stats.linksOpen -= 1;
    const reason = link.closeReason;
    if (reason !== null) stats.closes[reason.code] += 1;
  }

  await new Promise<void>((resolve, reject) => {
    const onListenError = (err: Error): void => reject(new ChiveError('LINK_CONNECT_FAILED', `cannot listen on ${host}:${options.port ?? 0}: ${err.message}`, { cause: err }));
    http.once('error', onListenError);
    http.listen(options.port ?? 0, host, () => {
      http.off('error', onListenError);
      resolve();
    });
  });
  http.on('error', () => {}); // after listening, errors belong to single connections
  const address = http.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closed: Promise<void> | null = null;
  return {
    port,
    url,
    publicKey,
    stats,
    links: () => links,
    close(): Promise<void> {
      if (closed !== null) return closed;
      closing = true;
      closed = new Promise<void>((resolve) => {
        const listenerClosed = new Promise<void>((r) => http.close(() => r()));
        const allGone = new Promise<void>((r) => {
          socketsGone = r;
          if (sockets.size === 0) r();
        });
        for (const link of [...links]) link.closeGracefully('SHUTDOWN', 'the server is closing');
        for (const rec of [...pending.values()]) {
          if (rec.ws !== null && !rec.done) failHandshake(rec, localCloseReason('SHUTDOWN', 'the server is closing'));
          else if (rec.ws === null) rec.socket.destroy();
        }
        void Promise.all([listenerClosed, allGone]).then(() => {
          wss.close();
          staticSecret.fill(0);
          resolve();
        });
      });
      return closed;
    },
  };
}
