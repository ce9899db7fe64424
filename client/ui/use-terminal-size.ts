/**
 * The terminal's size as React state, from ink's stdout and its 'resize' events (ink
 * itself ignores resizes when the CI environment variable is set; this hook does not).
 *
 * Not layout: what the size means is layout.ts.
 */
import { useStdout } from 'ink';
import { useEffect, useState } from 'react';
import type { TerminalSize } from './ui-state.js';

function read(stdout: NodeJS.WriteStream): TerminalSize {
  return { columns: stdout.columns || 80, rows: stdout.rows || 24 };
}

export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const [size, setSize] = useState(() => read(stdout));
  useEffect(() => {
    const onResize = (): void => {
      const next = read(stdout);
      setSize((prev) => (prev.columns === next.columns && prev.rows === next.rows ? prev : next));
    };
    onResize();
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}
