/**
 * The per-link options every link has, whether accepted (startLinkServer) or dialled
 * (connectLink), their defaults, and their validation (done once, when a server starts or
 * a dial begins, so a bad configuration fails early with INVALID_ARGUMENT).
 *
 * These are local policy, not wire numbers: two peers may use different values.
 * Not here: server-only options (maxLinks, handshakeTimeoutMs, allowXK) and dial-only ones.
 */
import { ChiveError } from '../errors.js';

/** Default high-water mark of `bufferedBytes` above which a link is `congested`. */
export const DEFAULT_HIGH_WATER_BYTES = 1024 * 1024;
/** Default low-water mark below which a congested link drains (onDrain). */
export const DEFAULT_LOW_WATER_BYTES = 256 * 1024;
/** Default hard cap on `bufferedBytes` (and on cells received before any onCell handler). */
export const DEFAULT_MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** Default wait for the peer's close frame before the socket is dropped. */
export const DEFAULT_CLOSE_GRACE_MS = 1000;

/** Options every link has, whether accepted or dialled. */
export interface LinkOptions {
  /** Clock for the idle timeout (ms). Defaults to Date.now. */
  readonly now?: () => number;
  /** Close the link (IDLE_TIMEOUT) after this long with no cell in either direction. Off when absent or 0. */
  readonly idleTimeoutMs?: number;
  /** Send a ws ping this often; a ping still unanswered at the next one closes the link (KEEPALIVE_TIMEOUT). Off when absent or 0. */
  readonly keepaliveMs?: number;
  /** `congested` turns true above this many buffered bytes (default 1 MiB). */
  readonly highWaterBytes?: number;
  /** ...and false again, with onDrain, at or below this many (default min(256 KiB, high / 2)). */
  readonly lowWaterBytes?: number;
  /** Above this many buffered bytes the link closes OVERLOADED (default max(8 MiB, 2 · high)). */
  readonly maxQueuedBytes?: number;
  /** How long a closing link waits for the peer's close frame before dropping the socket (default 1000). */
  readonly closeGraceMs?: number;
  /** Receives LINK_HANDLER_FAILED errors (a handler threw; the link was closed INTERNAL). */
  readonly onError?: (error: ChiveError) => void;
}

export interface ResolvedLinkOptions {
  readonly now: () => number;
  readonly idleTimeoutMs: number;
  readonly keepaliveMs: number;
  readonly highWaterBytes: number;
  readonly lowWaterBytes: number;
  readonly maxQueuedBytes: number;
  readonly closeGraceMs: number;
  readonly onError: ((error: ChiveError) => void) | undefined;
}

/** Fills in defaults and checks the limits; INVALID_ARGUMENT on nonsense. */
export function resolveLinkOptions(options: LinkOptions): ResolvedLinkOptions {
  const highWaterBytes = options.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES;
  const resolved: ResolvedLinkOptions = {
    now: options.now ?? Date.now,
    idleTimeoutMs: options.idleTimeoutMs ?? 0,
    keepaliveMs: options.keepaliveMs ?? 0,
    highWaterBytes,
    lowWaterBytes: options.lowWaterBytes ?? Math.min(DEFAULT_LOW_WATER_BYTES, Math.floor(highWaterBytes / 2)),
    maxQueuedBytes: options.maxQueuedBytes ?? Math.max(DEFAULT_MAX_QUEUED_BYTES, highWaterBytes * 2),
    closeGraceMs: options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS,
    onError: options.onError,
  };
  for (const key of ['idleTimeoutMs', 'keepaliveMs', 'highWaterBytes', 'lowWaterBytes', 'maxQueuedBytes', 'closeGraceMs'] as const) {
    const value = resolved[key];
    if (!Number.isFinite(value) || value < 0) throw new ChiveError('INVALID_ARGUMENT', `link option ${key} must be a finite number ≥ 0`);
  }
  if (!(resolved.lowWaterBytes < resolved.highWaterBytes && resolved.highWaterBytes < resolved.maxQueuedBytes)) {
    throw new ChiveError('INVALID_ARGUMENT', 'link limits need lowWaterBytes < highWaterBytes < maxQueuedBytes');
  }
  return resolved;
}
