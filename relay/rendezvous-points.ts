/**
 * The relay's two meeting roles for chat: introduction point (circuits waiting for
 * introductions, by the auth key they registered with ESTABLISH_INTRO) and rendezvous
 * point (circuits waiting by cookie, spliced to the receiver's circuit on RENDEZVOUS1).
 *
 * Tables only: they hold circuits by key, forget them when the circuit closes, remember
 * used cookies (bounded, oldest forgotten first) so a cookie is never spliced twice, and
 * enforce their size limits. Parsing and answering the messages is relay/chat-messages.ts;
 * moving spliced cells is relay/relay-node.ts.
 */
import { ChiveError } from '../src/errors.js';
import type { RelayCircuit } from './circuit.js';

/** Which chat role a circuit has at this relay (at most one), and its key in that table. */
export type CircuitChatRole =
  | { readonly kind: 'intro'; readonly key: string }
  | { readonly kind: 'rendezvous'; readonly key: string };

export class IntroPointTable {
  private readonly byAuthKey = new Map<string, RelayCircuit>();

  constructor(private readonly maxCircuits: number) {}

  get size(): number {
    return this.byAuthKey.size;
  }

  /** Registers `circ` for `authKey` (hex); a newer circuit for the same key replaces the older. */
  establish(authKey: string, circ: RelayCircuit): RelayCircuit | undefined {
    if (circ.chatRole) throw new ChiveError('UNEXPECTED_MESSAGE', 'this circuit already has a chat role here');
    const previous = this.byAuthKey.get(authKey);
    if (!previous && this.byAuthKey.size >= this.maxCircuits) throw new ChiveError('RESOURCE_LIMIT', 'too many introduction circuits');
    if (previous) previous.chatRole = null;
    this.byAuthKey.set(authKey, circ);
    circ.chatRole = { kind: 'intro', key: authKey };
    return previous;
  }

  /** Read-only view for audits and tests: the auth keys (hex) with a circuit waiting. */
  keys(): string[] {
    return [...this.byAuthKey.keys()];
  }

  lookup(authKey: string): RelayCircuit | undefined {
    const circ = this.byAuthKey.get(authKey);
    return circ && !circ.closed ? circ : undefined;
  }

  forget(circ: RelayCircuit): void {
    const role = circ.chatRole;
    if (role?.kind === 'intro' && this.byAuthKey.get(role.key) === circ) this.byAuthKey.delete(role.key);
  }
}

export class RendezvousTable {
  private readonly waiting = new Map<string, RelayCircuit>();
  /** Cookies ever registered here, most recent last (bounded). */
  private readonly used = new Set<string>();

  constructor(private readonly maxCookies: number) {}

  get size(): number {
    return this.waiting.size;
  }

  /** Registers `circ` as waiting under `cookie` (hex); COOKIE_REUSED if seen before. */
  establish(cookie: string, circ: RelayCircuit): void {
    if (circ.chatRole) throw new ChiveError('UNEXPECTED_MESSAGE', 'this circuit already has a chat role here');
    if (this.used.has(cookie)) throw new ChiveError('COOKIE_REUSED', 'this rendezvous cookie was used before');
    if (this.waiting.size >= this.maxCookies) throw new ChiveError('RESOURCE_LIMIT', 'too many circuits waiting for a rendezvous');
    this.remember(cookie);
    this.waiting.set(cookie, circ);
    circ.chatRole = { kind: 'rendezvous', key: cookie };
  }

  /** Read-only view for audits and tests: cookies (hex) with a circuit waiting, and every cookie remembered as used. */
  keys(): { waiting: string[]; used: string[] } {
    return { waiting: [...this.waiting.keys()], used: [...this.used] };
  }

  /** Takes the circuit waiting under `cookie` (it is no longer waiting), or undefined. */
  take(cookie: string): RelayCircuit | undefined {
    const circ = this.waiting.get(cookie);
    if (!circ) return undefined;
    this.waiting.delete(cookie);
    circ.chatRole = null;
    return circ.closed ? undefined : circ;
  }

  forget(circ: RelayCircuit): void {
    const role = circ.chatRole;
    if (role?.kind === 'rendezvous' && this.waiting.get(role.key) === circ) this.waiting.delete(role.key);
  }

  private remember(cookie: string): void {
    this.used.add(cookie);
    if (this.used.size > this.maxCookies * 4) {
      const oldest = this.used.values().next().value as string;
      this.used.delete(oldest);
    }
  }
}
