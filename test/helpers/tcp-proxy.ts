import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A loopback TCP proxy to a real server that a test can cut and restore, as a database that
 * goes away (network loss, restart) and comes back would look to the client.
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  let cut = false;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      if (server) return resolve(); // already accepting
      server = net.createServer((client) => {
        if (cut) return void client.resetAndDestroy();
        const upstream = net.connect(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => (s === client ? upstream : client).destroy());
        }
        client.pipe(upstream);
        upstream.pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as AddressInfo).port;
        resolve();
      });
    });

  const closeServer = () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));

  await listen();
  return {
    get port() {
      return port;
    },
    /**
     * Drops every open connection, and until restore() resets each new one as it connects: the
     * client's connect fails (ECONNRESET). The proxy keeps its port meanwhile, because a port let go
     * can be taken by another process before restore() asks for it back. `refuse: true` lets it go
     * for a true refusal (ECONNREFUSED); keep such a cut short.
     */
    async cut(options: { refuse?: boolean } = {}) {
      cut = true;
      for (const s of sockets) s.destroy();
      if (options.refuse) {
        const closing = closeServer();
        server = undefined;
        await closing;
      }
    },
    /** Accepts connections again, on the same port. */
    async restore() {
      cut = false;
      await listen();
    },
    close() {
      for (const s of sockets) s.destroy();
      return closeServer();
    },
  };
}
