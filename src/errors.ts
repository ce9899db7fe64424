/**
 * Typed errors for the whole of chive.
 *
 * Every failure that crosses a module boundary is a `ChiveError` with a stable `code`
 * (a string that callers, logs, metrics and the headless JSON API may rely on) and a
 * `fault` saying who is to blame, which tells the receiver what it may do next:
 *   - `peer`:     the remote side sent something bad: close that circuit or link, keep serving others.
 *   - `local`:    our own caller misused an API (a bug, or bad configuration).
 *   - `network`:  a transient condition (timeout, unreachable); retrying elsewhere may help.
 *   - `crypto`:   a cryptographic check failed (bad MAC, bad signature, low-order point).
 *
 * This module is deliberately only the vocabulary of errors; it does no logging and no
 * recovery. Library exceptions (noble, sodium) are wrapped into these, never leaked.
 */

export type Fault = 'peer' | 'local' | 'network' | 'crypto';

/** Every stable error code, declared once. Add new codes here with their fault. */
export const ERROR_CODES = {
  // byte-level decoding
  TRUNCATED: 'peer',
  TRAILING_BYTES: 'peer',
  OVER_LENGTH: 'peer',
  BAD_VALUE: 'peer',
  // cells and relay messages
  BAD_CELL: 'peer',
  UNRECOGNIZED_COMMAND: 'peer',
  UNEXPECTED_MESSAGE: 'peer',
  // crypto
  BAD_MAC: 'crypto',
  BAD_SIGNATURE: 'crypto',
  LOW_ORDER_POINT: 'crypto',
  BAD_KEY: 'crypto',
  NONCE_EXHAUSTED: 'crypto',
  /** A Noise CipherState used after it failed (bad tag, refused frame) or was closed. */
  CIPHER_CLOSED: 'local',
  CRYPTO_FAILURE: 'crypto',
  PROVIDER_UNAVAILABLE: 'local',
  // handshakes
  HANDSHAKE_FAILED: 'peer',
  HANDSHAKE_REPLAY: 'peer',
  HANDSHAKE_STATE: 'local',
  UNKNOWN_KEY: 'peer',
  // onion layers
  CIRCUIT_TAG_MISMATCH: 'crypto',
  NOT_RECOGNIZED: 'peer',
  MESSAGE_TOO_LONG: 'local',
  BAD_HOP: 'local',
  // files and configuration
  KEY_FILE_PERMISSIONS: 'local',
  KEY_FILE_CORRUPT: 'local',
  /** A relay configuration file or flag is wrong: unknown key, bad value, duplicate scalar (relay/config.ts). */
  CONFIG_INVALID: 'local',
  /** A metrics / status HTTP endpoint could not listen on its address (relay/metrics.ts). */
  METRICS_LISTEN_FAILED: 'local',
  /** The relay's medium-term signing key (identity kept offline) has expired: renew it with `chive relay keygen --identity-key` (relay/keys.ts). */
  SIGNING_KEY_EXPIRED: 'local',
  /** `chive relay keygen` refused: the data directory holds another identity, or the offline identity file would be inside it (relay/keygen.ts). */
  KEYGEN_REFUSED: 'local',
  /** `chive monitor` could not read the relay's /status.json (not running, wrong port, or not a chive relay) (relay/monitor/). */
  MONITOR_UNREACHABLE: 'network',
  // directory documents (src/dirdoc/)
  DOCUMENT_UNSUPPORTED_VERSION: 'peer',
  DOCUMENT_NOT_CANONICAL: 'peer',
  DOCUMENT_BAD_FIELD: 'peer',
  BAD_CERT: 'crypto',
  CERT_EXPIRED: 'peer',
  DESCRIPTOR_STALE: 'peer',
  DESCRIPTOR_FROM_FUTURE: 'peer',
  EXIT_POLICY_SYNTAX: 'local',
  VOTE_UNKNOWN_AUTHORITY: 'peer',
  VOTE_EXPIRED: 'peer',
  VOTE_DUPLICATE: 'local',
  VOTES_DISAGREE: 'peer',
  NOT_ENOUGH_VOTES: 'network',
  CONSENSUS_UNDER_SIGNED: 'crypto',
  CONSENSUS_EXPIRED: 'peer',
  CONSENSUS_NOT_YET_VALID: 'peer',
  CONSENSUS_BODY_MISMATCH: 'peer',
  // directory authorities, their HTTP API and clients (directory/, src/io/directory-client.ts,
  // src/io/network-file.ts, client/consensus.ts)
  /** An upload claims a listed identity with other keys and no newer published time, or with keys it rotated away from. */
  DESCRIPTOR_IDENTITY_CONFLICT: 'peer',
  /** An upload for a listed relay with the same keys is not newer than the listed descriptor. */
  DESCRIPTOR_SUPERSEDED: 'peer',
  /** An upload's link key is already listed for another relay identity. */
  DESCRIPTOR_KEY_CONFLICT: 'peer',
  /** The authority HTTP API refused the request itself: unknown path, wrong method or content type, bad parameter. */
  DIRECTORY_BAD_REQUEST: 'peer',
  /** The authority does not hold that document (yet): no consensus, unknown relay, vote or signature of another period. */
  DIRECTORY_NOT_FOUND: 'network',
  /** An authority could not be reached, is starting or stopping, or did not answer in time. */
  DIRECTORY_UNREACHABLE: 'network',
  /** An authority answered with an unexpected HTTP status or a malformed response. */
  DIRECTORY_HTTP_ERROR: 'network',
  /** The authority HTTP API could not listen on its address. */
  DIRECTORY_LISTEN_FAILED: 'local',
  /** No authority served an acceptable consensus and no valid one is cached (the message names each authority's reason). */
  CONSENSUS_UNAVAILABLE: 'network',
  /** The network file is missing, unreadable, or breaks one of its rules. */
  NETWORK_FILE_INVALID: 'local',
  // links (src/io/link*.ts)
  /** The link could not be dialled: no TCP connection, or the WebSocket upgrade failed. */
  LINK_CONNECT_FAILED: 'network',
  /** The server refused the link at the upgrade (busy, shutting down, or pattern not allowed). */
  LINK_REFUSED: 'network',
  /** The link's ws upgrade and Noise handshake did not finish within the time allowed. */
  LINK_HANDSHAKE_TIMEOUT: 'network',
  /** The link closed (or was closed by the peer) before the operation finished. */
  LINK_CLOSED: 'network',
  /** A callback the caller gave the link driver (onLink, onCell, onClose, onDrain) threw. */
  LINK_HANDLER_FAILED: 'local',
  // flow control
  FLOW_CONTROL_VIOLATION: 'peer',
  // client circuits and streams (client/)
  /** A circuit could not be built: link, CREATE2 / EXTEND2 refused with DESTROY, or a bad handshake reply. */
  CIRCUIT_BUILD_FAILED: 'network',
  /** A circuit was not built within the time allowed (what was built is destroyed). */
  CIRCUIT_BUILD_TIMEOUT: 'network',
  /** A hop answered EXTEND2 with TRUNCATED: it could not or would not reach the next relay. */
  EXTEND_REFUSED: 'network',
  /** The circuit was torn down from outside: DESTROY from the network, or its link closed. */
  CIRCUIT_DESTROYED: 'network',
  /** The circuit was closed by this side (destroy(), the pool closed), or used after it closed. */
  CIRCUIT_CLOSED: 'local',
  /** The exit answered BEGIN with END (its reason is in the message): policy, refused, unresolved. */
  STREAM_REFUSED: 'network',
  /** No CONNECTED within the time allowed for a stream to open. */
  STREAM_TIMEOUT: 'network',
  /** The exit ended an open stream with an error reason (reset, timeout, …) instead of DONE. */
  STREAM_CLOSED: 'network',
  /** Every circuit id of a link, or stream id of a circuit, is taken. */
  IDS_EXHAUSTED: 'local',
  // SOCKS5 front end (client/socks.ts, client/socks-server.ts)
  /** A SOCKS5 greeting or request breaks RFC 1928: wrong version, no methods, non-zero reserved byte, bad domain name. */
  SOCKS_MALFORMED: 'peer',
  /** A SOCKS5 request names an address type other than IPv4, domain name or IPv6 (its length is unknowable). */
  SOCKS_ADDRESS_TYPE_UNKNOWN: 'peer',
  /** A SOCKS5 client did not finish its greeting and request within the time allowed. */
  SOCKS_HANDSHAKE_TIMEOUT: 'peer',
  /** The SOCKS5 server could not listen on its address. */
  SOCKS_LISTEN_FAILED: 'local',
  // path selection, guards and build times (client/path-selection.ts, client/guards.ts, client/guard-store.ts, client/build-timeout.ts)
  /** No Running Exit relay allows the requested target (address and port), or the requested last hop does not. */
  PATH_NO_EXIT: 'network',
  /** The consensus has too few Running relays that can go together (distinct, not one family, not one /16) for the path asked. */
  PATH_NOT_ENOUGH_RELAYS: 'network',
  /** None of the guards offered for the first hop is a Running relay of the consensus that fits the path. */
  PATH_NO_GUARD: 'network',
  /** A client state file (guards.json, build-times.json) is unreadable or breaks its format (delete it to start afresh). */
  CLIENT_STATE_CORRUPT: 'local',
  /** `chive testnet`: its directory cannot be created or written, or holds no usable layout. */
  TESTNET_DIR_UNUSABLE: 'local',
  /** `chive testnet`: a node process failed to start, or died while the network started (its log tail is in the message). */
  TESTNET_NODE_FAILED: 'local',
  /** `chive testnet`: no authority served a consensus listing every relay within the time allowed. */
  TESTNET_NOT_READY: 'network',
  /** `chive testnet`: stopped (Ctrl-C, SIGTERM, an abort) before the network was ready. */
  TESTNET_INTERRUPTED: 'local',
  /** `chive testnet --netns`: network namespaces cannot be made here (not Linux, no iproute2, not root / no CAP_NET_ADMIN, no netem in the kernel); the message says which. */
  TESTNET_NETNS_UNAVAILABLE: 'local',
  /** `chive testnet --netns`: an iproute2 / tc command failed while setting up the namespaces (the message has the command and its error). */
  TESTNET_NETNS_FAILED: 'local',
  // chive bench (testnet/bench*.ts)
  /** `chive bench`: an echo or a bulk transfer did not finish within --timeout. */
  BENCH_TIMEOUT: 'network',
  /** `chive bench`: a bulk transfer's stream ended before the bytes asked for arrived. */
  BENCH_TRANSFER_SHORT: 'network',
  /** `chive bench --compare`: the earlier result file is unreadable or not a chive bench JSON result. */
  BENCH_RESULT_INVALID: 'local',
  /** `chive bench`: stopped (Ctrl-C, SIGTERM, an abort) before it finished. */
  BENCH_INTERRUPTED: 'local',
  // chat identity (src/chat/address.ts, src/chat/descriptor.ts)
  /** A chat address does not decode: wrong prefix, bad length, bad character, mixed case, checksum mismatch, unknown version, non-zero padding, not a key. */
  BAD_ADDRESS: 'local',
  /** A chat descriptor does not check: malformed, over-long, unknown version, bad signature, period out of window, not for this address, does not decrypt. */
  BAD_DESCRIPTOR: 'peer',
  // chat introduction and end-to-end handshake (src/chat/intro-messages.ts, introduce.ts, e2e-handshake.ts)
  /** An ESTABLISH_INTRO or INTRODUCE2 does not check: malformed, bad AEAD tag or signature, wrong keys, timestamp too skewed. */
  BAD_INTRODUCTION: 'peer',
  /** An INTRODUCE2 the receiver has already accepted (same ephemeral key E at the same intro point). */
  INTRO_REPLAY: 'peer',
  /** The receiver's end-to-end reply (RENDEZVOUS2) is malformed or its AUTH does not verify. */
  E2E_AUTH_FAILED: 'crypto',
  // chat messages (src/chat/chat-frame.ts, src/chat/conversation.ts, client/chat/message-store.ts)
  /** A chat frame is malformed, or breaks the conversation: fragments that disagree, a seq beyond the window, an ACK or HELLO for messages never sent. */
  BAD_CHAT_FRAME: 'peer',
  /** The chat message store (journal, state file) or a conversation snapshot is unreadable or breaks its format. */
  CHAT_STORE_CORRUPT: 'local',
  /** The chat message store could not read or write its files (permissions, disk full); the message names the file. */
  CHAT_STORE_FAILED: 'local',
  // chat roles at relays and the chat client (relay/chat-messages.ts, client/chat/)
  /** A relay table (introduction circuits, rendezvous cookies, stored descriptors) is full. */
  RESOURCE_LIMIT: 'network',
  /** ESTABLISH_RENDEZVOUS with a cookie this rendezvous point has seen before. */
  COOKIE_REUSED: 'peer',
  /** RENDEZVOUS1 names a cookie no circuit is waiting with. */
  UNKNOWN_COOKIE: 'peer',
  /** No HSDir holds a descriptor for the address this time period (the peer may be offline). */
  DESCRIPTOR_NOT_FOUND: 'network',
  /** Every introduction point of the peer refused or failed, or no rendezvous followed in time. */
  PEER_UNREACHABLE: 'network',
  /** The address is not a contact (add it first), or is blocked / rejected. */
  NOT_A_CONTACT: 'local',
  /** Another chive process is using this profile directory. */
  PROFILE_LOCKED: 'local',
  /** The chat client was used after close(), or before start(). */
  CHAT_CLOSED: 'local',
  // generic misuse
  INVALID_ARGUMENT: 'local',
} as const satisfies Record<string, Fault>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ChiveError extends Error {
  readonly code: ErrorCode;
  readonly fault: Fault;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChiveError';
    this.code = code;
    this.fault = ERROR_CODES[code];
  }
}

/** True when `e` is a ChiveError, optionally of the given code. */
export function isChiveError(e: unknown, code?: ErrorCode): e is ChiveError {
  return e instanceof ChiveError && (code === undefined || e.code === code);
}

/** Runs `fn`; any exception that is not already a ChiveError becomes one with `code`. */
export function wrapErrors<T>(code: ErrorCode, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ChiveError) throw e;
    throw new ChiveError(code, `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
