/**
 * Links to neighbouring relays: one XK link per neighbour, reused by every circuit between
 * the two, dialled on the first EXTEND2 towards it (concurrent extends share the dial) and
 * adopted when the neighbour dials us. Neighbours are known by the consensus the relay
 * holds (`RelayDirectoryView`): an XK initiator whose link key is not listed is refused,
 * and an EXTEND2 target must match the consensus' identity, link key and address.
 *
 * Not the circuit logic (relay/relay-node.ts, relay/relay-messages.ts).
 */
import { toHex } from '../src/bytes.js';
import { ChiveError } from '../src/errors.js';
import { connectLink } from '../src/io/link-connect.js';
import type { ExtendTarget } from '../src/wire/link-specifiers.js';
import type { LinkState } from './circuit.js';
import type { RelayNode } from './relay-node.js';

export interface ListedRelay {
  readonly identity: Uint8Array;
  readonly linkKey: Uint8Array;
  readonly onionKey: Uint8Array;
  readonly url: string;
}

/** The relay's view of the network, refreshed by the daemon from the consensus. */
export interface RelayDirectoryView {
  lookupIdentity(identity: Uint8Array): ListedRelay | undefined;
  lookupLinkKey(linkKey: Uint8Array): ListedRelay | undefined;
  /** Tests only: extend to and accept relays the consensus does not list. */
  readonly dangerouslyAllowUnlisted?: boolean;
}

/** A directory view over a fixed list (the in-process test network, and tests). */
export function staticDirectoryView(relays: readonly ListedRelay[], dangerouslyAllowUnlisted = false): RelayDirectoryView {
  const byId = new Map(relays.map((r) => [toHex(r.identity), r]));
  const byLink = new Map(relays.map((r) => [toHex(r.linkKey), r]));
  return {
    lookupIdentity: (id) => byId.get(toHex(id)),
    lookupLinkKey: (k) => byLink.get(toHex(k)),
    dangerouslyAllowUnlisted,
  };
}

export class NeighbourLinks {
  private readonly open = new Map<string, LinkState>();
  private readonly dialling = new Map<string, Promise<LinkState>>();

  constructor(private readonly node: RelayNode, private directory: RelayDirectoryView) {}

  setDirectory(directory: RelayDirectoryView): void {
    this.directory = directory;
  }

  /** Checks an EXTEND2 target against the consensus; throws EXTEND_REFUSED with the reason. */
  checkTarget(target: ExtendTarget): void {
    const listed = this.directory.lookupIdentity(target.identity);
    if (!listed) {
      if (this.directory.dangerouslyAllowUnlisted) return;
      throw new ChiveError('EXTEND_REFUSED', 'extend target is not in the consensus');
    }
    if (!this.node.provider.equal(listed.linkKey, target.linkKey) || listed.url !== target.url) {
      throw new ChiveError('EXTEND_REFUSED', 'extend target keys or address do not match the consensus');
    }
  }

  /** An XK link just accepted: register it if the consensus lists its key, else close it. */
  adoptInbound(state: LinkState): void {
    const listed = this.directory.lookupLinkKey(state.link.remoteStatic!);
    if (!listed) {
      if (this.directory.dangerouslyAllowUnlisted) return;
      this.node.counters.refuse('unknown_neighbour');
      state.link.close('link key not in the consensus');
      return;
    }
    const id = toHex(listed.identity);
    state.neighbourIdentity = id;
    if (!this.open.has(id)) this.open.set(id, state);
  }

  /** The open link to `target`, dialling one (XK) if needed. */
  async get(target: ExtendTarget): Promise<LinkState> {
    const id = toHex(target.identity);
    const existing = this.open.get(id);
    if (existing && !existing.link.closed) return existing;
    const pending = this.dialling.get(id);
    if (pending) return pending;
    const dial = (async () => {
      try {
        const link = await connectLink({
          provider: this.node.provider,
          rng: this.node.rng,
          url: target.url,
          pattern: 'XK',
          remoteStatic: target.linkKey,
          localStaticSecret: this.node.keys.linkSecret,
          maxQueuedBytes: this.node.limits.maxQueuedBytesPerLink,
          keepaliveMs: this.node.limits.keepaliveMs,
        });
        this.node.counters.handshakes.xkOut += 1;
        const state = this.node.attachLink(link);
        state.neighbourIdentity = id;
        this.open.set(id, state);
        return state;
      } catch (e) {
        this.node.counters.handshakes.xkOutFail += 1;
        throw e;
      } finally {
        this.dialling.delete(id);
      }
    })();
    this.dialling.set(id, dial);
    return dial;
  }

  /** Is `state` the link to the relay identified by `identity`? */
  isLinkTo(state: LinkState, identity: Uint8Array): boolean {
    return state.neighbourIdentity !== null && state.neighbourIdentity === toHex(identity);
  }

  forget(state: LinkState): void {
    if (state.neighbourIdentity && this.open.get(state.neighbourIdentity) === state) this.open.delete(state.neighbourIdentity);
  }

  closeAll(): void {
    for (const s of this.open.values()) s.link.close('relay shutting down');
    this.open.clear();
  }
}
