/**
 * Polls `check` until it holds; fails the test after `timeoutMs`. The bound is a safety net for a
 * very busy machine (what is awaited normally takes milliseconds), kept below jest's testTimeout
 * so a miss fails here, with this message, rather than as a timeout.
 */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
