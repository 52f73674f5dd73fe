import { Router } from 'express';
import type { Db } from '../shared/db';
import { pendingMigrations } from '../shared/db';
import { tokenAuth } from '../shared/auth';
import type { Metrics } from '../shared/metrics';

/**
 * For operators and load balancers: /healthz (the process answers), /readyz (the database
 * answers and its schema is current: send traffic here), /metrics (Prometheus text; behind
 * METRICS_TOKEN when set; in production only then).
 */
export function opsRoutes(deps: { db: Db; metrics: Metrics; metricsToken?: string; production?: boolean }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    try {
      await deps.db.raw('SELECT 1');
      const pending = await pendingMigrations(deps.db);
      if (pending > 0) return void res.status(503).json({ status: 'not_ready', reason: 'migrations_pending', pending });
      res.json({ status: 'ready' });
    } catch {
      res.status(503).json({ status: 'not_ready', reason: 'database_unavailable' });
    }
  });

  // Metrics name routes, volumes and failures: in production they are served only behind METRICS_TOKEN.
  if (deps.production && !deps.metricsToken) return router;
  const guard = deps.metricsToken ? [tokenAuth(deps.metricsToken, 'Closeloop metrics', 'metrics token')] : [];
  router.get('/metrics', ...guard, async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return router;
}
