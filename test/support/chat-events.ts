/**
 * Records every event a chat client emits, by name, for tests to wait on and assert over.
 * Test support only.
 */
import type { ChatApi, ChatEvents } from '../../client/chat/api.js';

export type ChatEventLog = { [K in keyof ChatEvents]: ChatEvents[K][] };

export function recordChatEvents(chat: ChatApi): ChatEventLog {
  const log = { progress: [], ready: [], request: [], message: [], sent: [], delivered: [], failed: [], contact: [], status: [], error: [] } as unknown as ChatEventLog;
  for (const k of Object.keys(log) as (keyof ChatEvents)[]) chat.on(k, (p) => (log[k] as unknown[]).push(p));
  return log;
}
