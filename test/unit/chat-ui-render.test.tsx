/**
 * The chat UI's panes rendered with ink-testing-library from plain state values
 * (client/ui/components/): the contact list and its folded tabs, the conversation pane
 * with timestamps and every delivery state, the input line, the status bar through the
 * bootstrap, the notice line with errors, the help / circuits / address overlays, the
 * whole screen at 80x24, 40x20 and 120x40 and across a live resize, and the mapping of
 * thrown errors to notices. No ChatApi: the App's own tests run over a real network.
 */
import { Text } from 'ink';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { ContactView } from '../../client/chat/api.js';
import { errorNotice } from '../../client/ui/command-runner.js';
import { COMMANDS } from '../../client/ui/commands.js';
import { AddressOverlay } from '../../client/ui/components/AddressOverlay.js';
import { ChatScreen } from '../../client/ui/components/ChatScreen.js';
import { CircuitOverlay } from '../../client/ui/components/CircuitOverlay.js';
import { ContactList, ContactTabs } from '../../client/ui/components/ContactList.js';
import { ConversationPane } from '../../client/ui/components/ConversationPane.js';
import { HelpOverlay } from '../../client/ui/components/HelpOverlay.js';
import { InputLine } from '../../client/ui/components/InputLine.js';
import { NoticeLine } from '../../client/ui/components/NoticeLine.js';
import { StatusBar } from '../../client/ui/components/StatusBar.js';
import { displayWidth } from '../../client/ui/format.js';
import { reduce } from '../../client/ui/reducer.js';
import {
  SAMPLE_ALICE, SAMPLE_CIRCUITS, SAMPLE_SELF, SAMPLE_T0, sampleState,
} from '../../client/ui/sample-state.js';
import { useTerminalSize } from '../../client/ui/use-terminal-size.js';
import type { StatusModel, UiState } from '../../client/ui/ui-state.js';
import { conversationOf, initialUiState, listedContacts } from '../../client/ui/ui-state.js';
import { ChiveError } from '../../src/errors.js';
import { waitFor } from '../support/wait.js';

const unmounts: (() => void)[] = [];
afterEach(() => {
  for (const u of unmounts.splice(0)) u();
});
/** Renders and returns the frame's lines with trailing spaces removed. */
function frameOf(tree: React.ReactElement): string[] {
  const r = render(tree);
  unmounts.push(r.unmount);
  return (r.lastFrame() ?? '').split('\n').map((l) => l.trimEnd());
}
const text = (lines: string[]): string => lines.join('\n');

const contact = (name: string, extra: Partial<ContactView> = {}): ContactView => ({
  address: `chive1${name}`, name, state: 'accepted', online: false, unread: 0, lastActivityAt: 0, ...extra,
});

describe('ContactList', () => {
  const contacts = [
    contact('alice', { online: true }),
    contact('bob', { unread: 3 }),
    contact('dave', { state: 'added' }),
    contact('carol', { state: 'request' }),
  ];
  it('numbers conversations for Alt-n, shows presence and unread, then requests', () => {
    const lines = frameOf(<ContactList contacts={contacts} current="chive1alice" width={22} height={10} />);
    expect(lines.slice(0, 6)).toEqual([
      'Contacts (3)         │',
      '1 ● alice            │',
      '2 ○ bob            3 │',
      '3 ○ dave             │',
      'Requests             │',
      '4 ? carol            │',
    ]);
  });
  it('says how to start when empty, and "+N more" when too tall', () => {
    expect(text(frameOf(<ContactList contacts={[]} width={22} height={5} />))).toContain('none yet: /add');
    const many = Array.from({ length: 12 }, (_, i) => contact(`c${i}`));
    const lines = frameOf(<ContactList contacts={many} width={22} height={6} />);
    expect(lines).toHaveLength(6);
    expect(lines[5]).toContain('+8 more');
  });
  it('folds into one line of tabs', () => {
    expect(frameOf(<ContactTabs contacts={contacts} current="chive1bob" width={60} />)[0]).toBe(
      '1:●alice 2:○bob(3) 3:○dave 4:?carol',
    );
  });
});

describe('ConversationPane', () => {
  const sample = sampleState();
  const alice = sample.contacts.find((c) => c.address === SAMPLE_ALICE)!;
  const pane = (state: UiState, width = 60, height = 12) =>
    frameOf(
      <ConversationPane
        contact={state.contacts.find((c) => c.address === state.current)}
        conversation={conversationOf(state, state.current ?? '')}
        width={width}
        height={height}
        utcOffsetMinutes={state.utcOffsetMinutes}
        rttMs={142}
      />,
    );

  it('shows timestamps, names and each delivery state, with the retry hint on the failed one', () => {
    expect(pane(sample)).toEqual([
      'alice ● online  chive1alc3…ta0e  rtt 142 ms',
      '──────────────────────── 2026-11-22 ────────────────────────',
      '09:02 ✓✓ me    hi alice, is this thing on?',
      '09:03    alice loud and clear: six hops and nobody knows',
      '               where either of us is',
      '09:04 ✗  me    sending the notes from yesterday now',
      '               ✗ not delivered (PEER_UNREACHABLE) — /retry',
      '               to send again',
      '09:06 ✓  me    still there?',
      '09:07 …  me    ok, later then',
      '',
      '',
    ]);
  });

  it('an older failed message names its id in the hint', () => {
    const s = reduce(reduce(sample, { type: 'message-retried', id: 'm-0002-photo' }), {
      type: 'event', at: SAMPLE_T0, event: { name: 'failed', payload: { id: 'm-0004-later', to: SAMPLE_ALICE, code: 'TIMEOUT', message: 't' } },
    });
    const withOld = reduce(s, {
      type: 'event', at: SAMPLE_T0, event: { name: 'failed', payload: { id: 'm-0003-ping', to: SAMPLE_ALICE, code: 'PEER_UNREACHABLE', message: 'x' } },
    });
    const out = text(pane(withOld, 80, 16));
    expect(out).toContain('09:06 ✗  me    still there?');
    expect(out).toContain('✗ not delivered (PEER_UNREACHABLE) — /retry m-0003-p to send');
    expect(out).toContain('✗ not delivered (TIMEOUT) — /retry to send again');
    expect(out).toContain('09:04 …  me    sending the notes');
  });

  it('timestamps follow the UTC offset', () => {
    expect(text(pane({ ...sample, utcOffsetMinutes: 90 }))).toContain('10:32 ✓✓ me    hi alice');
  });

  it('with nothing open: how to start', () => {
    const out = text(pane(initialUiState({ self: SAMPLE_SELF })));
    expect(out).toContain('no conversation open');
    expect(out).toContain('/add <address> [name]');
  });

  it('a request: who asks, and how to answer', () => {
    const out = text(pane(reduce(sample, { type: 'select', address: sample.contacts[2]!.address }), 70));
    expect(out).toContain('carol request');
    expect(out).toContain('carol wants to chat with you. Their address:');
    expect(out.split('\n')).toContain(sample.contacts[2]!.address);
    expect(out).toContain('/accept to talk, /reject to refuse, /block to refuse for');
  });

  it('scrolled back: the header says how much is below', () => {
    let s = sample;
    for (let i = 0; i < 30; i++) {
      s = reduce(s, { type: 'event', at: SAMPLE_T0 + 600_000 + i, event: { name: 'message', payload: { from: SAMPLE_ALICE, id: `x${i}`, seq: i, text: `line ${i}`, sentAt: 0 } } });
    }
    s = reduce(s, { type: 'scroll', pages: 1 });
    const lines = pane(s, 60, 12);
    expect(lines[0]).toMatch(/ ↓ \d+ more \(PgDn\)$/);
    expect(text(lines)).not.toContain('line 29');
  });

  it('text from the network cannot reach the terminal as escape sequences', () => {
    const s = reduce(sample, {
      type: 'event', at: SAMPLE_T0 + 600_000,
      event: { name: 'message', payload: { from: SAMPLE_ALICE, id: 'evil', seq: 9, text: 'a\u001b[2Jb\u0007c\u009bd', sentAt: 0 } },
    });
    const out = text(pane(s, 60, 14));
    expect(out).toContain('a\uFFFD[2Jb\uFFFDc\uFFFDd');
    expect(out).not.toMatch(/[\u0007\u001b\u009b]/);
  });

  it('keeps every line within its width', () => {
    for (const width of [24, 40, 61]) {
      for (const line of pane(sample, width, 20)) expect(displayWidth(line)).toBeLessThanOrEqual(width);
    }
  });
});

describe('InputLine', () => {
  it('prompts with the conversation and shows the text', () => {
    expect(frameOf(<InputLine line={{ text: 'hello', cursor: 5 }} target="alice" width={40} />)[0]).toBe('[alice]› hello');
    expect(frameOf(<InputLine line={{ text: '/help', cursor: 0 }} width={40} />)[0]).toBe('› /help');
  });
  it('a line longer than the screen scrolls, the cursor end visible', () => {
    const long = 'x'.repeat(50) + 'END';
    const line = frameOf(<InputLine line={{ text: long, cursor: long.length }} target="bob" width={30} />)[0]!;
    expect(line.startsWith('[bob]› …')).toBe(true);
    expect(line.endsWith('END')).toBe(true);
    expect(displayWidth(line)).toBeLessThanOrEqual(30);
  });
});

describe('StatusBar', () => {
  const base: StatusModel = { bootstrapMs: 0, introPoints: { up: 0, wanted: 0 }, publishedAt: 0, circuitViews: [] };
  const bar = (status: StatusModel, width = 80, c?: ContactView) => frameOf(<StatusBar status={status} contact={c} width={width} />)[0]!;

  it('walks through the bootstrap with its timing', () => {
    expect(bar(base)).toBe(' chive ◌ fetching the consensus… 0 ms');
    expect(bar({ ...base, stage: 'consensus', bootstrapMs: 310 })).toBe(' chive ◌ consensus ✓ choosing guards… 310 ms');
    expect(bar({ ...base, stage: 'guards', bootstrapMs: 420 })).toBe(' chive ◌ guards ✓ building a circuit… 420 ms');
    expect(bar({ ...base, stage: 'circuit', bootstrapMs: 980, introPoints: { up: 1, wanted: 3 } })).toBe(
      ' chive ◌ circuit ✓ introduction points… 980 ms │ intro 1/3',
    );
  });

  it('ready: health from the introduction points, RTT to the contact on screen, circuits', () => {
    const s = sampleState();
    const alice = s.contacts[0]!;
    expect(bar(s.status, 120, alice)).toBe(' chive ● ready in 1.8 s │ net ok │ intro 3/3 │ rtt alice 142 ms │ 3 circuits, build 183 ms');
    expect(bar(s.status, 120)).toBe(' chive ● ready in 1.8 s │ net ok │ intro 3/3 │ rtt ~150 ms │ 3 circuits, build 183 ms');
    expect(bar({ ...s.status, introPoints: { up: 1, wanted: 3 } }, 40)).toBe(' chive ● ready in 1.8 s │ net degraded');
    expect(bar({ ...s.status, introPoints: { up: 0, wanted: 3 } }, 50)).toBe(' chive ● ready in 1.8 s │ net down │ intro 0/3');
  });
});

describe('errors and notices', () => {
  it('an error notice shows its stable code in the notice line', () => {
    expect(frameOf(<NoticeLine notice={{ level: 'error', code: 'PEER_UNREACHABLE', text: 'bob is offline' }} width={80} />)[0]).toBe(
      '✗ PEER_UNREACHABLE: bob is offline',
    );
    expect(frameOf(<NoticeLine notice={{ level: 'info', text: 'added bob' }} width={80} />)[0]).toBe('› added bob');
    expect(frameOf(<NoticeLine width={80} />)[0]).toContain('/help');
  });

  it('thrown errors become notices: ChiveError with its code, others with their message', () => {
    expect(errorNotice(new ChiveError('MESSAGE_TOO_LONG', 'at most 4000 bytes'))).toEqual({
      level: 'error', code: 'MESSAGE_TOO_LONG', text: 'at most 4000 bytes',
    });
    expect(errorNotice(new Error('boom\u001b[31m'))).toEqual({ level: 'error', text: 'boom\uFFFD[31m' });
    expect(errorNotice('weird')).toEqual({ level: 'error', text: 'weird' });
    expect(errorNotice(undefined)).toEqual({ level: 'error', text: 'undefined' });
  });

  it('on the whole screen, a long error is cut to one line, never wrapped over the status bar', () => {
    const s = reduce(sampleState(), {
      type: 'event', at: 0, event: { name: 'error', payload: { code: 'CONSENSUS_UNAVAILABLE', message: 'no directory authority answered; '.repeat(5) } },
    });
    const lines = frameOf(<ChatScreen state={s} />);
    expect(lines).toHaveLength(23);
    expect(lines[20]!.startsWith('✗ CONSENSUS_UNAVAILABLE: no directory authority answered;')).toBe(true);
    expect(lines[20]!.endsWith('…')).toBe(true);
    expect(lines[21]).toContain('chive ● ready');
  });
});

describe('overlays', () => {
  it('help lists every command and fits 80x24 whole', () => {
    const lines = frameOf(<HelpOverlay width={80} height={20} />);
    for (const c of COMMANDS) expect(text(lines)).toContain(c.usage);
    expect(text(lines)).toContain('Alt-1…9, Alt-0');
    expect(text(lines)).toContain('✓✓ delivered');
    expect(text(lines)).not.toContain('a taller terminal');
    for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(80);
  });
  it('help on a small terminal says the rest is cut', () => {
    const lines = frameOf(<HelpOverlay width={40} height={10} />);
    expect(lines).toHaveLength(10);
    expect(lines[9]).toContain('a taller terminal');
  });
  it('circuits: every hop with its build time', () => {
    const out = text(frameOf(<CircuitOverlay circuits={SAMPLE_CIRCUITS} contacts={sampleState().contacts} width={80} height={20} />));
    expect(out).toContain('Circuits (3)');
    expect(out).toContain('rendezvous → alice  built in 183 ms  rtt 142 ms');
    expect(out).toContain('1 oak 38 ms  ›  2 birch 61 ms  ›  3 rowan 84 ms');
    expect(out).toContain('intro  built in 196 ms');
    expect(text(frameOf(<CircuitOverlay circuits={[]} contacts={[]} width={80} height={5} />))).toContain('none yet');
  });
  it('address: alone on its own line, whole, from the first column', () => {
    const lines = frameOf(<AddressOverlay address={SAMPLE_SELF} width={80} height={10} />);
    expect(lines).toContain(SAMPLE_SELF);
    expect(text(lines)).not.toContain('widen');
  });
  it('address on a terminal narrower than it: says so', () => {
    const lines = frameOf(<AddressOverlay address={SAMPLE_SELF} width={40} height={10} />);
    expect(lines.join(' ').replace(/ +/g, ' ')).toContain(`The terminal is 40 columns, the address ${SAMPLE_SELF.length}: widen it`);
    expect(lines.join('')).toContain(SAMPLE_SELF);
  });
  it('the overlays take the place of the panes on the whole screen', () => {
    const s = reduce(sampleState(), { type: 'overlay', overlay: { kind: 'address' } });
    const lines = frameOf(<ChatScreen state={s} />);
    expect(lines).toContain(SAMPLE_SELF);
    expect(text(lines)).not.toContain('Contacts (');
  });
});

describe('the whole screen at each size', () => {
  it.each([
    [80, 24, true],
    [40, 20, false],
    [120, 40, true],
  ])('%ix%i', (columns, rows, withList) => {
    const s = sampleState({ columns, rows });
    const lines = frameOf(<ChatScreen state={s} />);
    expect(lines).toHaveLength(rows - 1);
    for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(columns);
    const out = text(lines);
    expect(out.includes('Contacts (2)')).toBe(withList);
    if (!withList) expect(lines[0]).toBe('1:●alice 2:○bob(2) 3:?carol');
    expect(out).toContain('09:02 ✓✓ me');
    expect(lines[rows - 4]).toContain('carol wants to chat');
    expect(lines[rows - 3]).toContain('chive ● ready in 1.8 s');
    expect(lines[rows - 2]).toBe('[alice]›');
  });

  it('follows a live resize of the terminal (ink stdout "resize")', async () => {
    function Sized({ state }: { state: UiState }) {
      const size = useTerminalSize();
      return (
        <>
          <Text>{`size ${size.columns}x${size.rows}`}</Text>
          <ChatScreen state={reduce(state, { type: 'resize', ...size })} />
        </>
      );
    }
    const r = render(<Sized state={sampleState()} />);
    unmounts.push(r.unmount);
    const resize = (columns: number, rows: number) => {
      Object.defineProperty(r.stdout, 'columns', { configurable: true, get: () => columns });
      Object.defineProperty(r.stdout, 'rows', { configurable: true, get: () => rows });
      r.stdout.emit('resize');
    };
    resize(80, 24);
    await waitFor('80x24', () => r.lastFrame()?.startsWith('size 80x24'));
    expect(r.lastFrame()).toContain('Contacts (2)');
    resize(40, 20);
    await waitFor('40x20', () => r.lastFrame()?.startsWith('size 40x20'));
    const narrow = r.lastFrame()!.split('\n');
    expect(narrow).toHaveLength(1 + 19);
    expect(narrow[1]).toBe('1:●alice 2:○bob(2) 3:?carol');
    for (const l of narrow) expect(displayWidth(l.trimEnd())).toBeLessThanOrEqual(40);
    resize(120, 40);
    await waitFor('120x40', () => r.lastFrame()?.startsWith('size 120x40'));
    const wide = r.lastFrame()!.split('\n');
    expect(wide).toHaveLength(1 + 39);
    expect(wide[1]).toMatch(/^Contacts \(2\) +│alice ● online/);
    expect(wide[38]).toContain('3 circuits, build 183 ms');
  });

  it('the list order is the Alt-n order', () => {
    expect(listedContacts(sampleState()).map((c) => c.name)).toEqual(['alice', 'bob', 'carol']);
  });
});
