/**
 * The HTTP API of a directory authority (node:http), docs/PROTOCOL.md §6b:
 *
 *   POST /chive/v1/descriptor                   upload (body: encoded descriptor)
 *   GET  /chive/v1/consensus                    latest published consensus
 *   GET  /chive/v1/descriptor/<identity hex>    a listed relay's descriptor
 *   GET  /chive/v1/vote/<validAfter>            this authority's vote for that period
 *   GET  /chive/v1/vote/<validAfter>/<auth hex> the vote by that authority it holds
 *   GET  /chive/v1/signature/<validAfter>       its detached signature over its consensus
 *
 * Documents travel as application/octet-stream. Upload bodies are capped at
 * MAX_DESCRIPTOR_LEN before any parsing (413 OVER_LENGTH, whatever Content-Length says);
 * an upload must be Content-Type application/octet-stream (415). Every error is a JSON
 * body {code, message} with a stable code: 400 for a refused document (its ChiveError
 * code: BAD_SIGNATURE, BAD_CERT, DESCRIPTOR_STALE, TRUNCATED…) or a malformed request
 * (DIRECTORY_BAD_REQUEST), 404 DIRECTORY_NOT_FOUND, 405, 409 for the store's conflicts
 * (DESCRIPTOR_IDENTITY_CONFLICT, DESCRIPTOR_SUPERSEDED, DESCRIPTOR_KEY_CONFLICT), 503
 * DIRECTORY_UNREACHABLE while no API is attached (starting, stopping), 500
 * DIRECTORY_HTTP_ERROR for our own bugs (logged, never detailed to the peer).
 *
 * This module is only the HTTP surface: what the answers are is the `DirectoryApi`
 * (authority.ts) attached with `setApi`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChiveError, isChiveError } from '../src/errors.js';
import type { UploadReceipt } from '../src/io/directory-client.js';
import { DIRECTORY_API_PREFIX, MAX_DESCRIPTOR_LEN } from '../src/wire/constants.js';
import { parseIdentityHex } from './store.js';

/** What the authority answers; every method may throw a ChiveError. */
export interface DirectoryApi {
  uploadDescriptor(bytes: Uint8Array): UploadReceipt;
  consensus(): Uint8Array | null;
  descriptor(identity: Uint8Array): Uint8Array | null;
  vote(validAfter: number, authority: Uint8Array | null): Uint8Array | null;
  signature(validAfter: number): Uint8Array | null;
}

export type LogFn = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface DirectoryHttpServer {
  readonly url: string;
  readonly port: number;
  readonly stats: { requests: number; errors: Record<number, number> };
  setApi(api: DirectoryApi | null): void;
  close(): Promise<void>;
}

/** Bodies larger than this are not even drained after a 413: the connection is dropped. */
const MAX_DRAIN_BYTES = 64 * 1024;
const CONFLICT_CODES = new Set(['DESCRIPTOR_IDENTITY_CONFLICT', 'DESCRIPTOR_SUPERSEDED', 'DESCRIPTOR_KEY_CONFLICT']);

class HttpRefusal extends ChiveError {
  constructor(readonly status: number, code: ConstructorParameters<typeof ChiveError>[0], message: string, readonly headers: Record<string, string> = {}) {
    super(code, message);
  }
}

function statusFor(e: ChiveError): number {
  if (e instanceof HttpRefusal) return e.status;
  if (CONFLICT_CODES.has(e.code)) return 409;
  if (e.code === 'DIRECTORY_NOT_FOUND') return 404;
  if (e.code === 'DIRECTORY_UNREACHABLE') return 503;
  return e.fault === 'peer' || e.fault === 'crypto' ? 400 : 500;
}

function readBody(req: IncomingMessage, max: number): Promise<Uint8Array> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) {
    return Promise.reject(new HttpRefusal(413, 'OVER_LENGTH', `body of ${declared} bytes exceeds the maximum of ${max}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
        done = true;
        req.pause();
        reject(new HttpRefusal(413, 'OVER_LENGTH', `body exceeds the maximum of ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(new Uint8Array(Buffer.concat(chunks)));
    });
    const cut = (): void => {
      if (!done) reject(new HttpRefusal(400, 'TRUNCATED', 'the request body was cut off'));
      done = true;
    };
    req.on('error', cut);
    req.on('close', cut);
  });
}

const VOTE_PATH = /^\/vote\/(0|[1-9][0-9]{0,15})(?:\/([0-9a-fA-F]{64}))?$/;
const SIGNATURE_PATH = /^\/signature\/(0|[1-9][0-9]{0,15})$/;
const DESCRIPTOR_PATH = /^\/descriptor\/([^/]+)$/;

function periodParam(text: string): number {
  const v = Number(text);
  if (!Number.isSafeInteger(v)) throw new HttpRefusal(400, 'DIRECTORY_BAD_REQUEST', `bad period ${text}`);
  return v;
}

function notFound(what: string): never {
  throw new ChiveError('DIRECTORY_NOT_FOUND', what);
}

function allowOnly(method: string | undefined, allowed: 'GET' | 'POST'): void {
  if (method !== allowed) throw new HttpRefusal(405, 'DIRECTORY_BAD_REQUEST', `use ${allowed} here`, { Allow: allowed });
}

/** Routes one request to the API; returns the answer body (binary or JSON). */
async function route(req: IncomingMessage, api: DirectoryApi): Promise<{ body: Uint8Array | string; json: boolean }> {
  const path = (req.url ?? '').split('?')[0]!;
  if (!path.startsWith(`${DIRECTORY_API_PREFIX}/`)) throw new HttpRefusal(404, 'DIRECTORY_BAD_REQUEST', `no such endpoint ${path.slice(0, 100)}`);
  const rest = path.slice(DIRECTORY_API_PREFIX.length);
  let m: RegExpExecArray | null;
  if (rest === '/descriptor') {
    allowOnly(req.method, 'POST');
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/octet-stream') {
      throw new HttpRefusal(415, 'DIRECTORY_BAD_REQUEST', `upload a descriptor as application/octet-stream, not ${JSON.stringify(type)}`);
    }
    const receipt = api.uploadDescriptor(await readBody(req, MAX_DESCRIPTOR_LEN));
    return { body: JSON.stringify(receipt), json: true };
  }
  allowOnly(req.method, 'GET');
  if (rest === '/consensus') return { body: api.consensus() ?? notFound('no consensus published yet'), json: false };
  if ((m = DESCRIPTOR_PATH.exec(rest))) {
    const identity = parseIdentityHex(m[1]!);
    if (!identity) throw new HttpRefusal(400, 'DIRECTORY_BAD_REQUEST', 'a relay identity is 64 hex digits');
    return { body: api.descriptor(identity) ?? notFound(`no relay ${m[1]!.toLowerCase()} is listed`), json: false };
  }
  if ((m = VOTE_PATH.exec(rest))) {
    const authority = m[2] ? parseIdentityHex(m[2]) : null;
    return { body: api.vote(periodParam(m[1]!), authority) ?? notFound(`no vote for period ${m[1]}${m[2] ? ` by ${m[2].slice(0, 16)}…` : ''} here`), json: false };
  }
  if ((m = SIGNATURE_PATH.exec(rest))) {
    return { body: api.signature(periodParam(m[1]!)) ?? notFound(`no consensus signature for period ${m[1]} here`), json: false };
  }
  throw new HttpRefusal(404, 'DIRECTORY_BAD_REQUEST', `no such endpoint ${path.slice(0, 100)}`);
}

/** Starts the HTTP server; answers 503 until `setApi` attaches the authority. */
export async function startDirectoryHttpServer(options: { host?: string; port?: number; log?: LogFn }): Promise<DirectoryHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const log: LogFn = options.log ?? (() => {});
  let api: DirectoryApi | null = null;
  const stats = { requests: 0, errors: {} as Record<number, number> };

  function answer(res: ServerResponse, status: number, body: Uint8Array | string, json: boolean, headers: Record<string, string> = {}): void {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    res.writeHead(status, {
      'Content-Type': json ? 'application/json' : 'application/octet-stream',
      'Content-Length': bytes.length,
      'Cache-Control': 'no-store',
      ...headers,
    });
    res.end(bytes);
  }

  const server = createServer((req, res) => {
    stats.requests++;
    const current = api;
    const work = current
      ? route(req, current)
      : Promise.reject(new ChiveError('DIRECTORY_UNREACHABLE', 'the authority is starting or stopping; try again'));
    work.then(
      ({ body, json }) => answer(res, 200, body, json),
      (e: unknown) => {
        const err = isChiveError(e) ? e : new ChiveError('DIRECTORY_HTTP_ERROR', 'internal error', { cause: e });
        const status = statusFor(err);
        let body = { code: err.code as string, message: err.message };
        if (status === 500) {
          log('error', 'directory API request failed', { path: req.url?.slice(0, 200), error: e instanceof Error ? e.message : String(e) });
          body = { code: 'DIRECTORY_HTTP_ERROR', message: 'internal error' };
        }
        stats.errors[status] = (stats.errors[status] ?? 0) + 1;
        const headers = e instanceof HttpRefusal ? { ...e.headers } : {};
        if (status === 413) {
          headers.Connection = 'close';
          const declared = Number(req.headers['content-length'] ?? Infinity);
          if (declared <= MAX_DRAIN_BYTES) req.resume();
          else res.on('finish', () => req.socket.destroySoon());
        }
        if (res.headersSent) return void res.destroy();
        answer(res, status, JSON.stringify(body), true, headers);
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 4096;
  server.on('clientError', (_e, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new ChiveError('DIRECTORY_LISTEN_FAILED', `cannot listen on ${host}:${options.port ?? 0}: ${e.message}`, { cause: e })));
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | null = null;

  return {
    url,
    port,
    stats,
    setApi(next) {
      api = next;
    },
    close() {
      if (closing) return closing;
      api = null;
      closing = new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
