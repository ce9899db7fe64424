/**
 * Polling helpers for integration tests: wait until a condition holds (or a probe yields a
 * value), failing with a message that names what was awaited. Test support only.
 */
export async function waitFor<T>(what: string, probe: () => T | null | undefined | false, timeoutMs = 5000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
