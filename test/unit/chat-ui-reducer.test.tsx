/**
 * The chat UI's reducer (client/ui/reducer.ts, conversation-state.ts): a contact request
 * from arrival to accept / reject; delivery states (queued → sent → delivered, failed →
 * retried) including events out of order and before the message is recorded; unread
 * counts and Alt-A; conversation switching; scrollback that stays put while messages
 * arrive; history merging; status; notices and overlays. Plain state values throughout.
 */
import { describe, expect, it } from 'vitest';
import type { ContactView, HistoryEntry } from '../../client/chat/api.js';
import { conversationLines, screenLayout } from '../../client/ui/layout.js';
import { reduce } from '../../client/ui/reducer.js';
import { SAMPLE_ALICE, SAMPLE_BOB, SAMPLE_CAROL, SAMPLE_T0, sampleState } from '../../client/ui/sample-state.js';
import type { ChatEvent, UiAction, UiState } from '../../client/ui/ui-state.js';
import { conversationOf, initialUiState, listedContacts } from '../../client/ui/ui-state.js';

const ME = 'chive1self';
const A = 'chive1alice';
const B = 'chive1bob';
const C = 'chive1carol';

const contact = (address: string, name: string, extra: Partial<ContactView> = {}): ContactView => ({
  address, name, state: 'accepted', online: false, unread: 0, lastActivityAt: 0, ...extra,
});
const ev = (event: ChatEvent, at = 1000): UiAction => ({ type: 'event', event, at });
const run = (state: UiState, ...actions: UiAction[]): UiState => actions.reduce(reduce, state);
const fresh = (): UiState => initialUiState({ self: ME });
const entries = (s: UiState, address: string) => conversationOf(s, address).entries;
const stateOf = (s: UiState, address: string, id: string) => entries(s, address).find((e) => e.id === id)?.state;
const queued = (to: string, id: string, text = 'hi', at = 1000): UiAction => ({ type: 'message-queued', to, id, seq: 1, text, at });
const incoming = (from: string, id: string, text = 'yo', at = 1000): UiAction =>
  ev({ name: 'message', payload: { from, id, seq: 1, text, sentAt: at } }, at);

describe('a contact request', () => {
  it('arrives, waits, is accepted, and the conversation starts', () => {
    let s = run(fresh(), { type: 'contacts-loaded', contacts: [contact(A, 'alice')] });
    expect(s.current).toBe(A);
    s = run(s, ev({ name: 'request', payload: { from: C, name: 'carol' } }));
    const carol = s.contacts.find((c) => c.address === C)!;
    expect(carol.state).toBe('request');
    expect(listedContacts(s).map((c) => c.name)).toEqual(['alice', 'carol']);
    expect(s.notice).toEqual({ level: 'info', text: 'carol wants to chat: /accept or /reject (Alt-A goes there)' });
    expect(s.current).toBe(A); // a request does not steal the screen

    s = run(s, { type: 'next-activity' });
    expect(s.current).toBe(C);

    // What App does with the ContactView accept() returns.
    s = run(s, { type: 'contact-changed', contact: { ...carol, state: 'accepted', online: true }, select: true });
    expect(s.contacts.find((c) => c.address === C)).toMatchObject({ state: 'accepted', online: true });
    s = run(s, incoming(C, 'c1', 'thanks!'));
    expect(entries(s, C).map((e) => e.text)).toEqual(['thanks!']);
    expect(s.contacts.find((c) => c.address === C)!.unread).toBe(0);
  });

  it('rejected: it leaves the list', () => {
    let s = run(fresh(), ev({ name: 'request', payload: { from: C } }));
    expect(s.contacts[0]!.name).toBe('chive1carol');
    s = run(s, { type: 'contact-changed', contact: { ...s.contacts[0]!, state: 'rejected' }, select: false });
    expect(listedContacts(s)).toEqual([]);
  });

  it('a request from someone already accepted changes nothing', () => {
    const s = run(fresh(), { type: 'contacts-loaded', contacts: [contact(A, 'alice')] });
    expect(run(s, ev({ name: 'request', payload: { from: A, name: 'mallory' } }))).toBe(s);
  });

  it('names from the network cannot carry escape sequences or bidi overrides', () => {
    const s = run(fresh(), ev({ name: 'request', payload: { from: C, name: 'ev\u001b[2Jil\u202eboss' } }));
    expect(s.contacts[0]!.name).toBe('ev\uFFFD[2Jil\uFFFDboss');
  });
});

describe('delivery states', () => {
  const base = () => run(fresh(), { type: 'contacts-loaded', contacts: [contact(A, 'alice')] });

  it('queued → sent → delivered', () => {
    let s = run(base(), queued(A, 'm1'));
    expect(stateOf(s, A, 'm1')).toBe('queued');
    s = run(s, ev({ name: 'sent', payload: { id: 'm1', to: A } }));
    expect(stateOf(s, A, 'm1')).toBe('sent');
    s = run(s, ev({ name: 'delivered', payload: { id: 'm1', to: A } }));
    expect(stateOf(s, A, 'm1')).toBe('delivered');
  });

  it('never backwards: a late sent or failed after delivered is ignored', () => {
    let s = run(base(), queued(A, 'm1'), ev({ name: 'delivered', payload: { id: 'm1', to: A } }));
    const after = run(
      s,
      ev({ name: 'sent', payload: { id: 'm1', to: A } }),
      ev({ name: 'failed', payload: { id: 'm1', to: A, code: 'TIMEOUT', message: 'x' } }),
    );
    expect(after).toBe(s);
    s = run(base(), queued(A, 'm2'), ev({ name: 'sent', payload: { id: 'm2', to: A } }));
    expect(run(s, { type: 'message-retried', id: 'm2' })).toBe(s); // only a failed message can be retried
  });

  it('failed keeps its code; retry re-queues and clears it; the client resending moves it on', () => {
    let s = run(
      base(),
      queued(A, 'm1'),
      ev({ name: 'failed', payload: { id: 'm1', to: A, code: 'PEER_UNREACHABLE', message: 'gone' } }),
    );
    expect(entries(s, A)[0]).toMatchObject({ state: 'failed', errorCode: 'PEER_UNREACHABLE', errorMessage: 'gone' });
    s = run(s, { type: 'message-retried', id: 'm1' });
    expect(entries(s, A)[0]!.state).toBe('queued');
    expect(entries(s, A)[0]!.errorCode).toBeUndefined();
    s = run(s, ev({ name: 'failed', payload: { id: 'm1', to: A, code: 'TIMEOUT', message: 't' } }));
    s = run(s, ev({ name: 'sent', payload: { id: 'm1', to: A } }));
    expect(entries(s, A)[0]).toMatchObject({ state: 'sent' });
    expect(entries(s, A)[0]!.errorCode).toBeUndefined();
  });

  it('a delivery event before the message is recorded is applied when it is', () => {
    let s = run(base(), ev({ name: 'sent', payload: { id: 'm1', to: A } }), ev({ name: 'delivered', payload: { id: 'm1', to: A } }));
    expect(entries(s, A)).toEqual([]);
    s = run(s, queued(A, 'm1'));
    expect(stateOf(s, A, 'm1')).toBe('delivered');
    expect(s.earlyDeliveries.size).toBe(0);
  });

  it('a message id arrives once', () => {
    const s = run(base(), incoming(A, 'x1'));
    expect(run(s, incoming(A, 'x1'))).toBe(s);
  });
});

describe('unread counts and switching', () => {
  const three = () =>
    run(fresh(), { type: 'contacts-loaded', contacts: [contact(A, 'alice'), contact(B, 'bob', { unread: 4 }), contact(C, 'carol')] });

  it('seeded from the client, +1 outside the screen, 0 when opened', () => {
    let s = three();
    expect(s.current).toBe(A);
    expect(s.contacts.map((c) => c.unread)).toEqual([0, 4, 0]);
    s = run(s, incoming(C, 'c1'), incoming(C, 'c2'), incoming(A, 'a1'));
    expect(s.contacts.map((c) => c.unread)).toEqual([0, 4, 2]);
    s = run(s, { type: 'switch-to', index: 2 });
    expect(s.current).toBe(C);
    expect(s.contacts.map((c) => c.unread)).toEqual([0, 4, 0]);
  });

  it('a contact event updates presence but not the UI count', () => {
    let s = run(three(), incoming(C, 'c1'));
    s = run(s, ev({ name: 'contact', payload: contact(C, 'carol', { online: true, unread: 0 }) }));
    expect(s.contacts[2]).toMatchObject({ online: true, unread: 1 });
  });

  it('Alt-A goes to the next conversation with activity, wrapping, and says when there is none', () => {
    let s = run(three(), incoming(C, 'c1'));
    s = run(s, { type: 'next-activity' });
    expect(s.current).toBe(B);
    s = run(s, { type: 'next-activity' });
    expect(s.current).toBe(C);
    s = run(s, { type: 'next-activity' });
    expect(s.current).toBe(C);
    expect(s.notice).toEqual({ level: 'info', text: 'no other conversation has activity' });
  });

  it('Alt-n past the list says so; Ctrl-N / Ctrl-P cycle', () => {
    let s = run(three(), { type: 'switch-to', index: 5 });
    expect(s.current).toBe(A);
    expect(s.notice?.text).toBe('no conversation 6');
    s = run(s, { type: 'cycle', step: -1 });
    expect(s.current).toBe(C);
    s = run(s, { type: 'cycle', step: 1 }, { type: 'cycle', step: 1 });
    expect(s.current).toBe(B);
  });

  it('opening a conversation closes an overlay', () => {
    const s = run(three(), { type: 'overlay', overlay: { kind: 'help' } }, { type: 'switch-to', index: 1 });
    expect(s.overlay).toBeUndefined();
  });
});

describe('scrollback', () => {
  const long = () => {
    let s = run(fresh(), { type: 'contacts-loaded', contacts: [contact(A, 'alice')] });
    for (let i = 0; i < 60; i++) s = run(s, incoming(A, `a${i}`, `message number ${i}`, 1000 + i));
    return s;
  };
  const rows = screenLayout({ columns: 80, rows: 24 }).messageRows;
  const lines = (s: UiState) =>
    conversationLines(entries(s, A), { width: screenLayout(s.size).paneWidth, contactName: 'alice', utcOffsetMinutes: 0 }).length;

  it('PageUp scrolls back a page less a line, clamped at the top; PageDown returns', () => {
    let s = run(long(), { type: 'scroll', pages: 1 });
    expect(conversationOf(s, A).scroll).toBe(rows - 1);
    s = run(s, { type: 'scroll', pages: 100 });
    expect(conversationOf(s, A).scroll).toBe(lines(s) - rows);
    s = run(s, { type: 'scroll', pages: -100 });
    expect(conversationOf(s, A).scroll).toBe(0);
  });

  it('while scrolled back, new lines below do not move the view; sending jumps to the end', () => {
    let s = run(long(), { type: 'scroll', pages: 1 });
    const before = conversationOf(s, A).scroll;
    s = run(s, incoming(A, 'new', 'a long message that wraps onto a second display line because it goes on and on and on'));
    expect(conversationOf(s, A).scroll).toBe(before + 2);
    s = run(s, queued(A, 'mine'));
    expect(conversationOf(s, A).scroll).toBe(0);
  });

  it('following the end (offset 0), new messages keep it at 0', () => {
    const s = run(long(), incoming(A, 'more'));
    expect(conversationOf(s, A).scroll).toBe(0);
  });
});

describe('history, status, notices, overlays, input, size', () => {
  it('stored history merges with live messages: each id once, in time order', () => {
    let s = run(fresh(), { type: 'contacts-loaded', contacts: [contact(A, 'alice')] }, incoming(A, 'live', 'live', 5000));
    const stored: HistoryEntry[] = [
      { id: 'old', direction: 'out', text: 'old', seq: 1, at: 1000, state: 'failed', errorCode: 'PEER_UNREACHABLE' },
      { id: 'live', direction: 'in', text: 'live', seq: 2, at: 5000, state: 'received' },
    ];
    s = run(s, { type: 'history-loaded', address: A, entries: stored });
    expect(entries(s, A).map((e) => [e.id, e.state])).toEqual([['old', 'failed'], ['live', 'received']]);
    expect(entries(s, A)[0]!.errorCode).toBe('PEER_UNREACHABLE');
    expect(conversationOf(s, A).loaded).toBe(true);
  });

  it('progress, ready and status events drive the status model; circuits are summarised', () => {
    let s = run(fresh(), ev({ name: 'progress', payload: { stage: 'guards', elapsedMs: 420 } }));
    expect(s.status).toMatchObject({ stage: 'guards', bootstrapMs: 420 });
    s = run(s, { type: 'bootstrap-tick', elapsedMs: 900 });
    expect(s.status.bootstrapMs).toBe(900);
    expect(run(s, { type: 'bootstrap-tick', elapsedMs: 100 })).toBe(s); // never backwards
    s = run(s, ev({ name: 'ready', payload: { bootstrapMs: 1800 } }));
    expect(run(s, { type: 'bootstrap-tick', elapsedMs: 5000 })).toBe(s); // stops when ready
    expect(s.status).toMatchObject({ stage: 'ready', bootstrapMs: 1800 });
    s = run(s, ev({ name: 'status', payload: { stage: 'ready', bootstrapMs: 1800, introPoints: { up: 2, wanted: 3 }, publishedAt: 7, rttMs: 99 } }));
    expect(s.status).toMatchObject({ introPoints: { up: 2, wanted: 3 }, publishedAt: 7, rttMs: 99 });
    const hops = [{ nickname: 'a', ms: 1 }];
    s = run(s, {
      type: 'circuits-loaded',
      show: false,
      circuits: [
        { purpose: 'intro', hops, buildMs: 100 },
        { purpose: 'intro', hops, buildMs: 300 },
        { purpose: 'general', hops, buildMs: 200 },
        { purpose: 'hsdir', hops, buildMs: 900 },
      ],
    });
    expect(s.status.circuits).toEqual({ count: 4, medianBuildMs: 250 });
    expect(s.overlay).toBeUndefined();
    s = run(s, { type: 'circuits-loaded', show: true, circuits: [] });
    expect(s.overlay).toEqual({ kind: 'circuits', circuits: [] });
  });

  it('an error event becomes an error notice; Esc closes the overlay first, then the notice', () => {
    let s = run(fresh(), ev({ name: 'error', payload: { code: 'CONSENSUS_UNAVAILABLE', message: 'no directory answered' } }));
    expect(s.notice).toEqual({ level: 'error', code: 'CONSENSUS_UNAVAILABLE', text: 'no directory answered' });
    s = run(s, { type: 'overlay', overlay: { kind: 'address' } }, { type: 'dismiss' });
    expect(s.overlay).toBeUndefined();
    expect(s.notice).toBeDefined();
    s = run(s, { type: 'dismiss' });
    expect(s.notice).toBeUndefined();
  });

  it('Enter empties the line into the history and closes overlay and notice', () => {
    const s = run(
      fresh(),
      { type: 'edit', edit: { kind: 'insert', text: '/help' } },
      { type: 'overlay', overlay: { kind: 'help' } },
      { type: 'notice', notice: { level: 'error', text: 'old' } },
      { type: 'input-submitted' },
    );
    expect(s.input).toMatchObject({ text: '', cursor: 0, history: ['/help'] });
    expect(s.overlay).toBeUndefined();
    expect(s.notice).toBeUndefined();
  });

  it('resize records the size (and is a no-op when unchanged)', () => {
    const s = run(fresh(), { type: 'resize', columns: 120, rows: 40 });
    expect(s.size).toEqual({ columns: 120, rows: 40 });
    expect(run(s, { type: 'resize', columns: 120, rows: 40 })).toBe(s);
  });
});

describe('the sample state (used by the render tests and the README capture)', () => {
  it('has alice on screen with every delivery state, bob unread, carol requesting', () => {
    const s = sampleState();
    expect(s.current).toBe(SAMPLE_ALICE);
    expect(entries(s, SAMPLE_ALICE).map((e) => e.state)).toEqual(['delivered', 'received', 'failed', 'sent', 'queued']);
    expect(s.contacts.find((c) => c.address === SAMPLE_BOB)!.unread).toBe(2);
    expect(s.contacts.find((c) => c.address === SAMPLE_CAROL)!.state).toBe('request');
    expect(entries(s, SAMPLE_ALICE)[0]!.at).toBe(SAMPLE_T0 + 120_000);
  });
});
