/**
 * The load balancer of the several-instance setups, run as its own process so that it never
 * shares an event loop with the load generator or a service: a round-robin TCP proxy. Each
 * connection it accepts goes to the next of PROXY_PORTS (on 127.0.0.1), bytes piped both ways
 * with Nagle off. It balances connections, not requests, as a layer-4 balancer does: the load
 * generator's keep-alive connections split evenly between the instances. Sends {type:'ready', port}.
 */
import net from 'node:net';

const ports = (process.env.PROXY_PORTS ?? '').split(',').map(Number).filter(Boolean);
if (!ports.length) throw new Error('PROXY_PORTS is not set');
let next = 0;

const server = net.createServer((client) => {
  const upstream = net.connect(ports[next++ % ports.length], '127.0.0.1');
  const close = () => (client.destroy(), upstream.destroy());
  for (const socket of [client, upstream]) {
    socket.setNoDelay(true);
    socket.on('error', close).on('close', close);
  }
  client.pipe(upstream).pipe(client);
});

server.listen(0, '127.0.0.1', () => process.send?.({ type: 'ready', port: (server.address() as net.AddressInfo).port }));
process.once('SIGTERM', () => process.exit(0));
