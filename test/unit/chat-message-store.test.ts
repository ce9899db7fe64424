/**
 * The chat message store (client/chat/message-store.ts) on real temporary directories:
 * contacts, history and conversation snapshots survive close / reopen, compaction and crashes
 * (a torn last journal line, a crash between the state file's rename and the journal's
 * truncation, a process that dies without closing); files are 0600 in a 0700 directory; a
 * second open is refused while the holder lives, and a dead holder's lock is taken over.
 * No crypto: no provider loop.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../client/chat/api.js';
import { JOURNAL_FILE, LOCK_FILE, MessageStore, STATE_FILE, type StoredContact } from '../../client/chat/message-store.js';
import { Conversation } from '../../src/chat/conversation.js';
import { expectChiveError, thrownChiveError } from '../vectors/wire/assert.js';

const ALICE = 'chive1alice';
const BOB = 'chive1bob';
const T0 = 1_700_000_000_000;
const open: MessageStore[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

function profile(): string {
  return join(mkdtempSync(join(tmpdir(), 'chive-store-')), 'profile');
}
function openStore(dir: string, options: Parameters<typeof MessageStore.open>[1] = {}): MessageStore {
  const s = MessageStore.open(dir, options);
  open.push(s);
  return s;
}
const id = (n: number) => n.toString(16).padStart(32, '0');
function entry(n: number, over: Partial<HistoryEntry> = {}): HistoryEntry {
  return { id: id(n), direction: 'out', text: `message ${n}`, seq: n, at: T0 + n, state: 'queued', ...over };
}
const contact = (address: string, over: Partial<StoredContact> = {}): StoredContact =>
  ({ address, name: address.slice(6), state: 'accepted', addedAt: T0, ...over });
const modeOf = (path: string) => statSync(path).mode & 0o777;

/** A conversation with two messages queued and one received, as a snapshot. */
function conversationSnapshot() {
  const c = new Conversation();
  c.queue('first', new Uint8Array(16).fill(1), T0);
  c.queue('second', new Uint8Array(16).fill(2), T0);
  c.onFrame({ kind: 'MSG', msgId: new Uint8Array(16).fill(9), seq: 1, fragIndex: 0, fragCount: 1, sentAt: T0, fragment: Uint8Array.of(0x68) }, T0);
  return c.snapshot();
}

/** Fills a store with a little of everything; returns what it should read back. */
function fill(s: MessageStore) {
  s.putContact(contact(ALICE));
  s.putContact(contact(BOB, { state: 'request', identity: 'ab'.repeat(32) }));
  s.putContact(contact(ALICE, { name: 'Alice', readAt: T0 + 5 }));
  for (let n = 1; n <= 5; n++) s.appendHistory(ALICE, entry(n));
  s.appendHistory(BOB, entry(100, { direction: 'in', state: 'received' }));
  s.updateHistory(ALICE, id(1), { state: 'delivered' });
  s.updateHistory(ALICE, id(2), { state: 'failed', errorCode: 'PEER_UNREACHABLE' });
  const snapshot = conversationSnapshot();
  s.saveConversation(ALICE, snapshot);
  return { contacts: s.contacts(), alice: s.history(ALICE), bob: s.history(BOB), snapshot };
}

function expectSame(s: MessageStore, want: ReturnType<typeof fill>): void {
  expect(s.contacts()).toEqual(want.contacts);
  expect(s.history(ALICE)).toEqual(want.alice);
  expect(s.history(BOB)).toEqual(want.bob);
  expect(s.conversation(ALICE)).toEqual(want.snapshot);
}

describe('MessageStore: contents', () => {
  it('keeps contacts, history and snapshots, and reads them back after close / reopen', () => {
    const dir = profile();
    const s = openStore(dir);
    const want = fill(s);
    expect(want.contacts).toEqual([contact(ALICE, { name: 'Alice', readAt: T0 + 5 }), contact(BOB, { state: 'request', identity: 'ab'.repeat(32) })]);
    expect(want.alice.map((e) => e.state)).toEqual(['delivered', 'failed', 'queued', 'queued', 'queued']);
    expect(want.alice[1]).toEqual(entry(2, { state: 'failed', errorCode: 'PEER_UNREACHABLE' }));
    s.close();
    const again = openStore(dir);
    expectSame(again, want);
    expect(Conversation.restore(again.conversation(ALICE)!).snapshot()).toEqual(want.snapshot);
    expect(again.conversation(BOB)).toBeUndefined();
  });

  it('history(limit) gives the most recent entries, oldest first; results are copies', () => {
    const s = openStore(profile());
    for (let n = 1; n <= 5; n++) s.appendHistory(ALICE, entry(n));
    expect(s.history(ALICE, 2).map((e) => e.seq)).toEqual([4, 5]);
    expect(s.history(ALICE, 0)).toEqual([]);
    expect(s.history(ALICE, 99)).toHaveLength(5);
    expect(s.history('chive1nobody')).toEqual([]);
    (s.history(ALICE)[0] as { text: string }).text = 'changed';
    expect(s.history(ALICE)[0]!.text).toBe('message 1');
  });

  it('ignores an id already in the history but still saves the snapshot given with it', () => {
    const dir = profile();
    const s = openStore(dir);
    expect(s.appendHistory(ALICE, entry(1, { direction: 'in', state: 'received' }))).toBe(true);
    const snapshot = conversationSnapshot();
    expect(s.appendHistory(ALICE, entry(1, { direction: 'in', state: 'received', text: 'again' }), snapshot)).toBe(false);
    expect(s.history(ALICE)).toEqual([entry(1, { direction: 'in', state: 'received' })]);
    expect(s.conversation(ALICE)).toEqual(snapshot);
    s.close();
    expect(openStore(dir).conversation(ALICE)).toEqual(snapshot);
  });

  it('keeps an errorCode only while the entry has failed; a retry may change its seq', () => {
    const s = openStore(profile());
    s.appendHistory(ALICE, entry(1));
    expect(s.updateHistory(ALICE, id(1), { state: 'failed', errorCode: 'PEER_UNREACHABLE' }).errorCode).toBe('PEER_UNREACHABLE');
    const retried = s.updateHistory(ALICE, id(1), { state: 'queued', seq: 7 });
    expect(retried).toEqual(entry(1, { seq: 7 }));
    expect('errorCode' in retried).toBe(false);
    expect(s.entry(ALICE, id(1))).toEqual(retried);
    expect(s.entry(ALICE, id(99))).toBeUndefined();
    expect(s.entry(BOB, id(1))).toBeUndefined();
  });

  it('refuses bad arguments with INVALID_ARGUMENT and writes nothing', () => {
    const dir = profile();
    const s = openStore(dir);
    expectChiveError(() => s.appendHistory(ALICE, entry(1, { id: 'not-hex' })), 'INVALID_ARGUMENT');
    expectChiveError(() => s.appendHistory('', entry(1)), 'INVALID_ARGUMENT');
    expectChiveError(() => s.appendHistory(ALICE, entry(1, { state: 'lost' as never })), 'INVALID_ARGUMENT');
    expectChiveError(() => s.updateHistory(ALICE, id(1), { state: 'sent' }), 'INVALID_ARGUMENT');
    expectChiveError(() => s.putContact(contact(ALICE, { state: 'friend' as never })), 'INVALID_ARGUMENT');
    expectChiveError(() => s.saveConversation(ALICE, { v: 1, nextSeq: 1, ackedUpTo: 5, receivedUpTo: 0, outbox: [] }), 'INVALID_ARGUMENT');
    expect(readFileSync(join(dir, JOURNAL_FILE), 'utf8')).toBe('');
    s.close();
    expectChiveError(() => s.putContact(contact(ALICE)), 'INVALID_ARGUMENT');
    s.close(); // idempotent
  });
});

describe('MessageStore: files', () => {
  it('creates the profile directory 0700 and every file 0600', () => {
    const dir = profile();
    const s = openStore(dir, { compactAfterBytes: 200 });
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(join(dir, LOCK_FILE))).toBe(0o600);
    fill(s);
    expect(existsSync(join(dir, STATE_FILE))).toBe(true);
    for (const f of [JOURNAL_FILE, STATE_FILE, LOCK_FILE]) expect(modeOf(join(dir, f))).toBe(0o600);
    s.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('writes every call to the journal before returning, one JSON record per line', () => {
    const dir = profile();
    const s = openStore(dir);
    s.putContact(contact(ALICE));
    s.appendHistory(ALICE, entry(1));
    const lines = readFileSync(join(dir, JOURNAL_FILE), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { n: number; t: string });
    expect(lines.map((r) => [r.n, r.t])).toEqual([[1, 'contact'], [2, 'append']]);
  });

  it('compacts into the state file as the journal grows, and reads the same back', () => {
    const dir = profile();
    const s = openStore(dir, { compactAfterBytes: 300 });
    const want = fill(s);
    expect(existsSync(join(dir, STATE_FILE))).toBe(true);
    expect(statSync(join(dir, JOURNAL_FILE)).size).toBeLessThanOrEqual(300);
    s.close();
    const again = openStore(dir);
    expectSame(again, want);
    again.compact(); // everything in the state file, nothing in the journal
    again.close();
    expect(statSync(join(dir, JOURNAL_FILE)).size).toBe(0);
    expectSame(openStore(dir), want);
  });
});

describe('MessageStore: crashes', () => {
  it('cuts off a torn last line with a warning, keeps everything before it, and goes on', () => {
    const dir = profile();
    const s = openStore(dir);
    const want = fill(s);
    s.close();
    const journal = join(dir, JOURNAL_FILE);
    const before = readFileSync(journal, 'utf8');
    appendFileSync(journal, '{"n":99,"t":"append","a":"chive1alice","e":{"id":"00');
    const warnings: string[] = [];
    const again = openStore(dir, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/torn last record/);
    expectSame(again, want);
    expect(readFileSync(journal, 'utf8')).toBe(before);
    again.appendHistory(ALICE, entry(6));
    again.close();
    const third = openStore(dir, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(third.history(ALICE).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('treats a zero-filled tail (data not yet written when the machine stopped) as torn', () => {
    const dir = profile();
    const s = openStore(dir);
    const want = fill(s);
    s.close();
    appendFileSync(join(dir, JOURNAL_FILE), Buffer.alloc(64));
    const warnings: string[] = [];
    expectSame(openStore(dir, { onWarning: (m) => warnings.push(m) }), want);
    expect(warnings).toHaveLength(1);
  });

  it('refuses a journal damaged before its last line, or with records missing (CHAT_STORE_CORRUPT)', () => {
    const dir = profile();
    const s = openStore(dir);
    fill(s);
    s.close();
    const journal = join(dir, JOURNAL_FILE);
    const lines = readFileSync(journal, 'utf8').split('\n');
    writeFileSync(journal, [lines[0], '{"n":2,"t":"bogus"}', ...lines.slice(2)].join('\n'));
    const e = thrownChiveError(() => MessageStore.open(dir));
    expect(e.code).toBe('CHAT_STORE_CORRUPT');
    expect(e.message).toContain('line 2');
    writeFileSync(journal, [lines[0], ...lines.slice(2)].join('\n'));
    expect(thrownChiveError(() => MessageStore.open(dir)).message).toMatch(/records are missing/);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false); // a refused open leaves no lock behind
  });

  it('survives a crash between the state file rename and the journal truncation (no record applied twice)', () => {
    const dir = profile();
    const s = openStore(dir);
    const want = fill(s);
    const journal = readFileSync(join(dir, JOURNAL_FILE));
    s.compact();
    s.close();
    writeFileSync(join(dir, JOURNAL_FILE), journal); // as if the truncation never happened
    const again = openStore(dir);
    expectSame(again, want);
    again.appendHistory(ALICE, entry(6));
    again.close();
    expect(openStore(dir).history(ALICE).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('keeps what a process wrote before it died without closing, and takes over its lock', () => {
    const dir = profile();
    const moduleUrl = new URL('../../client/chat/message-store.ts', import.meta.url).href;
    const script = `
      const { MessageStore } = await import(${JSON.stringify(moduleUrl)});
      const s = MessageStore.open(process.argv[1]);
      s.putContact({ address: 'chive1alice', name: 'Alice', state: 'accepted', addedAt: 1 });
      s.appendHistory('chive1alice', { id: '${id(1)}', direction: 'in', text: 'survives', seq: 1, at: 2, state: 'received' });
      process.exit(0); // no close(): the lock stays behind
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8', timeout: 20_000,
    });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(child.pid));
    const warnings: string[] = [];
    const s = openStore(dir, { onWarning: (m) => warnings.push(m) });
    expect(warnings.join('\n')).toMatch(/stale lock/);
    expect(s.history(ALICE).map((e) => e.text)).toEqual(['survives']);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
  });
});

describe('MessageStore: the lock', () => {
  it('refuses a second open while the first is open, in the same process', () => {
    const dir = profile();
    openStore(dir);
    const e = thrownChiveError(() => MessageStore.open(dir));
    expect(e.code).toBe('PROFILE_LOCKED');
    expect(e.message).toContain(String(process.pid));
    open.pop()!.close();
    openStore(dir).putContact(contact(ALICE));
  });

  it('refuses a profile locked by another live process', async () => {
    const dir = profile();
    openStore(dir).close();
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, LOCK_FILE), `${sleeper.pid}\n`, { mode: 0o600 });
      expectChiveError(() => MessageStore.open(dir), 'PROFILE_LOCKED');
      expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${sleeper.pid}\n`);
    } finally {
      sleeper.kill();
    }
    await new Promise((resolve) => sleeper.once('exit', resolve));
    const warnings: string[] = [];
    openStore(dir, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
  });

  it('takes over a lock left by a dead process, or one holding garbage', () => {
    const dir = profile();
    openStore(dir).close();
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(join(dir, LOCK_FILE), `${dead}\n`);
    const warnings: string[] = [];
    const s = openStore(dir, { onWarning: (m) => warnings.push(m) });
    expect(warnings[0]).toContain(String(dead));
    s.close();
    writeFileSync(join(dir, LOCK_FILE), 'garbage');
    openStore(dir, { onWarning: (m) => warnings.push(m) }).close();
    expect(warnings).toHaveLength(2);
    unlinkSync(join(dir, JOURNAL_FILE));
    openStore(dir); // a profile without a journal is a fresh one
  });
});
