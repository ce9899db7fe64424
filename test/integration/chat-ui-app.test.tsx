/**
 * The chat UI's App over a real in-process network (createTestNetwork: authorities, six
 * relays, ws links) with real ChatClients, driven as a person would: keystrokes written
 * to ink's stdin, the screen read back from the rendered frames. Alice runs the UI (with
 * the sodium provider), bob (noble) and carol are driven through the ChatApi.
 *
 * Covered: bootstrap to the ready state on the status bar; `/add` → bob sees a contact
 * request and accepts it; a message typed in the UI goes queued (…) → sent (✓) →
 * delivered (✓✓) on screen; bob's reply while another conversation is open counts as
 * unread in the contact list and is read (on screen and through the API) after Alt-1;
 * `/circuit` lists the rendezvous circuit's hops with their build times; `/address`
 * shows alice's address alone on a line; a bad address shows its stable error code;
 * `/quit` calls onExit.
 *
 * Not the terminal itself (chat-tmux.test.ts) and not the panes from plain state
 * (test/unit/chat-ui-render.test.tsx).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChatEvents } from '../../client/chat/api.js';
import { ChatClient } from '../../client/chat/chat-client.js';
import { App } from '../../client/ui/App.js';
import { loadCryptoProvider } from '../../src/crypto/load.js';
import { createTestNetwork, type TestNetwork } from '../../testnet/index.js';
import { waitFor } from '../support/wait.js';

type Rendered = ReturnType<typeof render>;

/** The screen as lines, trailing blanks cut. */
function screen(r: Rendered): string[] {
  return (r.lastFrame() ?? '').split('\n').map((l) => l.trimEnd());
}

/** Waits until the screen satisfies `probe`; on timeout the error shows the last screen. */
async function waitForScreen<T>(r: Rendered, what: string, probe: (lines: string[]) => T | null | undefined | false, timeoutMs = 15_000): Promise<T> {
  try {
    return await waitFor(what, () => probe(screen(r)), timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- screen ---\n${screen(r).join('\n')}`);
  }
}

/** Types a line and presses Enter, as one chunk (what a paste or `tmux send-keys text Enter` delivers). */
function typeLine(r: Rendered, text: string): void {
  r.stdin.write(`${text}\r`);
}

/** The part of a screen line left of the contact list's separator. */
function listPart(line: string): string {
  return line.split('│')[0]!.trimEnd();
}

/** The delivery glyph on the screen line of our message `text` (undefined when not shown). */
function glyphOf(lines: readonly string[], text: string): string | undefined {
  const pattern = new RegExp(`\\d\\d:\\d\\d (…|✓✓|✓|✗) +me +${text}$`);
  for (const line of lines) {
    const m = pattern.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

describe('the chat UI (App) over a local network', () => {
  let net: TestNetwork;
  let dir: string;
  const open: ChatClient[] = [];

  const client = (name: string, provider: 'sodium' | 'noble') => {
    const chat = new ChatClient({
      profileDir: join(dir, name),
      network: net.network,
      name,
      provider: loadCryptoProvider(provider),
      timings: { requestTimeoutMs: 5_000, rendezvousTimeoutMs: 5_000 },
    });
    open.push(chat);
    return chat;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chive-chat-ui-'));
    net = await createTestNetwork({ relays: 6 });
    await net.ready();
  }, 60_000);

  afterAll(async () => {
    for (const c of open) await c.close().catch(() => undefined);
    await net?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds a contact, shows delivery states, unread counts, circuits, the address, errors, and quits', async () => {
    const alice = client('alice', 'sodium');
    const bob = client('bob', 'noble');
    // Carol is only an address to open a second conversation with; she never comes online.
    const carol = client('carol', 'sodium');
    const requests: ChatEvents['request'][] = [];
    bob.on('request', (r) => requests.push(r));
    const bobMessages: ChatEvents['message'][] = [];
    bob.on('message', (m) => bobMessages.push(m));
    const bobStarted = bob.start();
    bobStarted.catch(() => undefined); // awaited below; a failure before then must not go unhandled

    const onExit = vi.fn();
    const r = render(<App chat={alice} onExit={onExit} refreshMs={300} utcOffsetMinutes={0} />);
    try {
      // The App starts alice itself and shows the bootstrap on the status bar.
      const ready = await waitForScreen(r, 'the ready state on the status bar', (l) => l.find((x) => /● ready in \d/.test(x)), 30_000);
      expect(ready).toMatch(/chive ● ready in [\d.]+ m?s │ net ok │ intro 3\/3/);
      await bobStarted;

      // /add: bob is listed and selected; what alice writes is queued until he is reachable.
      typeLine(r, `/add ${bob.address} bob`);
      await waitForScreen(r, 'bob in the contact list', (l) => l.some((x) => /^1 [○●] bob\b/.test(listPart(x))));
      expect(screen(r).some((x) => x.includes('› added bob: what you write is queued until they are reachable'))).toBe(true);
      expect(screen(r).at(-1)).toMatch(/^\[bob\]›/);

      typeLine(r, 'hello bob');
      await waitForScreen(r, 'the message on screen', (l) => glyphOf(l, 'hello bob') !== undefined, 5_000);
      // Bob has not accepted yet, so nothing can have been sent: the message is queued.
      expect(glyphOf(screen(r), 'hello bob')).toBe('…');
      const framesBefore = r.frames.length;

      // Bob sees a contact request from alice and accepts it through the API.
      await waitFor('bob sees the request', () => requests.find((q) => q.from === alice.address), 20_000);
      expect(bob.contacts().find((c) => c.address === alice.address)?.state).toBe('request');
      bob.accept(alice.address);

      await waitForScreen(r, 'hello bob delivered (✓✓)', (l) => glyphOf(l, 'hello bob') === '✓✓', 20_000);
      // Every state the line went through, in order: … then ✓ (sent) then ✓✓ (delivered).
      const seen: string[] = [];
      for (const frame of r.frames.slice(framesBefore - 1)) {
        const g = glyphOf(frame.split('\n').map((l) => l.trimEnd()), 'hello bob');
        if (g !== undefined && seen.at(-1) !== g) seen.push(g);
      }
      expect(seen).toEqual(['…', '✓', '✓✓']);
      expect(bobMessages.map((m) => m.text)).toEqual(['hello bob']);
      expect(alice.history(bob.address).find((h) => h.text === 'hello bob')?.state).toBe('delivered');
      await waitForScreen(r, 'bob online in the list', (l) => l.some((x) => /^1 ● bob$/.test(listPart(x))));

      // Another conversation open: bob's reply counts as unread instead of appearing.
      typeLine(r, `/add ${carol.address} carol`);
      await waitForScreen(r, 'carol on screen', (l) => l.at(-1)?.startsWith('[carol]›') && l.some((x) => /^2 [○●] carol$/.test(listPart(x))));
      bob.send(alice.address, 'hi alice, got it');
      const unreadRow = await waitForScreen(r, 'an unread count on bob', (l) => l.map(listPart).find((x) => /^1 ● bob +1$/.test(x)));
      expect(unreadRow).toMatch(/^1 ● bob +1$/);
      expect(screen(r).some((x) => x.includes('hi alice, got it'))).toBe(false);
      expect(alice.contacts().find((c) => c.address === bob.address)?.unread).toBe(1);

      // Alt-1 opens bob's conversation: the reply is there and read, on screen and in the client.
      r.stdin.write('\u001b1');
      await waitForScreen(r, "bob's reply on screen", (l) => l.some((x) => /\d\d:\d\d {4}bob +hi alice, got it$/.test(x)));
      expect(screen(r).map(listPart).find((x) => x.startsWith('1 '))).toMatch(/^1 ● bob$/);
      expect(screen(r).at(-1)).toMatch(/^\[bob\]›/);
      await waitFor('the client marks it read', () => alice.contacts().find((c) => c.address === bob.address)?.unread === 0, 2_000);

      // /circuit: the rendezvous circuit to bob, its build time, and each hop with its own.
      typeLine(r, '/circuit');
      const title = await waitForScreen(r, 'the circuits overlay', (l) => l.find((x) => /^Circuits \(\d+\): each hop with its build time/.test(x)));
      const views = alice.circuits();
      const rendezvous = views.filter((v) => v.purpose === 'rendezvous' && v.contact === bob.address);
      expect(rendezvous).toHaveLength(1);
      expect(title).toContain(`Circuits (${views.length})`);
      const lines = screen(r);
      const at = lines.findIndex((x) => /^rendezvous → bob {2}built in [\d.]+ m?s/.test(x));
      expect(at).toBeGreaterThan(0);
      const hopsLine = lines[at + 1]!;
      const hops = rendezvous[0]!.hops;
      expect(hops.length).toBeGreaterThanOrEqual(3);
      const hopPattern = hops.map((h, i) => `${i + 1} ${h.nickname} \\d+ ms`).join(' {2}› {2}');
      expect(hopsLine).toMatch(new RegExp(`^ {2}${hopPattern}$`));
      for (const h of hops) expect(h.nickname).toMatch(/^relay\d$/);
      expect(lines.some((x) => /^intro {2}built in [\d.]+ m?s/.test(x))).toBe(true);

      // /address: ours, alone on its line (copyable), in place of the conversation.
      typeLine(r, '/address');
      await waitForScreen(r, 'the address overlay', (l) => l[0] === 'Your chive address: give it to whoever should reach you.');
      expect(screen(r)).toContain(alice.address);
      expect(alice.address).toMatch(/^chive1[02-9ac-hj-np-z]+$/);

      // An error is shown with its stable code; the overlay is gone and nothing was added.
      const before = alice.contacts().length;
      typeLine(r, '/add chive1bad');
      const error = await waitForScreen(r, 'the error notice', (l) => l.find((x) => x.startsWith('✗ ')));
      expect(error).toMatch(/^✗ BAD_ADDRESS: \S/);
      expect(screen(r)[0]).not.toBe('Your chive address: give it to whoever should reach you.');
      expect(alice.contacts()).toHaveLength(before);

      // /quit: onExit, once.
      expect(onExit).not.toHaveBeenCalled();
      typeLine(r, '/quit');
      await waitFor('onExit', () => onExit.mock.calls.length > 0, 2_000);
      expect(onExit).toHaveBeenCalledTimes(1);
    } finally {
      r.unmount();
      r.cleanup();
    }
  }, 60_000);
});
