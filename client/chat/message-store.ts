/**
 * The chat message store: contacts, per-contact history and conversation snapshots in the
 * profile directory (created 0700; every file 0600), so that nothing written is lost by a crash.
 *
 *   chat-journal.jsonl  append-only, one numbered JSON record per line, fsync'd before the call returns;
 *   chat-state.json     compaction: the records that rebuild everything up to record `upTo`, written
 *                       to a temporary file, fsync'd and renamed; then the journal is emptied (records
 *                       ≤ upTo that a crash in between leaves behind are skipped on replay);
 *   chat-store.lock     the pid of the process that has the store open.
 * Opening replays the journal over the state. A torn last line (a crash mid-write) is cut off with
 * a warning; other damage is CHAT_STORE_CORRUPT naming the file (skipping records would lose
 * messages). A second open, in this or another live process, is PROFILE_LOCKED; a lock left by a
 * dead pid is taken over. appendHistory / updateHistory may carry the conversation snapshot in the
 * same record, so a message and the sequence state covering it are durable together; appendHistory
 * ignores an id already there (a message the peer resent because we crashed before acknowledging).
 *
 * Not a database: all in memory, no queries beyond what the chat client needs, no encryption at
 * rest (the profile directory is private).
 */import {
  closeSync, fchmodSync, fdatasyncSync, fsyncSync, ftruncateSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { Conversation, type ConversationSnapshot } from '../../src/chat/conversation.js';
import { ChiveError, type ErrorCode, wrapErrors } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/io/key-files.js';
import { CHAT_MSG_ID_LEN } from '../../src/wire/constants.js';
import type { ContactState, DeliveryState, HistoryEntry } from './api.js';

export const JOURNAL_FILE = 'chat-journal.jsonl';
export const STATE_FILE = 'chat-state.json';
export const LOCK_FILE = 'chat-store.lock';
/** The journal is compacted into the state file once it grows past this many bytes. */
export const DEFAULT_COMPACT_AFTER_BYTES = 1024 * 1024;

export interface StoredContact {
  readonly address: string;
  readonly name: string;
  readonly state: ContactState;
  /** The contact's identity public key, hex, pinned when first learned. */
  readonly identity?: string;
  /** ms since the epoch when the contact was added or first introduced itself. */
  readonly addedAt: number;
  /** ms since the epoch when the conversation was last marked read. */
  readonly readAt?: number;
}

/** What updateHistory may change. `errorCode` is kept only while the state is 'failed'. */
export interface HistoryPatch {
  readonly state?: DeliveryState;
  readonly errorCode?: string;
  /** Only when the driver re-queues a message under a new seq. */
  readonly seq?: number;
  readonly at?: number;
}

export interface MessageStoreOptions {
  /** Clock for the state file's `savedAt` (default Date.now). */
  readonly now?: () => number;
  /** Told what was repaired on open: a torn journal line cut off, a stale lock taken over. */
  readonly onWarning?: (message: string) => void;
  /** Default DEFAULT_COMPACT_AFTER_BYTES. */
  readonly compactAfterBytes?: number;
}

type JournalRecord =
  | { n: number; t: 'contact'; c: StoredContact; s?: undefined }
  | { n: number; t: 'append'; a: string; e: HistoryEntry; s?: ConversationSnapshot }
  | { n: number; t: 'update'; a: string; id: string; p: HistoryPatch; s?: ConversationSnapshot }
  | { n: number; t: 'conv'; a: string; s: ConversationSnapshot };
/** A record before it is numbered (Omit distributed over the union). */
type RecordBody = JournalRecord extends infer R ? (R extends JournalRecord ? Omit<R, 'n'> : never) : never;

/** chat-state.json: everything up to journal record `upTo`, as the records that rebuild it (numbered 0). */
interface StateFile { v: 1; upTo: number; savedAt: number; records: JournalRecord[] }

const CONTACT_STATES: ReadonlySet<unknown> = new Set(['added', 'request', 'accepted', 'rejected', 'blocked']);
const DELIVERY_STATES: ReadonlySet<unknown> = new Set(['queued', 'sent', 'delivered', 'failed', 'received']);
const ID_PATTERN = new RegExp(`^[0-9a-f]{${2 * CHAT_MSG_ID_LEN}}$`);
const MAX_ADDRESS_LEN = 128;

export class MessageStore {
  private readonly contactsByAddress = new Map<string, StoredContact>();
  private readonly historyByAddress = new Map<string, HistoryEntry[]>();
  /** Per address: message id → position in its history. */
  private readonly positions = new Map<string, Map<string, number>>();
  private readonly conversations = new Map<string, ConversationSnapshot>();
  private lastRecord = 0;
  private journalBytes = 0;
  private journalFd: number | undefined;

  private constructor(private readonly dir: string, private readonly now: () => number, private readonly compactAfterBytes: number) {}

  /** Opens (creating if needed) the store in profile directory `dir`. */
  static open(dir: string, options: MessageStoreOptions = {}): MessageStore {
    const warn = options.onWarning ?? (() => {});
    const store = new MessageStore(dir, options.now ?? Date.now, options.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES);
    io(`cannot create ${dir}`, () => mkdirSync(dir, { recursive: true, mode: 0o700 }));
    acquireLock(dir, warn);
    try {
      store.load(warn);
      const path = join(dir, JOURNAL_FILE);
      store.journalFd = io(`cannot open ${path}`, () => { const fd = openSync(path, 'a', 0o600); fchmodSync(fd, 0o600); return fd; });
      if (store.journalBytes > store.compactAfterBytes) store.compact();
    } catch (e) {
      store.close();
      throw e;
    }
    return store;
  }

  contacts(): StoredContact[] { return [...this.contactsByAddress.values()].map((c) => ({ ...c })); }

  /** Adds or replaces the contact with `c.address`. */
  putContact(c: StoredContact): void {
    check('INVALID_ARGUMENT', () => validContact(c));
    this.write({ t: 'contact', c: { ...c } });
  }

  /** Appends `entry` (with `conversation` in the same record); false, saving only the snapshot, if its id is there. */
  appendHistory(address: string, entry: HistoryEntry, conversation?: ConversationSnapshot): boolean {
    check('INVALID_ARGUMENT', () => { validAddress(address); validEntry(entry); validSnapshot(conversation, true); });
    if (this.find(address, entry.id) !== undefined) {
      if (conversation) this.write({ t: 'conv', a: address, s: conversation });
      return false;
    }
    this.write({ t: 'append', a: address, e: { ...entry }, ...(conversation && { s: conversation }) });
    return true;
  }

  /** Changes the entry `id` of `address` (INVALID_ARGUMENT if there is none); returns the new entry. */
  updateHistory(address: string, id: string, patch: HistoryPatch, conversation?: ConversationSnapshot): HistoryEntry {
    check('INVALID_ARGUMENT', () => { validPatch(patch); validSnapshot(conversation, true); });
    if (this.find(address, id) === undefined) throw new ChiveError('INVALID_ARGUMENT', `no message ${id} in the history of ${address}`);
    this.write({ t: 'update', a: address, id, p: { ...patch }, ...(conversation && { s: conversation }) });
    return { ...this.find(address, id)! };
  }

  /** The history entry `id` of `address`, if any (a copy; a lookup, not a scan). */
  entry(address: string, id: string): HistoryEntry | undefined { const e = this.find(address, id); return e && { ...e }; }

  /** The last `limit` (default all) history entries of `address`, oldest first. */
  history(address: string, limit?: number): HistoryEntry[] {
    const all = this.historyByAddress.get(address) ?? [];
    const from = limit === undefined ? 0 : Math.max(0, all.length - Math.max(0, Math.floor(limit)));
    return all.slice(from).map((e) => ({ ...e }));
  }

  saveConversation(address: string, snapshot: ConversationSnapshot): void {
    check('INVALID_ARGUMENT', () => { validAddress(address); validSnapshot(snapshot); });
    this.write({ t: 'conv', a: address, s: snapshot });
  }

  conversation(address: string): ConversationSnapshot | undefined { return structuredClone(this.conversations.get(address)); }

  /** Writes the whole state to the state file and empties the journal (done automatically as it grows). */
  compact(): void {
    const fd = this.openFd();
    const records: JournalRecord[] = [...this.contactsByAddress.values()].map((c) => ({ n: 0, t: 'contact', c }));
    for (const [a, list] of this.historyByAddress) for (const e of list) records.push({ n: 0, t: 'append', a, e });
    for (const [a, s] of this.conversations) records.push({ n: 0, t: 'conv', a, s });
    const state: StateFile = { v: 1, upTo: this.lastRecord, savedAt: this.now(), records };
    io(`cannot write ${join(this.dir, STATE_FILE)}`, () => {
      writeFileAtomic(join(this.dir, STATE_FILE), JSON.stringify(state), 0o600); // temporary file, fsync, rename
      withFd(this.dir, 'r', fsyncSync); // the rename itself
      ftruncateSync(fd, 0);
      fsyncSync(fd);
    });
    this.journalBytes = 0;
  }

  /** Closes the journal and releases the lock. Idempotent; the store is unusable afterwards. */
  close(): void {
    if (this.journalFd === -1) return;
    if (this.journalFd !== undefined) closeSync(this.journalFd);
    this.journalFd = -1;
    releaseLock(join(this.dir, LOCK_FILE));
  }

  // The journal and the state in memory

  private openFd(): number {
    if (this.journalFd === undefined || this.journalFd < 0) throw new ChiveError('INVALID_ARGUMENT', 'the message store is closed');
    return this.journalFd;
  }

  private find(address: string, id: string): HistoryEntry | undefined {
    const i = this.positions.get(address)?.get(id);
    return i === undefined ? undefined : this.historyByAddress.get(address)![i];
  }

  /** Appends one record, fsync'd, then applies it to memory; compacts when the journal is large. */
  private write(body: RecordBody): void {
    const fd = this.openFd();
    const record = { n: this.lastRecord + 1, ...body } as JournalRecord;
    const line = Buffer.from(`${JSON.stringify(record)}\n`);
    io(`cannot write ${join(this.dir, JOURNAL_FILE)}`, () => {
      try {
        writeAll(fd, line);
        fdatasyncSync(fd);
      } catch (e) {
        ftruncateSync(fd, this.journalBytes); // leave no torn line before the next record
        throw e;
      }
    });
    this.journalBytes += line.length;
    this.apply(record);
    if (this.journalBytes > this.compactAfterBytes) this.compact();
  }

  private apply(r: JournalRecord): void {
    switch (r.t) {
      case 'contact':
        this.contactsByAddress.set(r.c.address, r.c);
        break;
      case 'append':
        if (this.find(r.a, r.e.id) === undefined) this.addEntry(r.a, r.e);
        break;
      case 'update': {
        const i = this.positions.get(r.a)?.get(r.id);
        if (i === undefined) throw new ChiveError('CHAT_STORE_CORRUPT', `record ${r.n} updates unknown message ${r.id}`);
        const list = this.historyByAddress.get(r.a)!;
        const { errorCode, ...rest }: HistoryEntry = { ...list[i]!, ...r.p };
        list[i] = rest.state === 'failed' && errorCode !== undefined ? { ...rest, errorCode } : rest;
        break;
      }
    }
    if (r.s !== undefined) this.conversations.set(r.a, r.s);
    this.lastRecord = Math.max(this.lastRecord, r.n);
  }

  private addEntry(address: string, entry: HistoryEntry): void {
    const list = this.historyByAddress.get(address) ?? [];
    const positions = this.positions.get(address) ?? new Map<string, number>();
    positions.set(entry.id, list.push(entry) - 1);
    this.historyByAddress.set(address, list);
    this.positions.set(address, positions);
  }

  private load(warn: (message: string) => void): void {
    const statePath = join(this.dir, STATE_FILE);
    const stateText = readIfExists(statePath);
    if (stateText !== undefined) {
      check('CHAT_STORE_CORRUPT', () => {
        const state = JSON.parse(stateText) as StateFile;
        if (!isObject(state) || state.v !== 1 || !isTime(state.upTo) || !Array.isArray(state.records)) fail('not a version 1 chat state');
        for (const r of state.records) this.apply(validRecord(r));
        this.lastRecord = state.upTo;
      }, statePath);
    }
    const path = join(this.dir, JOURNAL_FILE);
    const lines = (readIfExists(path) ?? '').split('\n');
    if (lines.at(-1) === '') lines.pop(); // the newline that ends the last record
    let good = 0; // bytes up to the end of the last good line
    for (const [i, line] of lines.entries()) {
      let record: JournalRecord;
      try {
        record = validRecord(JSON.parse(line));
      } catch (e) {
        if (i < lines.length - 1) throw new ChiveError('CHAT_STORE_CORRUPT', `${path}: line ${i + 1} is damaged: ${(e as Error).message}`, { cause: e });
        warn(`${path}: cut off a torn last record (${Buffer.byteLength(line)} bytes), left by a crash while writing`);
        io(`cannot repair ${path}`, () => withFd(path, 'r+', (fd) => { ftruncateSync(fd, good); fsyncSync(fd); }));
        break;
      }
      if (record.n > this.lastRecord || record.n === 0) {
        if (record.n !== this.lastRecord + 1) {
          throw new ChiveError('CHAT_STORE_CORRUPT', `${path}: line ${i + 1} is record ${record.n}, expected ${this.lastRecord + 1} (records are missing)`);
        }
        check('CHAT_STORE_CORRUPT', () => this.apply(record), `${path}: line ${i + 1}`);
      }
      good += Buffer.byteLength(line) + 1;
    }
    this.journalBytes = good;
  }
}

// Validation: the same checks for the caller's values (INVALID_ARGUMENT) and for what is read
// back from disk (CHAT_STORE_CORRUPT). Each throws naming the problem.

function check<T>(code: ErrorCode, fn: () => T, where?: string): T {
  try {
    return fn();
  } catch (e) {
    throw new ChiveError(code, `${where === undefined ? '' : `${where}: `}${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

function fail(why: string): never { throw new Error(why); }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function validAddress(a: unknown): void {
  if (typeof a !== 'string' || a.length === 0 || a.length > MAX_ADDRESS_LEN) fail(`bad address ${JSON.stringify(a)}`);
}

function validContact(c: unknown): void {
  if (!isObject(c)) fail('a contact must be an object');
  validAddress(c.address);
  if (typeof c.name !== 'string') fail('a contact name must be a string');
  if (!CONTACT_STATES.has(c.state)) fail(`bad contact state ${JSON.stringify(c.state)}`);
  if (c.identity !== undefined && (typeof c.identity !== 'string' || !/^[0-9a-f]{64}$/.test(c.identity))) fail('a pinned identity is 32 bytes of hex');
  if (!isTime(c.addedAt) || (c.readAt !== undefined && !isTime(c.readAt))) fail('bad contact time');
}

function validEntry(e: unknown): void {
  if (!isObject(e)) fail('a history entry must be an object');
  if (typeof e.id !== 'string' || !ID_PATTERN.test(e.id)) fail(`a message id is ${CHAT_MSG_ID_LEN} bytes of lowercase hex`);
  if (e.direction !== 'in' && e.direction !== 'out') fail('direction must be in or out');
  if (typeof e.text !== 'string') fail('text must be a string');
  if (!isTime(e.seq) || !isTime(e.at) || !DELIVERY_STATES.has(e.state)) fail('bad seq, time or state');
  validPatch({ errorCode: e.errorCode });
}

function validPatch(p: unknown): void {
  if (!isObject(p)) fail('a history patch must be an object');
  if (p.state !== undefined && !DELIVERY_STATES.has(p.state)) fail(`bad delivery state ${JSON.stringify(p.state)}`);
  if (p.errorCode !== undefined && typeof p.errorCode !== 'string') fail('errorCode must be a string');
  if ((p.seq !== undefined && !isTime(p.seq)) || (p.at !== undefined && !isTime(p.at))) fail('seq and at must be non-negative integers');
}

/** Conversation.restore checks every invariant (CHAT_STORE_CORRUPT naming the problem). */
function validSnapshot(s: unknown, optional = false): void {
  if (!(optional && s === undefined)) Conversation.restore(s as ConversationSnapshot);
}

function validRecord(r: unknown): JournalRecord {
  if (!isObject(r) || !isTime(r.n)) fail('not a numbered journal record');
  validSnapshot(r.s, r.t !== 'conv');
  if (r.t === 'contact') validContact(r.c);
  else if (r.t === 'append') { validAddress(r.a); validEntry(r.e); }
  else if (r.t === 'update') { validAddress(r.a); validPatch(r.p); if (typeof r.id !== 'string') fail('update without an id'); }
  else if (r.t === 'conv') validAddress(r.a);
  else fail(`unknown record type ${JSON.stringify(r.t)}`);
  return r as unknown as JournalRecord;
}

// Files and the lock

function io<T>(what: string, fn: () => T): T {
  return wrapErrors('CHAT_STORE_FAILED', what, fn);
}

function writeAll(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
}

function withFd(path: string, flags: string, fn: (fd: number) => void): void {
  const fd = openSync(path, flags, 0o600);
  try { fn(fd); } finally { closeSync(fd); }
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : io(`cannot read ${path}`, () => { throw e; });
  }
}

function pidAlive(pid: number): boolean {
  try {
    return Number.isSafeInteger(pid) && pid > 0 && process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

/**
 * Creates the lock file holding our pid: written whole to a temporary file, then hard-linked
 * into place (atomic, and fails if a lock exists). A lock whose pid is not running is
 * removed and the link retried once.
 */
function acquireLock(dir: string, warn: (message: string) => void): void {
  const path = join(dir, LOCK_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  io(`cannot write ${tmp}`, () => withFd(tmp, 'w', (fd) => { writeAll(fd, Buffer.from(`${process.pid}\n`)); fsyncSync(fd); }));
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, path);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') io(`cannot create ${path}`, () => { throw e; });
      }
      const holder = Number.parseInt(readIfExists(path) ?? '', 10);
      if (attempt > 0 || pidAlive(holder)) {
        throw new ChiveError('PROFILE_LOCKED', `the chat profile ${dir} is in use by process ${holder} (close the other chive first)`);
      }
      warn(`${path}: taking over a stale lock of process ${Number.isNaN(holder) ? '?' : holder}, which is not running`);
      io(`cannot remove ${path}`, () => unlinkSync(path));
    }
  } finally {
    try { unlinkSync(tmp); } catch { /* already gone */ }
  }
}

/** Removes the lock file if it is still ours. */
function releaseLock(path: string): void {
  try { if (Number.parseInt(readFileSync(path, 'utf8'), 10) === process.pid) unlinkSync(path); } catch { /* no lock to release */ }
}
