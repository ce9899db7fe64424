/**
 * The chat client: one profile's contacts and conversations over the chive network, the
 * implementation of ChatApi (client/chat/api.ts) that the headless mode, the ink UI and
 * the load generator share.
 *
 * It decides; the pieces act: IntroService keeps us reachable, PeerConnector reaches a
 * peer, answerIntroduction answers one, ChatSession carries frames, Conversation
 * (src/chat/conversation.ts) guarantees exactly-once in-order delivery, MessageStore makes
 * every step durable before it is acknowledged. Contact rules: an introduction from an
 * unknown address becomes a request (no rendezvous until accepted); rejected and blocked
 * addresses are ignored; a contact we added is accepted when they introduce themselves.
 * One session per contact: when two exist (both sides connected at once) the one
 * introduced by the lower address survives, on both ends.
 *
 * Not the transport of frames (session.ts), the contact-request UI, or the JSON lines.
 */
import { randomBytes } from 'node:crypto';
import { toHex } from '../../src/bytes.js';
import { decodeChatAddress, encodeChatAddress, shortAddress } from '../../src/chat/address.js';
import { Conversation } from '../../src/chat/conversation.js';
import type { IntroductionPlain } from '../../src/chat/introduce.js';
import { loadCryptoProvider } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { ChiveError, isChiveError } from '../../src/errors.js';
import type { NetworkConfig } from '../../src/io/network-file.js';
import type { ClientCircuit } from '../circuit.js';
import { ChiveClient, type BootstrapStage } from '../client.js';
import type { ChatApi, ChatEventName, ChatEvents, ChatListener, ChatStatus, CircuitView, ContactView, HistoryEntry } from './api.js';
import { DEFAULT_CHAT_TIMINGS, type ChatContext, type ChatLog, type ChatTimings } from './chat-context.js';
import { PeerConnector } from './connector.js';
import { IntroService } from './intro-service.js';
import { MessageStore, type StoredContact } from './message-store.js';
import { openChatProfile, type ChatProfile } from './profile.js';
import { answerIntroduction } from './rendezvous-responder.js';
import { ContactSessions, type Contact } from './contact-sessions.js';
import { Retrier } from './retrier.js';

export interface ChatClientOptions {
  readonly profileDir: string;
  readonly network: NetworkConfig;
  /** Our name, sent to contacts in HELLO (default: none). */
  readonly name?: string;
  readonly provider?: CryptoProvider;
  readonly timings?: Partial<ChatTimings>;
  readonly log?: ChatLog;
  /** Relays never used as guard or middle (Tor's ExcludeNodes). */
  readonly excludeRelays?: readonly Uint8Array[];
}

/** How long start() keeps retrying a network that is not ready yet. */
const START_RETRY_MS = 30_000;

export class ChatClient implements ChatApi {
  readonly address: string;
  private readonly profile: ChatProfile;
  private readonly provider: CryptoProvider;
  private readonly store: MessageStore;
  private readonly contactsByAddress = new Map<string, Contact>();
  private readonly listeners = new Map<ChatEventName, Set<(p: never) => void>>();
  private readonly ctx: ChatContext;
  private readonly connector: PeerConnector;
  private readonly intro: IntroService;
  private readonly sessions: ContactSessions;
  private stage: BootstrapStage | 'starting' = 'starting';
  private bootstrapMs = 0;
  private closed = false;
  private started = false;

  constructor(private readonly options: ChatClientOptions) {
    this.provider = options.provider ?? loadCryptoProvider();
    this.profile = openChatProfile(this.provider, options.profileDir);
    this.address = this.profile.address;
    this.store = MessageStore.open(this.profile.storeDir, { onWarning: (m) => this.log('warn', m) });
    const client = new ChiveClient({
      network: options.network,
      dataDir: this.profile.clientDir,
      provider: this.provider,
      preemptiveCircuits: 1,
      stubCircuits: 3,
      excludeRelays: options.excludeRelays,
      onProgress: (p) => {
        // The circuit client's 'ready' is not ours: we are ready once reachable (start() emits it).
        if (p.stage === 'ready') return;
        this.stage = p.stage;
        this.emit('progress', { stage: p.stage, elapsedMs: p.elapsedMs });
      },
      log: (level, message, fields) => this.log(level, message, fields),
    });
    this.ctx = {
      client,
      provider: this.provider,
      rng: (n) => this.provider.randomBytes(n),
      profile: this.profile,
      now: Date.now,
      timings: { ...DEFAULT_CHAT_TIMINGS, ...options.timings },
      log: (level, message, fields) => this.log(level, message, fields),
    };
    this.connector = new PeerConnector(this.ctx);
    this.sessions = new ContactSessions({
      store: this.store,
      provider: this.provider,
      name: options.name ?? '',
      isClosed: () => this.closed,
      emit: (event, payload) => this.emit(event, payload),
      log: (level, message, fields) => this.log(level, message, fields),
      changed: (c) => this.emit('contact', this.view(c)),
      rename: (c, name) => this.saveRecord(c, { name }),
      reconnect: (c) => {
        if (this.hasOutgoing(c)) this.connect(c);
      },
    });
    this.intro = new IntroService(this.ctx, (i) => this.onIntroduction(i), () => this.emit('status', this.status()));
    for (const record of this.store.contacts()) this.loadContact(record);
  }

  // --- ChatApi ---------------------------------------------------------------------------

  on<K extends ChatEventName>(event: K, listener: ChatListener<K>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (p: never) => void);
    return () => set!.delete(listener as (p: never) => void);
  }

  async start(): Promise<{ bootstrapMs: number }> {
    this.checkOpen();
    if (this.started) throw new ChiveError('INVALID_ARGUMENT', 'the chat client is already started');
    this.started = true;
    const t0 = performance.now();
    await this.retryWhileNetworkFails('bootstrap', async () => {
      if (this.ctx.client.consensus.current() === null) await this.ctx.client.bootstrap();
      else (await this.ctx.client.buildCircuit({})).destroy();
    });
    await this.retryWhileNetworkFails('introduction points', () => this.intro.start());
    this.bootstrapMs = performance.now() - t0;
    this.stage = 'ready';
    this.emit('ready', { bootstrapMs: this.bootstrapMs });
    for (const c of this.contactsByAddress.values()) if (this.hasOutgoing(c)) this.connect(c);
    return { bootstrapMs: this.bootstrapMs };
  }

  /**
   * Runs `step`, again after 0.5, 1, 2, 4 … s while it fails for a network reason (relays
   * that have not yet fetched the newest consensus refuse to extend to new relays), for up
   * to START_RETRY_MS; other errors and the last failure are thrown.
   */
  private async retryWhileNetworkFails(what: string, step: () => Promise<void>): Promise<void> {
    const t0 = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await step();
      } catch (e) {
        if (this.closed || !isChiveError(e) || e.fault !== 'network' || performance.now() - t0 > START_RETRY_MS) throw e;
        this.log('warn', `${what} failed; retrying`, { code: e.code });
        await new Promise((r) => setTimeout(r, Math.min(4_000, 500 * 2 ** attempt)));
      }
    }
  }

  addContact(address: string, name?: string): ContactView {
    this.checkOpen();
    const identity = decodeChatAddress(this.provider, address);
    const canonical = encodeChatAddress(this.provider, identity);
    if (canonical === this.address) throw new ChiveError('INVALID_ARGUMENT', 'that is our own address');
    let c = this.contactsByAddress.get(canonical);
    if (c) {
      if (c.record.state === 'request') {
        if (name) c.record = { ...c.record, name };
        return this.accept(canonical);
      }
      this.saveRecord(c, name ? { name } : {});
      return this.view(c);
    }
    c = this.loadContact({ address: canonical, name: name ?? '', state: 'added', identity: toHex(identity), addedAt: Date.now() });
    this.store.putContact(c.record);
    this.emit('contact', this.view(c));
    if (this.started) this.connect(c);
    return this.view(c);
  }

  accept(address: string): ContactView {
    const c = this.contact(address);
    this.saveRecord(c, { state: 'accepted' });
    if (this.started) this.connect(c);
    return this.view(c);
  }

  reject(address: string): ContactView {
    const c = this.contact(address);
    this.saveRecord(c, { state: 'rejected' });
    c.session?.close();
    return this.view(c);
  }

  block(address: string): ContactView {
    const c = this.contact(address);
    this.saveRecord(c, { state: 'blocked' });
    c.session?.close();
    return this.view(c);
  }

  rename(address: string, name: string): ContactView {
    const c = this.contact(address);
    this.saveRecord(c, { name });
    return this.view(c);
  }

  send(to: string, text: string): { id: string; seq: number } {
    const c = this.contact(to);
    if (c.record.state === 'blocked' || c.record.state === 'rejected' || c.record.state === 'request') {
      throw new ChiveError('NOT_A_CONTACT', `cannot send to a contact that is ${c.record.state}${c.record.state === 'request' ? ' (accept it first)' : ''}`);
    }
    const idBytes = new Uint8Array(randomBytes(16));
    const now = Date.now();
    const { seq } = c.conversation.queue(text, idBytes, now);
    const id = toHex(idBytes);
    this.store.appendHistory(c.record.address, { id, direction: 'out', text, seq, at: now, state: 'queued' }, c.conversation.snapshot());
    c.lastActivityAt = now;
    c.retrier.reset();
    // After returning: the caller hears "queued" (its id) before "sent".
    queueMicrotask(() => this.sessions.pump(c));
    return { id, seq };
  }

  retry(id: string): void {
    for (const c of this.contactsByAddress.values()) {
      const entry = this.store.history(c.record.address).find((h) => h.id === id);
      if (!entry) continue;
      if (entry.direction !== 'out' || entry.state !== 'failed') throw new ChiveError('INVALID_ARGUMENT', `message ${id} has not failed`);
      this.store.updateHistory(c.record.address, id, { state: 'queued', errorCode: undefined });
      c.retrier.reset();
      this.sessions.pump(c);
      return;
    }
    throw new ChiveError('INVALID_ARGUMENT', `no message ${id}`);
  }

  contacts(): ContactView[] {
    return [...this.contactsByAddress.values()].map((c) => this.view(c));
  }

  history(address: string, limit?: number): HistoryEntry[] {
    return this.store.history(this.contact(address).record.address, limit);
  }

  markRead(address: string): void {
    const c = this.contact(address);
    if (c.unread !== 0) {
      c.unread = 0;
      this.saveRecord(c, { readAt: Date.now() });
    }
  }

  circuits(): CircuitView[] {
    const views: CircuitView[] = this.intro.circuits().map((circuit) => ({ purpose: 'intro' as const, ...hopsOf(circuit) }));
    for (const c of this.contactsByAddress.values()) {
      const s = c.session;
      if (!s?.open) continue;
      views.push({ purpose: 'rendezvous', contact: c.record.address, ...hopsOf(s.circuit), rttMs: s.rttMs });
    }
    return views;
  }

  async newCircuits(): Promise<void> {
    for (const c of this.contactsByAddress.values()) {
      if (!c.session?.open) continue;
      c.session.close();
      // Whoever was online is reached again on fresh circuits (unacknowledged messages are resent there).
      c.retrier.reset();
      this.connect(c);
    }
  }

  status(): ChatStatus {
    const rtts = [...this.contactsByAddress.values()].map((c) => c.session?.rttMs).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    return {
      stage: this.stage === 'starting' ? 'consensus' : this.stage,
      bootstrapMs: this.bootstrapMs,
      introPoints: { up: this.intro.up, wanted: this.ctx.timings.introPoints },
      publishedAt: this.intro.publishedAt,
      rttMs: rtts.length ? rtts[Math.floor(rtts.length / 2)] : undefined,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.contactsByAddress.values()) {
      c.retrier.stop();
      c.session?.close();
    }
    this.intro.close();
    await this.ctx.client.close();
    this.store.close();
  }

  // --- connecting ------------------------------------------------------------------------

  /** Starts (or lets run) a connection to `c` when one is worth making. */
  private connect(c: Contact): void {
    if (this.closed || !this.started || (c.session?.open ?? false)) return;
    if (c.record.state !== 'accepted' && c.record.state !== 'added') return;
    c.retrier.run(async () => {
      if (this.closed || (c.session?.open ?? false)) return;
      const { timing } = await this.connector.connect(c.identity, (circuit, keys) => this.sessions.adopt(c, circuit, keys, 'sender', this.address, true));
      this.log('debug', 'connected to a contact', { descriptorMs: round1(timing.descriptorMs), introduceMs: round1(timing.introduceMs), rendezvousMs: round1(timing.rendezvousMs), totalMs: round1(timing.totalMs) });
    });
  }

  private onIntroduction(intro: IntroductionPlain): void {
    if (this.closed) return;
    const address = encodeChatAddress(this.provider, intro.senderIdentityPub);
    let c = this.contactsByAddress.get(address);
    if (!c) {
      c = this.loadContact({ address, name: '', state: 'request', identity: toHex(intro.senderIdentityPub), addedAt: Date.now() });
      this.store.putContact(c.record);
      this.emit('request', { from: address });
      this.emit('contact', this.view(c));
      return;
    }
    const state = c.record.state;
    if (state === 'request' || state === 'rejected' || state === 'blocked') return;
    if (state === 'added') this.saveRecord(c, { state: 'accepted' });
    const contact = c;
    answerIntroduction(this.ctx, intro, (circuit, keys) => this.sessions.adopt(contact, circuit, keys, 'receiver', address, false)).then(
      (session) => this.sessions.sendHello(contact, session),
      (e) => this.log('warn', 'could not answer an introduction', { code: codeOf(e) }),
    );
  }

  /** Circuit builds and failures of the network client since start (for load tests). */
  networkStats(): { builds: number; buildFailures: number; buildTimeouts: number } {
    return { ...this.ctx.client.stats };
  }

  /** Measures the end-to-end round trip with `address` now (PEER_UNREACHABLE without a session). */
  measureRtt(address: string, timeoutMs = 5_000): Promise<number> {
    return this.sessions.measureRtt(this.contact(address), timeoutMs);
  }

  // --- contacts ----------------------------------------------------------------------------

  private loadContact(record: StoredContact): Contact {
    const identity = decodeChatAddress(this.provider, record.address);
    const snapshot = this.store.conversation(record.address);
    const c: Contact = {
      record,
      identity,
      conversation: snapshot ? Conversation.restore(snapshot) : new Conversation(),
      session: null,
      unread: 0,
      lastActivityAt: 0,
      helloReceived: false,
      retrier: new Retrier({
        onGiveUp: (e) => this.failQueued(c, e),
        log: (m, code) => this.log('info', m, { code }),
      }),
    };
    const history = this.store.history(record.address);
    c.lastActivityAt = history.at(-1)?.at ?? 0;
    c.unread = history.filter((h) => h.direction === 'in' && h.at > (record.readAt ?? 0)).length;
    this.contactsByAddress.set(record.address, c);
    return c;
  }

  private contact(address: string): Contact {
    this.checkOpen();
    const identity = decodeChatAddress(this.provider, address);
    const c = this.contactsByAddress.get(encodeChatAddress(this.provider, identity));
    if (!c) throw new ChiveError('NOT_A_CONTACT', `${shortAddress(address)} is not a contact (add it first)`);
    return c;
  }

  private saveRecord(c: Contact, patch: Partial<StoredContact>): void {
    c.record = { ...c.record, ...patch };
    this.store.putContact(c.record);
    this.emit('contact', this.view(c));
  }

  private hasOutgoing(c: Contact): boolean {
    return c.conversation.pending().length > 0 && (c.record.state === 'accepted' || c.record.state === 'added');
  }

  /** The retrier gave up: every message still waiting is marked failed (kept, resent on /retry or the next session). */
  private failQueued(c: Contact, e: unknown): void {
    const code = codeOf(e);
    const message = e instanceof Error ? e.message : String(e);
    for (const p of c.conversation.pending()) {
      const id = toHex(p.id);
      const entry = this.store.entry(c.record.address, id);
      if (!entry || entry.state === 'failed' || entry.state === 'delivered') continue;
      this.store.updateHistory(c.record.address, id, { state: 'failed', errorCode: code });
      this.emit('failed', { id, to: c.record.address, code, message });
    }
  }

  private view(c: Contact): ContactView {
    const r = c.record;
    return { address: r.address, name: r.name || shortAddress(r.address), state: r.state, online: c.session?.open ?? false, unread: c.unread, lastActivityAt: c.lastActivityAt };
  }


  private emit<K extends ChatEventName>(event: K, payload: ChatEvents[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const l of [...set]) {
      try {
        (l as ChatListener<K>)(payload);
      } catch (e) {
        this.log('error', 'a chat event listener threw', { event, error: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void {
    this.options.log?.(level, message, fields);
  }

  private checkOpen(): void {
    if (this.closed) throw new ChiveError('CHAT_CLOSED', 'the chat client is closed');
  }
}

function hopsOf(circuit: ClientCircuit): Pick<CircuitView, 'hops' | 'buildMs'> {
  return { hops: circuit.hops.map((h, i) => ({ nickname: h.nickname ?? `hop${i + 1}`, ms: circuit.hopTimesMs[i] ?? 0 })), buildMs: circuit.buildMs };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function codeOf(e: unknown): string {
  return isChiveError(e) ? e.code : 'INTERNAL';
}
