/**
 * Link specifiers: how an EXTEND2 names the next hop (its ws address, Ed25519 identity and
 * X25519 link key).
 *
 * On the wire: count (u8), then that many of type (u8) ‖ length (u8) ‖ body. Known types
 * (LinkSpecifierType) are checked: WS_URL is an ASCII `ws://` or `wss://` URL, ED25519_ID
 * is ED25519_KEY_LEN bytes, LINK_KEY is X25519_KEY_LEN bytes, and each appears at most once
 * (two addresses for one hop would be ambiguous). Unknown types are kept as `Unrecognized`
 * and re-encoded unchanged, so a relay can pass on what it does not understand.
 *
 * Not here: reaching the relay (the relay's channel manager does that) nor checking that
 * the identity matches the consensus (the relay's EXTEND2 handler does).
 */
import { ByteReader, ByteWriter, decodeUtf8, utf8 } from '../bytes.js';
import { ChiveError, type ErrorCode } from '../errors.js';
import { ED25519_KEY_LEN, LinkSpecifierType, X25519_KEY_LEN } from './constants.js';

export type LinkSpecifier =
  | { readonly kind: 'WS_URL'; readonly url: string }
  | { readonly kind: 'ED25519_ID'; readonly key: Uint8Array }
  | { readonly kind: 'LINK_KEY'; readonly key: Uint8Array }
  | { readonly kind: 'Unrecognized'; readonly type: number; readonly body: Uint8Array };

/** The three facts a relay needs to extend a circuit to the next hop. */
export interface ExtendTarget {
  readonly url: string;
  readonly identity: Uint8Array;
  readonly linkKey: Uint8Array;
}

const MAX_SPECIFIERS = 0xff;
const MAX_BODY_LEN = 0xff;
const WS_URL_PATTERN = /^wss?:\/\/[\x21-\x7e]+$/;
const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(LinkSpecifierType));

/** Reads count ‖ specifiers from `r` (BAD_VALUE for a malformed known type or a duplicate). */
export function readLinkSpecifiers(r: ByteReader): LinkSpecifier[] {
  const count = r.u8('link specifier count');
  const out: LinkSpecifier[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < count; i++) {
    const type = r.u8('link specifier type');
    const body = r.varBytes8(MAX_BODY_LEN, 'link specifier');
    if (KNOWN_TYPES.has(type)) {
      if (seen.has(type)) throw new ChiveError('BAD_VALUE', `EXTEND2: link specifier type ${type} appears twice`);
      seen.add(type);
    }
    out.push(parseSpecifier(type, body));
  }
  return out;
}

function parseSpecifier(type: number, body: Uint8Array): LinkSpecifier {
  switch (type) {
    case LinkSpecifierType.WS_URL: {
      const url = decodeUtf8(body, 'EXTEND2: WS_URL');
      checkUrl(url, 'BAD_VALUE');
      return { kind: 'WS_URL', url };
    }
    case LinkSpecifierType.ED25519_ID:
      checkKeyLength(body, ED25519_KEY_LEN, 'ED25519_ID', 'BAD_VALUE');
      return { kind: 'ED25519_ID', key: body };
    case LinkSpecifierType.LINK_KEY:
      checkKeyLength(body, X25519_KEY_LEN, 'LINK_KEY', 'BAD_VALUE');
      return { kind: 'LINK_KEY', key: body };
    default:
      return { kind: 'Unrecognized', type, body };
  }
}

/** Writes count ‖ specifiers to `w`, checking them as the decoder would (INVALID_ARGUMENT). */
export function writeLinkSpecifiers(w: ByteWriter, specifiers: readonly LinkSpecifier[]): void {
  if (specifiers.length > MAX_SPECIFIERS) {
    throw new ChiveError('INVALID_ARGUMENT', `EXTEND2: ${specifiers.length} link specifiers, at most ${MAX_SPECIFIERS}`);
  }
  w.u8(specifiers.length);
  const seen = new Set<number>();
  for (const spec of specifiers) {
    const [type, body] = specifierBytes(spec);
    if (KNOWN_TYPES.has(type)) {
      if (seen.has(type)) throw new ChiveError('INVALID_ARGUMENT', `EXTEND2: link specifier type ${type} given twice`);
      seen.add(type);
    }
    if (body.length > MAX_BODY_LEN) {
      throw new ChiveError('INVALID_ARGUMENT', `EXTEND2: link specifier body of ${body.length} bytes exceeds ${MAX_BODY_LEN}`);
    }
    w.u8(type).varBytes8(body);
  }
}

function specifierBytes(spec: LinkSpecifier): [number, Uint8Array] {
  switch (spec.kind) {
    case 'WS_URL':
      checkUrl(spec.url, 'INVALID_ARGUMENT');
      return [LinkSpecifierType.WS_URL, utf8(spec.url)];
    case 'ED25519_ID':
      checkKeyLength(spec.key, ED25519_KEY_LEN, 'ED25519_ID', 'INVALID_ARGUMENT');
      return [LinkSpecifierType.ED25519_ID, spec.key];
    case 'LINK_KEY':
      checkKeyLength(spec.key, X25519_KEY_LEN, 'LINK_KEY', 'INVALID_ARGUMENT');
      return [LinkSpecifierType.LINK_KEY, spec.key];
    case 'Unrecognized':
      if (!Number.isInteger(spec.type) || spec.type < 0 || spec.type > 0xff || KNOWN_TYPES.has(spec.type)) {
        throw new ChiveError('INVALID_ARGUMENT', `link specifier type ${spec.type} is not an unknown u8`);
      }
      return [spec.type, spec.body];
    default: {
      const unknown: never = spec;
      throw new ChiveError('INVALID_ARGUMENT', `not a link specifier: ${JSON.stringify((unknown as { kind?: unknown }).kind)}`);
    }
  }
}

function checkUrl(url: string, code: ErrorCode): void {
  if (url.length > MAX_BODY_LEN || !WS_URL_PATTERN.test(url)) {
    throw new ChiveError(code, 'EXTEND2: WS_URL must be an ASCII ws:// or wss:// URL of at most 255 bytes');
  }
}

function checkKeyLength(key: Uint8Array, len: number, what: string, code: ErrorCode): void {
  if (key.length !== len) {
    throw new ChiveError(code, `EXTEND2: ${what} must be ${len} bytes, got ${key.length}`);
  }
}

/** The link specifiers naming `target`, in the order chive sends them. */
export function linkSpecifiersFor(target: ExtendTarget): LinkSpecifier[] {
  return [
    { kind: 'WS_URL', url: target.url },
    { kind: 'ED25519_ID', key: target.identity },
    { kind: 'LINK_KEY', key: target.linkKey },
  ];
}

/** The next hop named by `specifiers`; BAD_VALUE when the address, identity or link key is missing. */
export function extendTargetOf(specifiers: readonly LinkSpecifier[]): ExtendTarget {
  let url: string | undefined;
  let identity: Uint8Array | undefined;
  let linkKey: Uint8Array | undefined;
  for (const spec of specifiers) {
    if (spec.kind === 'WS_URL') url = spec.url;
    else if (spec.kind === 'ED25519_ID') identity = spec.key;
    else if (spec.kind === 'LINK_KEY') linkKey = spec.key;
  }
  if (url === undefined || identity === undefined || linkKey === undefined) {
    throw new ChiveError('BAD_VALUE', 'EXTEND2: needs WS_URL, ED25519_ID and LINK_KEY link specifiers');
  }
  return { url, identity, linkKey };
}
