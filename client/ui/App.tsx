/**
 * The chat app: owns the UI state, subscribes to ChatApi events and dispatches them to
 * the reducer, turns key presses into actions (key-bindings.ts) and submitted lines into
 * ChatApi calls (command-runner.ts), marks the conversation on screen read and loads its
 * history, refreshes the circuits snapshot for the status bar, and keeps the state's size
 * equal to the terminal's. Everything it shows is <ChatScreen state={…}/>.
 *
 * The state is also kept in a ref, updated synchronously on every dispatch, because ink
 * delivers the keys of one stdin chunk (a paste, or `tmux send-keys text Enter`) in one
 * tick: Enter must see the text typed just before it, not the last rendered state.
 *
 * ChatApi errors never escape: they become notices. Not the terminal set-up
 * (run-chat-ui.tsx) and not the chat client (client/chat/).
 */
import { useInput } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ChatApi, ChatEventName, ChatEvents } from '../chat/api.js';
import { errorNotice, runCommand } from './command-runner.js';
import { parseInput } from './commands.js';
import { ChatScreen } from './components/ChatScreen.js';
import type { KeyPress } from './key-bindings.js';
import { bindInput } from './key-bindings.js';
import { reduce } from './reducer.js';
import { useTerminalSize } from './use-terminal-size.js';
import type { ChatEvent, UiAction, UiState } from './ui-state.js';
import { conversationOf, initialUiState } from './ui-state.js';

/** How often the bootstrap time on the status bar moves while not ready, ms. */
const BOOTSTRAP_TICK_MS = 200;

/** Messages of a conversation loaded when it is first opened. */
export const HISTORY_LOAD_LIMIT = 500;

export interface AppProps {
  readonly chat: ChatApi;
  /** Called once the user asks to quit (Ctrl-C, /quit). */
  readonly onExit: () => void;
  /** Call chat.start() on mount (default true); false when the caller already has. */
  readonly start?: boolean;
  /** For timestamps: minutes east of UTC (default: this machine's offset now). */
  readonly utcOffsetMinutes?: number;
  /** How often circuits() and status() are polled for the status bar, ms (default 5000; 0 never). */
  readonly refreshMs?: number;
  /** The clock for message timestamps (default Date.now). */
  readonly now?: () => number;
  /** An info notice shown at start (e.g. the demo's "chat with yourself" hint). */
  readonly welcome?: string;
}

/** Every ChatApi event, listed once (the Record makes the compiler check none is missing). */
const EVENT_NAMES = Object.keys({
  progress: true, ready: true, request: true, message: true, sent: true, delivered: true, failed: true,
  contact: true, status: true, error: true,
} satisfies Record<ChatEventName, true>) as ChatEventName[];

export function App({ chat, onExit, start = true, utcOffsetMinutes, refreshMs = 5000, now = Date.now, welcome }: AppProps) {
  const size = useTerminalSize();
  const stateRef = useRef<UiState | undefined>(undefined);
  if (stateRef.current === undefined) {
    stateRef.current = initialUiState({
      self: chat.address,
      size,
      utcOffsetMinutes: utcOffsetMinutes ?? -new Date().getTimezoneOffset(),
    });
  }
  const [state, setState] = useState<UiState>(stateRef.current);
  const mounted = useRef(true);
  const exitRef = useRef(onExit);
  exitRef.current = onExit;
  const nowRef = useRef(now);
  nowRef.current = now;

  const dispatch = useCallback((action: UiAction) => {
    if (!mounted.current) return;
    const next = reduce(stateRef.current!, action);
    if (next === stateRef.current) return;
    stateRef.current = next;
    setState(next);
  }, []);

  /** Runs a ChatApi call whose failure should only be reported. */
  const attempt = useCallback(
    (f: () => void) => {
      try {
        f();
      } catch (err) {
        dispatch({ type: 'notice', notice: errorNotice(err) });
      }
    },
    [dispatch],
  );

  useEffect(() => {
    mounted.current = true;
    const subscribe = <K extends ChatEventName>(name: K): (() => void) =>
      chat.on(name, (payload: ChatEvents[K]) => {
        dispatch({ type: 'event', event: { name, payload } as ChatEvent, at: nowRef.current() });
        if (name === 'message') {
          const from = (payload as ChatEvents['message']).from;
          if (from === stateRef.current?.current) attempt(() => chat.markRead(from));
        }
      });
    const offs = EVENT_NAMES.map((name) => subscribe(name));
    attempt(() => dispatch({ type: 'contacts-loaded', contacts: chat.contacts() }));
    attempt(() => dispatch({ type: 'status-loaded', status: chat.status() }));
    if (welcome) dispatch({ type: 'notice', notice: { level: 'info', text: welcome } });
    const t0 = performance.now();
    const ticker = setInterval(() => {
      if (stateRef.current?.status.stage === 'ready') clearInterval(ticker);
      else dispatch({ type: 'bootstrap-tick', elapsedMs: performance.now() - t0 });
    }, BOOTSTRAP_TICK_MS);
    if (start) {
      chat.start().then(
        () => {
          attempt(() => dispatch({ type: 'status-loaded', status: chat.status() }));
          attempt(() => dispatch({ type: 'circuits-loaded', circuits: chat.circuits(), show: false }));
        },
        (err: unknown) => {
          clearInterval(ticker);
          dispatch({ type: 'notice', notice: errorNotice(err) });
        },
      );
    }
    return () => {
      mounted.current = false;
      clearInterval(ticker);
      for (const off of offs) off();
    };
  }, [chat, start, dispatch, attempt, welcome]);

  useEffect(() => {
    if (refreshMs <= 0) return;
    const timer = setInterval(() => {
      attempt(() => dispatch({ type: 'circuits-loaded', circuits: chat.circuits(), show: false }));
      attempt(() => dispatch({ type: 'status-loaded', status: chat.status() }));
    }, refreshMs);
    return () => clearInterval(timer);
  }, [chat, refreshMs, dispatch, attempt]);

  useEffect(() => {
    dispatch({ type: 'resize', columns: size.columns, rows: size.rows });
  }, [size.columns, size.rows, dispatch]);

  const current = state.current;
  useEffect(() => {
    if (current === undefined) return;
    attempt(() => chat.markRead(current));
    if (!conversationOf(stateRef.current!, current).loaded) {
      attempt(() => dispatch({ type: 'history-loaded', address: current, entries: chat.history(current, HISTORY_LOAD_LIMIT) }));
    }
  }, [chat, current, dispatch, attempt]);

  const submit = useCallback(() => {
    const text = stateRef.current!.input.text;
    dispatch({ type: 'input-submitted' });
    const outcome = runCommand(chat, stateRef.current!, parseInput(text), nowRef.current());
    for (const action of outcome.actions) dispatch(action);
    void outcome.later?.then((actions) => {
      for (const action of actions) dispatch(action);
    });
    if (outcome.quit) exitRef.current();
  }, [chat, dispatch]);

  const onKey = useCallback(
    (input: string, key: KeyPress) => {
      for (const intent of bindInput(input, key)) {
        if (intent.type === 'quit') {
          exitRef.current();
          return;
        }
        if (intent.type === 'submit') submit();
        else dispatch(intent);
      }
    },
    [submit, dispatch],
  );
  useInput(onKey);

  return <ChatScreen state={state} />;
}
