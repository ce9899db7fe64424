/**
 * Dialling a link: opens a `ws` WebSocket offering one subprotocol (`chive-link-nk` or
 * `chive-link-xk`), runs the initiator side of the Noise handshake over it (one binary ws
 * message per handshake message, empty payloads) and resolves with an open Link.
 *
 * Failures reject with a ChiveError, and leave no socket behind:
 *   - INVALID_ARGUMENT: bad URL or keys (NK takes no local static key, XK needs one);
 *   - LINK_CONNECT_FAILED: no TCP connection, or the WebSocket upgrade went wrong;
 *   - LINK_REFUSED: the server answered the upgrade with an HTTP status (503 busy or
 *     closing, 403 pattern not allowed, 400 unknown subprotocol);
 *   - LINK_HANDSHAKE_TIMEOUT: no open link within timeoutMs (upgrade and handshake together);
 *   - HANDSHAKE_FAILED: the server's message did not verify, or the server closed with
 *     4001 — which is what a wrong `remoteStatic` (not the relay's link key) leads to;
 *   - LINK_CLOSED: the server closed the connection during the handshake for another reason.
 *
 * Not here: choosing which relay or key to dial (path selection, consensus), retries.
 */
import { WebSocket } from 'ws';
import { ChiveError, type ErrorCode } from '../errors.js';
import type { CryptoProvider, Rng } from '../crypto/provider.js';
import { HandshakeState, type NoisePattern } from '../noise/handshake.js';
import { LinkWsCloseCode } from '../wire/constants.js';
import { Link } from './link.js';
import { resolveLinkOptions, type LinkOptions } from './link-options.js';
import { describe, LINK_WS_OPTIONS, stepHandshake, subprotocolFor, toBytes, type WsData } from './link-socket.js';

/** Default time for the upgrade and the handshake together. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export interface ConnectLinkOptions extends LinkOptions {
  readonly provider: CryptoProvider;
  readonly rng: Rng;
  /** `ws://host:port` of the relay or authority (from its descriptor). */
  readonly url: string;
  /** NK for a client (anonymous), XK for a relay or authority proving `localStaticSecret`. */
  readonly pattern: NoisePattern;
  /** The responder's 32-byte X25519 link key, as the consensus publishes it. */
  readonly remoteStatic: Uint8Array;
  /** Our 32-byte X25519 link secret: XK only. */
  readonly localStaticSecret?: Uint8Array;
  readonly timeoutMs?: number;
}

/**
 * The dialler's WebSocket masking key: all zero, so neither side XORs every byte in JS.
 * Masking (RFC 6455 §10.3) shields proxies from attacker-chosen plaintext; every chive ws
 * payload is Noise ciphertext or a fresh ephemeral key, so it adds nothing here
 * (docs/PROTOCOL.md §1 §1.9).
 */
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

export async function connectLink(options: ConnectLinkOptions): Promise<Link> {
  const { provider, rng, url, pattern } = options;
  const linkOptions = resolveLinkOptions(options);
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const hs = new HandshakeState({
    provider, pattern, role: 'initiator', rng,
    remoteStaticPublic: options.remoteStatic,
    ...(options.localStaticSecret !== undefined ? { localStaticSecret: options.localStaticSecret } : {}),
  });
  let ws: WebSocket;
  try {
    ws = new WebSocket(url, [subprotocolFor(pattern)], {
      ...LINK_WS_OPTIONS, handshakeTimeout: timeoutMs, followRedirects: false, generateMask: zeroMask,
    });
  } catch (e) {
    hs.abort();
    throw new ChiveError('INVALID_ARGUMENT', `cannot dial ${url}: ${describe(e)}`, { cause: e });
  }
  ws.binaryType = 'nodebuffer';

  return new Promise<Link>((resolve, reject) => {
    let settled = false;
    let opened = false;
    let refusedStatus: number | null = null;

    const timer = setTimeout(
      () => fail('LINK_HANDSHAKE_TIMEOUT', `no link to ${url} within ${timeoutMs} ms (${opened ? 'Noise handshake' : 'WebSocket upgrade'} unfinished)`),
      timeoutMs,
    );

    function fail(code: ErrorCode, message: string, cause?: unknown): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      hs.abort();
      ws.terminate();
      reject(new ChiveError(code, message, cause === undefined ? undefined : { cause }));
    }

    function onMessage(data: WsData, isBinary: boolean): void {
      if (settled) return;
      if (!isBinary) return fail('HANDSHAKE_FAILED', `${url} sent a text message during the link handshake`);
      let step;
      try {
        step = stepHandshake(hs, toBytes(data));
        if (step.reply !== null) ws.send(step.reply);
      } catch (e) {
        return fail('HANDSHAKE_FAILED', `link handshake with ${url} failed: ${describe(e)}`, e);
      }
      if (step.result === null) return fail('HANDSHAKE_FAILED', `link handshake with ${url} did not finish`);
      settled = true;
      clearTimeout(timer);
      const { send, receive, remoteStatic, handshakeHash } = step.result;
      const link = new Link({ ws, pattern, role: 'initiator', send, receive, remoteStatic, handshakeHash }, linkOptions);
      detach();
      resolve(link);
    }

    function onOpen(): void {
      opened = true;
      if (ws.protocol !== subprotocolFor(pattern)) {
        return fail('LINK_CONNECT_FAILED', `${url} accepted subprotocol "${ws.protocol}", not "${subprotocolFor(pattern)}"`);
      }
      try {
        ws.send(hs.writeMessage());
      } catch (e) {
        fail('HANDSHAKE_FAILED', `cannot start the link handshake: ${describe(e)}`, e);
      }
    }

    function onUnexpectedResponse(_req: unknown, res: { statusCode?: number }): void {
      refusedStatus = res.statusCode ?? 0;
      fail('LINK_REFUSED', `${url} refused the link upgrade with HTTP ${refusedStatus}`);
    }

    function onError(err: Error): void {
      if (opened) fail('LINK_CLOSED', `link to ${url} failed during the handshake: ${err.message}`, err);
      else fail('LINK_CONNECT_FAILED', `cannot open a WebSocket to ${url}: ${err.message}`, err);
    }

    function onClose(code: number): void {
      if (code === LinkWsCloseCode.HANDSHAKE_FAILED) {
        fail('HANDSHAKE_FAILED', `${url} refused our link handshake (close ${code}): is remoteStatic its link key?`);
      } else if (code === LinkWsCloseCode.HANDSHAKE_TIMEOUT) {
        fail('LINK_HANDSHAKE_TIMEOUT', `${url} timed out our link handshake (close ${code})`);
      } else {
        fail(opened ? 'LINK_CLOSED' : 'LINK_CONNECT_FAILED', `${url} closed the connection during the link handshake (close ${code})`);
      }
    }

    function detach(): void {
      ws.off('open', onOpen);
      ws.off('message', onMessage);
      ws.off('unexpected-response', onUnexpectedResponse);
      ws.off('close', onClose);
      ws.off('error', onError); // the Link listens for errors from here on
    }

    ws.on('open', onOpen);
    ws.on('message', onMessage);
    ws.on('unexpected-response', onUnexpectedResponse);
    ws.on('close', onClose);
    ws.on('error', onError);
  });
}
