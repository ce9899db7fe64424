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

// ---------------------------------------------------------------------------------------
// Relay messages, inside a recognised cell (docs/PROTOCOL.md §5)
// ---------------------------------------------------------------------------------------

/** command (1) ‖ stream id (2) ‖ data length (2). */
export const RELAY_HEADER_LEN = 5;

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
