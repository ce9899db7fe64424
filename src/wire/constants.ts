/**
 * The wire, declared once: every size, command code and reason that goes on the wire.
 *
 * Each constant is documented here and in docs/PROTOCOL.md (which cites these names).
 * Codecs and state machines import from this file; nothing else defines a wire number.
 * This module is data only: no encoding logic lives here.
 */

// ---------------------------------------------------------------------------------------
// Cells (docs/PROTOCOL.md §2)
// ---------------------------------------------------------------------------------------

/** Bytes of the circuit id at the start of every link cell (u32, big-endian). */
export const CIRC_ID_LEN = 4;
/** Bytes of the cell command after the circuit id. */
export const CELL_COMMAND_LEN = 1;
/** Bytes of payload in every cell, whatever it carries (as Tor). */
export const CELL_PAYLOAD_LEN = 509;
/** Bytes of a whole cell on a link: 4 + 1 + 509. */
export const CELL_LEN = CIRC_ID_LEN + CELL_COMMAND_LEN + CELL_PAYLOAD_LEN; // 514

/**
 * High bit of a circuit id: set in every id chosen by the side that initiated the link (the
 * Noise initiator), clear in ids chosen by the link responder, so the two never collide.
 */
export const CIRC_ID_INITIATOR_BIT = 0x8000_0000;

/** Link-level cell commands. Unknown values decode to `Unrecognized` and close the link. */
export const CellCommand = {
  /** Link padding; ignored by the receiver. Circuit id must be 0. */
  PADDING: 0,
  /** An onion-encrypted relay cell, forward or backward. */
  RELAY: 3,
  /** Tear down a circuit; payload starts with a reason byte (not forwarded). */
  DESTROY: 4,
  /** Create a circuit to this relay: handshake type + handshake data. */
  CREATE2: 10,
  /** Reply to CREATE2: handshake reply data. */
  CREATED2: 11,
} as const;
export type CellCommandCode = (typeof CellCommand)[keyof typeof CellCommand];

/** CREATE2 payload header: handshake type (u16) ‖ handshake data length (u16); then data, then random padding. */
export const CREATE2_HEADER_LEN = 4;
/** Longest handshake data one CREATE2 cell carries: CELL_PAYLOAD_LEN − CREATE2_HEADER_LEN. */
export const MAX_CREATE2_HANDSHAKE_LEN = CELL_PAYLOAD_LEN - CREATE2_HEADER_LEN; // 505
/** CREATED2 payload header: handshake data length (u16); then data, then random padding. */
export const CREATED2_HEADER_LEN = 2;
/** Longest handshake reply one CREATED2 cell carries: CELL_PAYLOAD_LEN − CREATED2_HEADER_LEN. */
export const MAX_CREATED2_HANDSHAKE_LEN = CELL_PAYLOAD_LEN - CREATED2_HEADER_LEN; // 507

/** Reasons carried in DESTROY (and TRUNCATED). They are never forwarded past one hop. */
export const DestroyReason = {
  NONE: 0,
  PROTOCOL: 1,
  INTERNAL: 2,
  REQUESTED: 3,
  HIBERNATING: 4,
  RESOURCE_LIMIT: 5,
  CONNECT_FAILED: 6,
  OR_IDENTITY: 7,
  CHANNEL_CLOSED: 8,
  FINISHED: 9,
  TIMEOUT: 10,
  DESTROYED: 11,
  NO_SUCH_SERVICE: 12,
} as const;

/** Circuit handshake types in CREATE2 / EXTEND2. */
export const HandshakeType = {
  /** ntor over X25519 (tor-spec §5.1.4), with a 32-byte Ed25519 identity as node id. */
  NTOR: 2,
} as const;

// ---------------------------------------------------------------------------------------
// Onion layers (docs/PROTOCOL.md §4; ARCHITECTURE.md appendix)
// ---------------------------------------------------------------------------------------

/** Bytes of the Poly1305 tag each hop adds to / checks on a cell body. */
export const ONION_TAG_LEN = 16;
/** Bytes of zeros that mark a forward cell as recognised by its hop (false-positive ≤ 2^-32). */
export const RECOGNIZED_MARKER_LEN = 4;
/** Bytes of the ChaCha20 key for each of a hop's three directions (kf, ko, kr). */
export const ONION_KEY_LEN = 32;
/** Total key material expanded per hop from the handshake: kf ‖ ko ‖ kr. */
export const HOP_KEY_MATERIAL_LEN = 3 * ONION_KEY_LEN;
/** Longest circuit (in hops, counting the end-to-end virtual hop of a rendezvous). */
export const MAX_HOPS = 8;
/**
 * Bytes after the marker in a recognised cell, forward or backward: the relay message and
 * its padding (CELL_PAYLOAD_LEN − ONION_TAG_LEN − RECOGNIZED_MARKER_LEN). A forward cell for
 * hop j (1-based) has room for only CELL_PAYLOAD_LEN − j·ONION_TAG_LEN − RECOGNIZED_MARKER_LEN
 * of them (see `maxForwardBody` in src/onion/client-layers.ts); the rest is filler.
 */
export const ONION_BODY_LEN = CELL_PAYLOAD_LEN - ONION_TAG_LEN - RECOGNIZED_MARKER_LEN; // 489

// ---------------------------------------------------------------------------------------
// Relay messages, inside a recognised cell (docs/PROTOCOL.md §5)
// ---------------------------------------------------------------------------------------

/** command (1) ‖ stream id (2) ‖ data length (2). */
export const RELAY_HEADER_LEN = 5;
/**
 * Most data bytes one relay message can carry: the room in a backward cell (one tag, the
 * marker, the header): ONION_BODY_LEN − RELAY_HEADER_LEN = CELL_PAYLOAD_LEN − ONION_TAG_LEN −
 * RECOGNIZED_MARKER_LEN − RELAY_HEADER_LEN. Forward room shrinks by ONION_TAG_LEN per hop: see
 * `maxRelayDataLen(hops)` in src/wire/relay-message.ts (452 for 3 hops; 1 hop equals this).
 */
export const MAX_BACKWARD_RELAY_DATA_LEN = ONION_BODY_LEN - RELAY_HEADER_LEN; // 484
/** Longest host name (in bytes, ASCII) a BEGIN may name, as DNS allows. */
export const MAX_HOSTNAME_LEN = 255;

/** Relay message commands. Unknown values decode to `Unrecognized`; the circuit is closed. */
export const RelayCommand = {
  BEGIN: 1,
  DATA: 2,
  END: 3,
  CONNECTED: 4,
  SENDME: 5,
  TRUNCATE: 8,
  TRUNCATED: 9,
  DROP: 10,
  EXTEND2: 14,
  EXTENDED2: 15,
  ESTABLISH_INTRO: 32,
  ESTABLISH_RENDEZVOUS: 33,
  INTRODUCE1: 34,
  INTRODUCE2: 35,
  RENDEZVOUS1: 36,
  RENDEZVOUS2: 37,
  INTRO_ESTABLISHED: 38,
  RENDEZVOUS_ESTABLISHED: 39,
  INTRODUCE_ACK: 40,
  HSDIR_STORE: 48,
  HSDIR_STORED: 49,
  HSDIR_FETCH: 50,
  HSDIR_FOUND: 51,
  /** An end-to-end chat frame between the two parties of a spliced rendezvous circuit (src/chat/chat-frame.ts). */
  CHAT: 52,
} as const;
export type RelayCommandName = keyof typeof RelayCommand;
export type RelayCommandCode = (typeof RelayCommand)[RelayCommandName];

/** Reasons in a stream END. */
export const EndReason = {
  MISC: 1,
  RESOLVE_FAILED: 2,
  CONNECT_REFUSED: 3,
  EXIT_POLICY: 4,
  DESTROY: 5,
  DONE: 6,
  TIMEOUT: 7,
  NO_ROUTE: 8,
  HIBERNATING: 9,
  INTERNAL: 10,
  RESOURCE_LIMIT: 11,
  CONNECT_RESET: 12,
  TORPROTOCOL: 13,
} as const;

/** SENDME body version: 1 = authenticated (echoes the tag of the triggering cell). */
export const SENDME_VERSION = 1;
/** Cells a circuit may have in flight in each direction before a SENDME (as Tor). */
export const CIRCUIT_WINDOW_START = 1000;
/** Cells acknowledged by one circuit-level SENDME. */
export const CIRCUIT_WINDOW_INCREMENT = 100;
/** Cells a stream may have in flight before a stream SENDME. */
export const STREAM_WINDOW_START = 500;
/** Cells acknowledged by one stream-level SENDME. */
export const STREAM_WINDOW_INCREMENT = 50;

/** Link-specifier types inside EXTEND2. */
export const LinkSpecifierType = {
  /** ws URL of the relay, UTF-8 (`ws://127.0.0.1:9001`). */
  WS_URL: 1,
  /** 32-byte Ed25519 identity key. */
  ED25519_ID: 2,
  /** 32-byte X25519 link (Noise static) key. */
  LINK_KEY: 3,
} as const;

// ---------------------------------------------------------------------------------------
// Circuit handshake (docs/PROTOCOL.md §3)
// ---------------------------------------------------------------------------------------

/** X25519 public and secret key size. */
export const X25519_KEY_LEN = 32;
/** Ed25519 public key / seed size and signature size. */
export const ED25519_KEY_LEN = 32;
export const ED25519_SIG_LEN = 64;
/** chive's ntor node id: the relay's 32-byte Ed25519 identity key. */
export const NTOR_NODE_ID_LEN = 32;
/** ntor protocol id; tags are derived from it as tor-spec §5.1.4 does. */
export const NTOR_PROTOID = 'ntor-curve25519-sha256-1';
/** CREATE2 handshake data for ntor: node id ‖ KEYID(B) ‖ X. */
export const NTOR_ONIONSKIN_LEN = NTOR_NODE_ID_LEN + 2 * X25519_KEY_LEN; // 96
/** CREATED2 reply for ntor: Y ‖ AUTH. */
export const NTOR_REPLY_LEN = 2 * X25519_KEY_LEN; // 64
/** Bytes of the ntor AUTH field in CREATED2 (an HMAC-SHA256 output). */
export const NTOR_AUTH_LEN = 32;

// ---------------------------------------------------------------------------------------
// Link (docs/PROTOCOL.md §1)
// ---------------------------------------------------------------------------------------

/** Noise protocol names. */
export const NOISE_NK = 'Noise_NK_25519_ChaChaPoly_SHA256';
export const NOISE_XK = 'Noise_XK_25519_ChaChaPoly_SHA256';
/** Prologue bound into every chive link handshake. */
export const LINK_PROLOGUE = 'chive-link-v1';
/** Poly1305 tag on every Noise ciphertext, and on every link frame. */
export const AEAD_TAG_LEN = 16;
/** Most cells in one link frame (one AEAD tag per frame). */
export const MAX_CELLS_PER_FRAME = 64;
/** Largest link frame: 64 cells + tag. Larger frames close the link. */
export const MAX_LINK_FRAME_LEN = MAX_CELLS_PER_FRAME * CELL_LEN + AEAD_TAG_LEN;
/** Largest Noise handshake message chive sends (payload included). */
export const MAX_HANDSHAKE_MESSAGE_LEN = 1024;
/** WebSocket subprotocol (Sec-WebSocket-Protocol) of a link whose initiator runs Noise NK (a client). */
export const LINK_SUBPROTOCOL_NK = 'chive-link-nk';
/** WebSocket subprotocol of a link whose initiator runs Noise XK (a relay or authority proving its link key). */
export const LINK_SUBPROTOCOL_XK = 'chive-link-xk';
/**
 * WebSocket close codes (RFC 6455 §7.4) a link sends when it closes. 1000-1015 are the
 * standard ones; 4000-4999 (the private range) are chive's own.
 */
export const LinkWsCloseCode = {
  /** close() by the application (nothing wrong). */
  NORMAL: 1000,
  /** The node is shutting down (the server closes all its links). */
  GOING_AWAY: 1001,
  /** A transport frame that is not a whole number of cells or fails its tag. */
  PROTOCOL_ERROR: 1002,
  /** A text WebSocket message (links carry binary messages only). */
  UNSUPPORTED_DATA: 1003,
  /** A WebSocket message over MAX_LINK_FRAME_LEN (sent by ws itself). */
  MESSAGE_TOO_BIG: 1009,
  /** The receiving application failed while handling a cell. */
  INTERNAL_ERROR: 1011,
  /** The Noise handshake failed: malformed message, bad tag, wrong key, non-empty payload. */
  HANDSHAKE_FAILED: 4001,
  /** The handshake did not finish in time. */
  HANDSHAKE_TIMEOUT: 4002,
  /** No cell in either direction for the idle timeout. */
  IDLE_TIMEOUT: 4003,
} as const;
/** Noise HASHLEN for SHA-256: size of the handshake hash h and the chaining key ck. */
export const NOISE_HASH_LEN = 32;
/**
 * The first Noise nonce a CipherState refuses (NONCE_EXHAUSTED). Noise reserves 2^64 - 1;
 * chive stops earlier, at 2^53 - 1, because its counters are exact JS numbers only up to
 * there. At one frame per microsecond that is still 285 years of one link.
 */
export const NOISE_MAX_NONCE = Number.MAX_SAFE_INTEGER;

// ---------------------------------------------------------------------------------------
// Directory documents (docs/PROTOCOL.md §6; src/dirdoc/)
// ---------------------------------------------------------------------------------------

/** Format version byte that starts an encoded relay descriptor signed by its identity key. */
export const DESCRIPTOR_FORMAT_VERSION = 1;
/**
 * Format version byte of a descriptor signed by a medium-term signing key that the identity
 * certified (the identity key kept offline; docs/PROTOCOL.md §6.2.1): the signing key and its
 * cert follow the identity, and the signing key makes the onion- and link-key certs and the
 * descriptor signature.
 */
export const DESCRIPTOR_FORMAT_VERSION_SIGNING_KEY = 2;
/** Format version byte that starts an encoded vote. */
export const VOTE_FORMAT_VERSION = 1;
/** Format version byte that starts an encoded consensus. */
export const CONSENSUS_FORMAT_VERSION = 1;

/** Largest encoded relay descriptor (a maximal one is about 2.7 KiB). */
export const MAX_DESCRIPTOR_LEN = 4 * 1024;
/** Largest encoded vote (whole descriptors of every relay the authority lists). */
export const MAX_VOTE_LEN = 4 * 1024 * 1024;
/** Largest encoded consensus, signatures included. */
export const MAX_CONSENSUS_LEN = 4 * 1024 * 1024;

/** Ed25519 signature domains: each signature covers utf8(domain) ‖ 0x00 ‖ body. */
export const SIG_DOMAIN_DESCRIPTOR = 'chive-descriptor-v1';
export const SIG_DOMAIN_VOTE = 'chive-vote-v1';
export const SIG_DOMAIN_CONSENSUS = 'chive-consensus-v1';
export const SIG_DOMAIN_CERT = 'chive-cert-v1';

/** Which key a certificate certifies (signed by the relay identity, or by its signing key in format 2: §6.2.2). */
export const CertType = {
  /** The X25519 onion key (ntor, CREATE2 / EXTEND2). */
  ONION_KEY: 1,
  /** The X25519 link key (Noise static key, NK / XK). */
  LINK_KEY: 2,
  /** The Ed25519 medium-term signing key of a relay whose identity key is kept offline (signed by the identity). */
  SIGNING_KEY: 3,
} as const;

/** Relay flags, one bit each in a u8 bitmask (votes and consensus). Other bits are refused. */
export const RelayFlag = {
  RUNNING: 0x01,
  STABLE: 0x02,
  GUARD: 0x04,
  EXIT: 0x08,
  HSDIR: 0x10,
  FAST: 0x20,
} as const;
/** Every defined RelayFlag bit. */
export const ALL_RELAY_FLAGS = 0x3f;

/** Exit policy rule actions (u8). */
export const ExitPolicyAction = {
  REJECT: 0,
  ACCEPT: 1,
} as const;

/** Relay nickname: 1..19 characters of [A-Za-z0-9]. */
export const MAX_NICKNAME_LEN = 19;
/** Longest relay address (ws:// or wss:// URL), bytes. */
export const MAX_RELAY_ADDRESS_LEN = 255;
/** Longest descriptor contact field, bytes of UTF-8. */
export const MAX_CONTACT_LEN = 256;
/** Longest software version string, bytes of UTF-8. */
export const MAX_SOFTWARE_VERSION_LEN = 64;
/** Most identities in a relay's family. */
export const MAX_FAMILY_SIZE = 16;
/** Most rules in an exit policy. */
export const MAX_EXIT_POLICY_RULES = 128;
/** Most authority signatures on one consensus. */
export const MAX_CONSENSUS_SIGNATURES = 32;

/** An authority refuses a descriptor published longer ago than this (and votes use it at valid-after). */
export const DESCRIPTOR_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** An authority refuses a descriptor published further in the future than this (clock skew). */
export const DESCRIPTOR_MAX_FUTURE_MS = 5 * 60 * 1000;

// ---------------------------------------------------------------------------------------
// Directory authority HTTP API (docs/PROTOCOL.md §6.8+; directory/, src/io/directory-client.ts)
// ---------------------------------------------------------------------------------------

/** Path prefix of every endpoint of an authority's HTTP API (version 1). */
export const DIRECTORY_API_PREFIX = '/chive/v1';
/**
 * A detached consensus signature as GET .../signature/<validAfter> serves it:
 * consensus body digest 32 ‖ authority identity 32 ‖ Ed25519 signature 64.
 */
export const DETACHED_SIGNATURE_LEN = 32 + 32 + 64;
/** Largest JSON body (errors, upload receipts) an authority sends and a client reads. */
export const MAX_DIRECTORY_JSON_LEN = 4 * 1024;

// ---------------------------------------------------------------------------------------
// SOCKS5 front end (RFC 1928; client/socks.ts, client/socks-server.ts; docs/CLI.md)
// These go on the local TCP socket between a program and `chive socks`, never on a link.
// ---------------------------------------------------------------------------------------

/** VER byte of every SOCKS5 message (RFC 1928 §3). */
export const SOCKS_VERSION = 5;

/** Authentication methods (RFC 1928 §3). chive accepts only NO_AUTH. */
export const SocksMethod = {
  /** No authentication required: the only method chive selects. */
  NO_AUTH: 0x00,
  GSSAPI: 0x01,
  USERNAME_PASSWORD: 0x02,
  /** METHOD in the selection reply when none of the offered methods is acceptable. */
  NO_ACCEPTABLE: 0xff,
} as const;

/** CMD in a SOCKS5 request (RFC 1928 §4). chive carries CONNECT only. */
export const SocksCommand = {
  CONNECT: 0x01,
  BIND: 0x02,
  UDP_ASSOCIATE: 0x03,
} as const;

/** ATYP in a SOCKS5 request or reply (RFC 1928 §5). */
export const SocksAddressType = {
  /** 4 bytes of IPv4 address. */
  IPV4: 0x01,
  /** 1 length byte, then that many bytes of host name (no terminating NUL). */
  DOMAIN: 0x03,
  /** 16 bytes of IPv6 address. */
  IPV6: 0x04,
} as const;

/** REP in a SOCKS5 reply (RFC 1928 §6). */
export const SocksReply = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  /** "connection not allowed by ruleset": an exit policy refused the target. */
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;

/** Longest SOCKS5 domain name: its length is one byte. */
export const MAX_SOCKS_DOMAIN_LEN = 255;
/** Longest SOCKS5 greeting: VER ‖ NMETHODS ‖ up to 255 METHODS. */
export const MAX_SOCKS_GREETING_LEN = 2 + 255; // 257
/** Bytes of a SOCKS5 method selection reply: VER ‖ METHOD. */
export const SOCKS_METHOD_SELECTION_LEN = 2;
/** Longest SOCKS5 request or reply: VER ‖ CMD/REP ‖ RSV ‖ ATYP ‖ 1 + 255 bytes of name ‖ PORT. */
export const MAX_SOCKS_REQUEST_LEN = 4 + 1 + MAX_SOCKS_DOMAIN_LEN + 2; // 262

// ---------------------------------------------------------------------------------------
// Chat: introduction, rendezvous and HSDir message bodies, and the end-to-end handshake
// (docs/PROTOCOL.md, chat; src/chat/intro-messages.ts, src/chat/introduce.ts,
// src/chat/e2e-handshake.ts). Byte order big-endian. The domain and KDF strings below are
// prepended as their UTF-8 bytes with no separator.
// ---------------------------------------------------------------------------------------

/** Bytes of a rendezvous cookie (ESTABLISH_RENDEZVOUS, the introduction, RENDEZVOUS1). */
export const CHAT_COOKIE_LEN = 20;
/** A receiver refuses an introduction whose timestamp is further than this from its clock (10 min). */
export const CHAT_INTRODUCE_MAX_SKEW_MS = 10 * 60 * 1000;

/** ESTABLISH_INTRO body: authKey (Ed25519 pub) 32 ‖ signature 64. */
export const CHAT_ESTABLISH_INTRO_LEN = ED25519_KEY_LEN + ED25519_SIG_LEN; // 96
/** Signature domain of ESTABLISH_INTRO: sig over domain ‖ authKey ‖ introRelayIdentity. */
export const CHAT_ESTABLISH_INTRO_SIG_DOMAIN = 'chive-establish-intro-v1';

/** The introduction's HKDF-SHA256 info (key = HKDF(X25519(e, introEncKey) ‖ E ‖ introEncKey ‖ authKey)). */
export const CHAT_INTRODUCE_KEY_INFO = 'chive-introduce-v1';
/** Signature domain of the sender's identity proof inside the introduction. */
export const CHAT_INTRODUCE_SENDER_SIG_DOMAIN = 'chive-introduce-sender-v1';
/**
 * Plaintext of an introduction: cookie 20 ‖ rendezvousRelayIdentity 32 ‖ X 32 ‖
 * senderIdentityPub 32 ‖ timestamp u64 (ms) ‖ sender signature 64.
 */
export const CHAT_INTRODUCE_PLAINTEXT_LEN = CHAT_COOKIE_LEN + 32 + X25519_KEY_LEN + ED25519_KEY_LEN + 8 + ED25519_SIG_LEN; // 188
/** INTRODUCE1 / INTRODUCE2 body: authKey 32 ‖ E 32 ‖ ciphertext (CHAT_INTRODUCE_PLAINTEXT_LEN) ‖ tag 16. */
export const CHAT_INTRODUCE_LEN = ED25519_KEY_LEN + X25519_KEY_LEN + CHAT_INTRODUCE_PLAINTEXT_LEN + AEAD_TAG_LEN; // 268

/** INTRODUCE_ACK status (u8), intro point → sender. Other values are refused. */
export const IntroduceAckStatus = {
  /** The intro point relayed the introduction as INTRODUCE2 to the receiver. */
  OK: 0,
  /** No receiver circuit has established this authKey at this intro point. */
  NO_SUCH_INTRO: 1,
  /** The INTRODUCE1 body was malformed (length). */
  MALFORMED: 2,
} as const;

/** The end-to-end handshake's protocol id; its HMAC keys are PROTOID ‖ ":key_extract" etc. */
export const CHAT_E2E_PROTOID = 'chive-e2e-v1';
/** Bytes of the end-to-end AUTH (HMAC-SHA256). */
export const CHAT_E2E_AUTH_LEN = 32;
/** End-to-end reply Y ‖ auth: the RENDEZVOUS2 body, and RENDEZVOUS1 after the cookie. */
export const CHAT_E2E_REPLY_LEN = X25519_KEY_LEN + CHAT_E2E_AUTH_LEN; // 64
/** RENDEZVOUS1 body: cookie 20 ‖ Y 32 ‖ auth 32. */
export const CHAT_RENDEZVOUS1_LEN = CHAT_COOKIE_LEN + CHAT_E2E_REPLY_LEN; // 84
/** End-to-end key material: senderToReceiver hop keys ‖ receiverToSender hop keys. */
export const CHAT_E2E_KEY_MATERIAL_LEN = 2 * HOP_KEY_MATERIAL_LEN; // 192

/** HSDIR_FETCH body: blindedPub 32 ‖ period u32. */
export const CHAT_HSDIR_FETCH_LEN = ED25519_KEY_LEN + 4; // 36
/** HSDIR_STORED status (u8), HSDir → receiver. Other values are refused. */
export const HsdirStoreStatus = {
  STORED: 0,
  /** Over the length cap, bad version or signature, or a period not within ±1 of the HSDir's. */
  REJECTED: 1,
  /** The HSDir holds a descriptor of this blinded key and period with a revision ≥ this one. */
  STALE_REVISION: 2,
  OVER_QUOTA: 3,
} as const;
/** HSDIR_FOUND status (u8), HSDir → sender; the descriptor follows only with FOUND. Other values are refused. */
export const HsdirFetchStatus = {
  FOUND: 0,
  NOT_FOUND: 1,
} as const;

// ---------------------------------------------------------------------------------------
// Chat frames: the end-to-end messages inside relay command CHAT over a spliced rendezvous
// circuit (docs/PROTOCOL.md, chat messages; src/chat/chat-frame.ts, src/chat/conversation.ts).
// ---------------------------------------------------------------------------------------

/** Chat frame types (the first byte of a CHAT relay message body). Other values are refused. */
export const ChatFrameType = {
  /** First frame on a new session: receivedUpTo u32 ‖ nameLen u8 ‖ name (UTF-8). */
  HELLO: 1,
  /** One fragment of a message: msgId 16 ‖ seq u32 ‖ fragIndex u16 ‖ fragCount u16 ‖ sentAt u64 ‖ fragment. */
  MSG: 2,
  /** Cumulative acknowledgement: seq u32 (every message with seq ≤ this was received, in order). */
  ACK: 3,
  /** Round-trip probe: nonce (CHAT_PING_NONCE_LEN bytes), echoed by PONG. */
  PING: 4,
  /** Reply to PING with its nonce. */
  PONG: 5,
} as const;
/**
 * Longest chat frame: the data a forward relay message to hop 4 can carry (the peer is the
 * virtual fourth hop): CELL_PAYLOAD_LEN − 4·ONION_TAG_LEN − RECOGNIZED_MARKER_LEN −
 * RELAY_HEADER_LEN = maxRelayDataLen(4) in src/wire/relay-message.ts.
 */
export const CHAT_FRAME_MAX_LEN = CELL_PAYLOAD_LEN - 4 * ONION_TAG_LEN - RECOGNIZED_MARKER_LEN - RELAY_HEADER_LEN; // 436
/** Longest chat message text, bytes of UTF-8 (before fragmentation). */
export const CHAT_MAX_MESSAGE_BYTES = 4096;
/** Bytes of a message id (random, chosen by the sender; hex in history and the API). */
export const CHAT_MSG_ID_LEN = 16;
/** MSG frame header: type 1 ‖ msgId 16 ‖ seq 4 ‖ fragIndex 2 ‖ fragCount 2 ‖ sentAt 8. */
export const CHAT_MSG_HEADER_LEN = 1 + CHAT_MSG_ID_LEN + 4 + 2 + 2 + 8; // 33
/**
 * Bytes of every fragment but the last (which holds 1..this many): a message of n bytes has
 * ceil(n / CHAT_MAX_FRAGMENT_LEN) fragments. CHAT_FRAME_MAX_LEN − CHAT_MSG_HEADER_LEN.
 */
export const CHAT_MAX_FRAGMENT_LEN = CHAT_FRAME_MAX_LEN - CHAT_MSG_HEADER_LEN; // 403
/** Most fragments of one message: ceil(CHAT_MAX_MESSAGE_BYTES / CHAT_MAX_FRAGMENT_LEN). */
export const CHAT_MAX_FRAGMENTS = Math.ceil(CHAT_MAX_MESSAGE_BYTES / CHAT_MAX_FRAGMENT_LEN); // 11
/** Longest name in a HELLO, bytes of UTF-8. */
export const CHAT_MAX_NAME_BYTES = 32;
/** Bytes of a PING / PONG nonce (an opaque u64). */
export const CHAT_PING_NONCE_LEN = 8;
/**
 * Most messages a sender has in flight unacknowledged (seq ≤ ackedUpTo + this); a receiver
 * refuses a MSG with seq > receivedUpTo + this (BAD_CHAT_FRAME) and buffers at most this
 * many messages out of order.
 */
export const CHAT_SEND_WINDOW = 32;

// ---------------------------------------------------------------------------------------
// Chat identity: addresses, time periods and key blinding, descriptors, the HSDir ring
// (docs/PROTOCOL.md, chat identity; src/chat/address.ts, blinding.ts, descriptor.ts,
// hsdir-ring.ts). Byte order big-endian. Domain strings are prepended as their UTF-8 bytes
// with no separator.
// ---------------------------------------------------------------------------------------

/** Human-readable part of a chat address, a bech32m (BIP-350) string: hrp ‖ "1" ‖ data ‖ checksum. */
export const CHAT_ADDRESS_HRP = 'chive';
/** Every chat address starts with this: CHAT_ADDRESS_HRP and bech32's separator "1" (lowercase when encoded; decoding also accepts all upper case). */
export const CHAT_ADDRESS_PREFIX = CHAT_ADDRESS_HRP + '1';
/** The first 5-bit data group of an address (its first character after the prefix, "p"); decoders refuse any other. */
export const CHAT_ADDRESS_VERSION = 1;
/** Characters of the identity key: 256 bits in 5-bit groups, ceil(256 / 5), the last group padded with 4 zero bits. */
export const CHAT_ADDRESS_KEY_CHARS = Math.ceil((ED25519_KEY_LEN * 8) / 5); // 52
/** Characters of the bech32m checksum at the end (BIP-350; 30 bits). */
export const CHAT_ADDRESS_CHECKSUM_CHARS = 6;
/** Characters after the prefix: version 1 ‖ key CHAT_ADDRESS_KEY_CHARS ‖ checksum CHAT_ADDRESS_CHECKSUM_CHARS. */
export const CHAT_ADDRESS_DATA_CHARS = 1 + CHAT_ADDRESS_KEY_CHARS + CHAT_ADDRESS_CHECKSUM_CHARS; // 59
/** Characters of a whole address: prefix ‖ data. */
export const CHAT_ADDRESS_LEN = CHAT_ADDRESS_PREFIX.length + CHAT_ADDRESS_DATA_CHARS; // 65

/** Length of a time period (ms): period = floor(nowMs / CHAT_TIME_PERIOD_MS). Callers may pass shorter ones for tests. */
export const CHAT_TIME_PERIOD_MS = 86_400_000;
/** Hash domain of the blinding factor h = SHA-512(domain ‖ identityPub ‖ period u64) mod ℓ. */
export const CHAT_BLIND_DOMAIN = 'chive-blind-v1';
/** Hash domain of the blinded nonce prefix' = SHA-512(domain ‖ prefix ‖ h)[0:32]. */
export const CHAT_BLIND_PREFIX_DOMAIN = 'chive-blind-prefix-v1';

/** Version byte that starts a chat descriptor; others are refused. */
export const CHAT_DESCRIPTOR_VERSION = 1;
/** Longest chat descriptor (bytes): it must fit one HSDIR_STORE on a 3-hop circuit. */
export const CHAT_DESCRIPTOR_MAX_LEN = 440;
/** Bytes of the descriptor's ChaCha20-Poly1305 nonce (random per descriptor). */
export const CHAT_DESCRIPTOR_NONCE_LEN = 12;
/**
 * Descriptor header, the AEAD's associated data: version u8 ‖ blindedPub 32 ‖ period u32 ‖
 * revision u64 ‖ nonce 12. innerLen u16, the sealed inner part and the signature follow.
 */
export const CHAT_DESCRIPTOR_HEADER_LEN = 1 + ED25519_KEY_LEN + 4 + 8 + CHAT_DESCRIPTOR_NONCE_LEN; // 57
/** Signature domain: the blinded key signs domain ‖ every descriptor byte before the signature. */
export const CHAT_DESCRIPTOR_SIG_DOMAIN = 'chive-chat-descriptor-v1';
/** HKDF-SHA256 info of the descriptor key (ikm = identityPub ‖ blindedPub ‖ period u32, salt empty). */
export const CHAT_DESCRIPTOR_KEY_INFO = 'chive-descriptor-key-v1';
/** Most introduction points in one descriptor (at least one). */
export const CHAT_MAX_INTRO_POINTS = 3;
/** Bytes of one introduction point in the inner part: relayIdentity 32 ‖ introAuthKey 32. */
export const CHAT_INTRO_POINT_LEN = 2 * ED25519_KEY_LEN; // 64
/** Longest inner part (plaintext): introEncKey 32 ‖ count u8 ‖ CHAT_MAX_INTRO_POINTS entries. */
export const CHAT_DESCRIPTOR_INNER_MAX_LEN = X25519_KEY_LEN + 1 + CHAT_MAX_INTRO_POINTS * CHAT_INTRO_POINT_LEN; // 225
/** An HSDir, and a sender, accept a descriptor whose period is within this many periods of their own. */
export const CHAT_DESCRIPTOR_PERIOD_WINDOW = 1;

/** Replicas of each descriptor on the HSDir ring (each at its own ring position). */
export const HSDIR_REPLICAS = 2;
/** HSDirs per replica: the first this many distinct relays at or after the replica's position. */
export const HSDIR_SPREAD = 2;
/** Hash domain of a relay's ring position: SHA-256(domain ‖ identity ‖ period u64). */
export const HSDIR_NODE_DOMAIN = 'chive-hsdir-node';
/** Hash domain of a replica's ring position: SHA-256(domain ‖ blindedPub ‖ replica u8 ‖ period u64). */
export const HSDIR_STORE_DOMAIN = 'chive-hsdir-store';
