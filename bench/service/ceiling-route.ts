import type { AddressInfo } from 'node:net';
import express from 'express';

/**
 * The route of both ingest ceilings (ceiling-ingest.ts on SQLite, ceiling-ingest-pg.ts on
 * PostgreSQL): a bare express 5 app that reads the webhook's body the way the service does
 * (express.raw, JSON.parse) and hands it to one INSERT. Sends {type:'ready', port} when
 * listening; on SIGTERM stops listening, then `close`s the database and exits.
 */
export function serveCeiling(insert: (ticketId: string, body: string) => Promise<unknown>, close: () => Promise<void>) {
  const app = express();
  app.disable('x-powered-by');
  app.post('/webhooks/ticket-closed', express.raw({ type: () => true, limit: '100kb' }), async (req, res) => {
    const text = (req.body as Buffer).toString('utf8');
    const payload = JSON.parse(text) as { ticket_id: string };
    const id = await insert(payload.ticket_id, text);
    res.status(202).json({ id, status: 'scheduled' });
  });
  const server = app.listen(0, '127.0.0.1', () => process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port }));
  process.once('SIGTERM', () => {
    server.close(() => void close().finally(() => process.exit(0)));
    server.closeAllConnections();
  });
}
