/**
 * HTTP client of the directory authorities' API (docs/PROTOCOL.md, "Authority HTTP API"),
 * shared by relays (upload), clients (consensus, descriptors) and authorities (each
 * other's votes and signatures).
 *
 * Every call has a deadline (`timeoutMs`, default DEFAULT_DIRECTORY_TIMEOUT_MS, for the
 * whole exchange) and a maximum response size (the document's MAX_*_LEN; an error body
 * at most MAX_DIRECTORY_JSON_LEN): a bigger answer is cut off (OVER_LENGTH), never
 * buffered. Failures are typed:
 *   - DIRECTORY_UNREACHABLE: no connection, a reset, 503, or no answer in time;
 *   - the authority's own error code when it sends one (e.g. DESCRIPTOR_IDENTITY_CONFLICT,
 *     BAD_SIGNATURE, DIRECTORY_NOT_FOUND), unless it is a `local`-fault code, which would
 *     wrongly blame us: that, like any other unexpected status or body, is DIRECTORY_HTTP_ERROR.
 * Documents come back as raw bytes: decoding and checking them is the caller's job
 * (src/dirdoc/). Also here: the 128-byte detached-signature format of the signature endpoint.
 *
 * Not here: choosing authorities, retries, caching (client/consensus.ts does that).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ChiveError, ERROR_CODES, type ErrorCode } from '../errors.js';
import { ByteReader, ByteWriter, decodeUtf8, toHex } from '../bytes.js';
import type { AuthoritySignature } from '../dirdoc/index.js';
import {
  DETACHED_SIGNATURE_LEN, DIRECTORY_API_PREFIX, ED25519_KEY_LEN, ED25519_SIG_LEN, MAX_CONSENSUS_LEN, MAX_DESCRIPTOR_LEN,
  MAX_DIRECTORY_JSON_LEN, MAX_VOTE_LEN,
} from '../wire/constants.js';

export const DEFAULT_DIRECTORY_TIMEOUT_MS = 10_000;

export interface DirectoryRequestOptions {
  /** Deadline for the whole request and response, ms. */
  readonly timeoutMs?: number;
  /** Aborts the request (rejects with DIRECTORY_UNREACHABLE). */
  readonly signal?: AbortSignal;
}

interface RawResponse {
  readonly status: number;
  readonly body: Uint8Array;
}

function send(
  method: 'GET' | 'POST', url: string, body: Uint8Array | null, maxOkBytes: number, options: DirectoryRequestOptions,
): Promise<RawResponse> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DIRECTORY_TIMEOUT_MS;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.reject(new ChiveError('INVALID_ARGUMENT', `not a URL: ${url}`));
  }
  const requestFn = parsed.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<RawResponse>((resolve, reject) => {
    let settled = false;
    const headers: Record<string, string | number> = { Accept: 'application/octet-stream' };
    if (body) {
      headers['Content-Type'] = 'application/octet-stream';
      headers['Content-Length'] = body.length;
    }
    const req = requestFn(parsed, { method, headers, agent: false });
    const timer = setTimeout(() => fail('DIRECTORY_UNREACHABLE', `${method} ${url}: no answer within ${timeoutMs} ms`), timeoutMs);
    const onAbort = (): void => fail('DIRECTORY_UNREACHABLE', `${method} ${url}: aborted`);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();

    function done(): void {
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
    function fail(code: ErrorCode, message: string, cause?: unknown): void {
      if (settled) return;
      done();
      req.destroy();
      reject(new ChiveError(code, message, cause === undefined ? undefined : { cause }));
    }

    req.on('error', (e) => fail('DIRECTORY_UNREACHABLE', `${method} ${url}: ${e.message}`, e));
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const max = status === 200 ? maxOkBytes : MAX_DIRECTORY_JSON_LEN;
      const declared = Number(res.headers['content-length'] ?? NaN);
      if (declared > max) {
        return fail('OVER_LENGTH', `${method} ${url}: HTTP ${status} answer of ${declared} bytes exceeds the maximum of ${max}`);
      }
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > max) return fail('OVER_LENGTH', `${method} ${url}: HTTP ${status} answer exceeds the maximum of ${max} bytes`);
        chunks.push(chunk);
      });
      res.on('error', (e) => fail('DIRECTORY_UNREACHABLE', `${method} ${url}: ${e.message}`, e));
      res.on('end', () => {
        if (settled) return;
        done();
        resolve({ status, body: new Uint8Array(Buffer.concat(chunks)) });
      });
      res.on('close', () => fail('DIRECTORY_UNREACHABLE', `${method} ${url}: the answer was cut short`));
    });
    req.end(body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : undefined);
  });
}

/** Turns a non-200 answer into the typed error it carries (see the module comment). */
function errorFromResponse(what: string, res: RawResponse): ChiveError {
  let code: unknown;
  let message: unknown;
  try {
    ({ code, message } = JSON.parse(decodeUtf8(res.body, what)) as { code?: unknown; message?: unknown });
  } catch {
    /* not our JSON: handled below */
  }
  const text = typeof message === 'string' ? message.slice(0, 500) : '';
  if (res.status === 503) return new ChiveError('DIRECTORY_UNREACHABLE', `${what}: HTTP 503 ${text || 'unavailable'}`);
  if (typeof code === 'string' && code in ERROR_CODES && ERROR_CODES[code as ErrorCode] !== 'local') {
    return new ChiveError(code as ErrorCode, `${what}: ${text || code} (HTTP ${res.status})`);
  }
  const shown = typeof code === 'string' ? `${code.slice(0, 64)}: ${text}` : text || 'no error body';
  return new ChiveError('DIRECTORY_HTTP_ERROR', `${what}: HTTP ${res.status} (${shown})`);
}

async function getDocument(baseUrl: string, path: string, maxBytes: number, what: string, options: DirectoryRequestOptions): Promise<Uint8Array> {
  const url = `${baseUrl}${DIRECTORY_API_PREFIX}${path}`;
  const res = await send('GET', url, null, maxBytes, options);
  if (res.status !== 200) throw errorFromResponse(`${what} from ${baseUrl}`, res);
  return res.body;
}

/** The authority's latest consensus, raw (≤ MAX_CONSENSUS_LEN). */
export function fetchConsensusBytes(baseUrl: string, options: DirectoryRequestOptions = {}): Promise<Uint8Array> {
  return getDocument(baseUrl, '/consensus', MAX_CONSENSUS_LEN, 'consensus', options);
}

/** The descriptor the authority holds for `identity`, raw (≤ MAX_DESCRIPTOR_LEN). */
export function fetchDescriptorBytes(baseUrl: string, identity: Uint8Array, options: DirectoryRequestOptions = {}): Promise<Uint8Array> {
  return getDocument(baseUrl, `/descriptor/${toHex(identity)}`, MAX_DESCRIPTOR_LEN, 'descriptor', options);
}

/**
 * The vote for the period starting at `validAfter`: the authority's own, or, with
 * `authority`, the vote by that authority which it holds (≤ MAX_VOTE_LEN).
 */
export function fetchVoteBytes(
  baseUrl: string, validAfter: number, authority?: Uint8Array, options: DirectoryRequestOptions = {},
): Promise<Uint8Array> {
  const path = `/vote/${validAfter}${authority ? `/${toHex(authority)}` : ''}`;
  return getDocument(baseUrl, path, MAX_VOTE_LEN, 'vote', options);
}

/** A consensus signature detached from its document, with the digest of the body it signs. */
export interface DetachedSignature extends AuthoritySignature {
  /** SHA-256 of the consensus body the signature covers. */
  readonly digest: Uint8Array;
}

export function encodeDetachedSignature(s: DetachedSignature): Uint8Array {
  if (s.digest.length !== 32 || s.identity.length !== ED25519_KEY_LEN || s.signature.length !== ED25519_SIG_LEN) {
    throw new ChiveError('INVALID_ARGUMENT', 'detached signature: digest 32, identity 32 and signature 64 bytes expected');
  }
  return new ByteWriter(DETACHED_SIGNATURE_LEN, DETACHED_SIGNATURE_LEN, 'detached signature')
    .bytes(s.digest).bytes(s.identity).bytes(s.signature).finish();
}

/** Decodes the 128-byte detached signature (unverified: addSignatures verifies it). */
export function decodeDetachedSignature(bytes: Uint8Array): DetachedSignature {
  const r = ByteReader.of(bytes, DETACHED_SIGNATURE_LEN, 'detached signature');
  const digest = r.bytes(32, 'digest', true);
  const identity = r.bytes(ED25519_KEY_LEN, 'identity', true);
  const signature = r.bytes(ED25519_SIG_LEN, 'signature', true);
  r.end();
  return { digest, identity, signature };
}

/** The authority's own signature over the consensus it computed for `validAfter`. */
export async function fetchDetachedSignature(
  baseUrl: string, validAfter: number, options: DirectoryRequestOptions = {},
): Promise<DetachedSignature> {
  return decodeDetachedSignature(await getDocument(baseUrl, `/signature/${validAfter}`, DETACHED_SIGNATURE_LEN, 'signature', options));
}

/** What the authority did with an uploaded descriptor. */
export interface UploadReceipt {
  /** `accepted` (new relay), `updated` (newer descriptor of a listed relay) or `unchanged` (same bytes). */
  readonly status: 'accepted' | 'updated' | 'unchanged';
  /** Hex identity of the relay. */
  readonly identity: string;
}

/** Uploads an encoded descriptor; rejects with the authority's refusal code. */
export async function uploadDescriptor(
  baseUrl: string, descriptor: Uint8Array, options: DirectoryRequestOptions = {},
): Promise<UploadReceipt> {
  if (descriptor.length > MAX_DESCRIPTOR_LEN) {
    throw new ChiveError('OVER_LENGTH', `descriptor of ${descriptor.length} bytes exceeds the maximum of ${MAX_DESCRIPTOR_LEN}`);
  }
  const url = `${baseUrl}${DIRECTORY_API_PREFIX}/descriptor`;
  const res = await send('POST', url, descriptor, MAX_DIRECTORY_JSON_LEN, options);
  if (res.status !== 200) throw errorFromResponse(`upload to ${baseUrl}`, res);
  try {
    const receipt = JSON.parse(decodeUtf8(res.body, 'upload receipt')) as Partial<UploadReceipt>;
    if ((receipt.status === 'accepted' || receipt.status === 'updated' || receipt.status === 'unchanged') && typeof receipt.identity === 'string') {
      return { status: receipt.status, identity: receipt.identity };
    }
  } catch {
    /* below */
  }
  throw new ChiveError('DIRECTORY_HTTP_ERROR', `upload to ${baseUrl}: malformed receipt`);
}

/** The outcome of uploading to one authority. */
export type UploadOutcome =
  | { readonly name: string; readonly url: string; readonly receipt: UploadReceipt }
  | { readonly name: string; readonly url: string; readonly error: ChiveError };

/**
 * Uploads a descriptor to every authority (a relay must reach a majority of them to be
 * listed), in parallel; never rejects: each authority's receipt or typed error.
 */
export async function uploadToAuthorities(
  authorities: readonly { readonly name: string; readonly url: string }[], descriptor: Uint8Array, options: DirectoryRequestOptions = {},
): Promise<UploadOutcome[]> {
  return Promise.all(authorities.map(async ({ name, url }): Promise<UploadOutcome> => {
    try {
      return { name, url, receipt: await uploadDescriptor(url, descriptor, options) };
    } catch (e) {
      const error = e instanceof ChiveError ? e : new ChiveError('DIRECTORY_HTTP_ERROR', `upload to ${url}: ${String(e)}`, { cause: e });
      return { name, url, error };
    }
  }));
}
