import net from 'node:net';

/**
 * Loopback ports for the service run as a child process. The OS picks each one (a guessed port
 * can be any socket's on a busy machine: other servers, a client's local port, TIME_WAIT), it is
 * released, and the child binds it. Between the two another process can still take it; the child
 * then exits saying EADDRINUSE (src/main.ts), which `lostPort` recognises so the caller starts it
 * again on another port rather than fail the test. Wait for the child's own "listening" line, not
 * for an answer on the port: the process that took the port could answer.
 */
export async function freePorts(count: number): Promise<number[]> {
  // Held open together, so the ports of one call are distinct.
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => resolve(s)); })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0];
}

/** Whether a child's output says its port was taken before it could listen. */
export const lostPort = (output: string): boolean => /\bEADDRINUSE\b/.test(output);

/** How often a start is tried on a fresh port before the test fails. */
export const PORT_ATTEMPTS = 5;
