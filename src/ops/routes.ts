import { Router } from 'express';
import type { Db } from '../shared/db';
import { readiness } from './service';
import { tokenAuth } from '../shared/auth';
import type { Metrics } from '../shared/metrics';

/**
 * For operators and load balancers: /healthz (the process answers), /readyz (the database
 * answers and its schema is current: send traffic here), /metrics (Prometheus text; behind
 * METRICS_TOKEN when set; in production only then).
 */
export function opsRoutes(deps: { db: Db; pendingMigrations: (db: Db) => Promise<number>; metrics: Metrics; metricsToken?: string; production?: boolean }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const ready = await readiness(deps.db, deps.pendingMigrations);
    res.status(ready.status === 'ready' ? 200 : 503).json(ready);
  });

  // Metrics name routes, volumes and failures: in production they are served only behind METRICS_TOKEN.
  if (deps.production && !deps.metricsToken) return router;
  const guard = deps.metricsToken ? [tokenAuth(deps.metricsToken, 'Closeloop metrics', 'metrics token')] : [];
  router.get('/metrics', ...guard, async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return router;
}
