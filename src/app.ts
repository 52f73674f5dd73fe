import express from 'express';
import { AppError } from './shared/errors';
import { errorHandler, requestContext } from './shared/http';
import { credentialFailureLimit, publicRateLimit, securityHeaders, webhookFailureLimit } from './shared/security';
import { webhookRoutes } from './ticket-webhooks/routes';
import { webhookMetrics } from './ticket-webhooks/metrics';
import { opsRoutes } from './ops/routes';
import { adapterRoutes } from './ticket-webhooks/adapter-routes';
import { ratingRoutes } from './ratings/routes';
import { reportRoutes } from './reports/routes';
import { previewRoutes } from './delivery/routes';
import { unsubscribeRoutes } from './unsubscribe/routes';
import { apiRoutes } from './api/routes';
import { privacyRoutes } from './privacy/routes';
import { followupPageRoutes } from './followups/routes';
import { readSession, signinRoutes } from './signin/routes';
import { sessionCookie } from './signin/cookies';
import { userRoutes } from './people/routes';
import type { Services } from './services';
import type { AuditHook } from './shared/access';
import { pendingMigrations } from './schema';

/** Builds the HTTP app; never listens, so tests drive it with supertest. */
export function createApp(s: Services): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Every answer is fresh (pages say no-store; webhooks and the API are not cached): no ETag to hash per response.
  app.disable('etag');
  app.set('trust proxy', s.config.trustProxy);
  app.use(requestContext(s.logger, s.metrics));
  app.use(securityHeaders(app));
  // Webhooks first: the busiest routes meet no other router on their way (no other route's path starts with /webhooks).
  const failureLimit = webhookFailureLimit(s.config.rateLimits);
  app.use('/webhooks', webhookMetrics(s.metrics), failureLimit.track);
  app.use(webhookRoutes({ tickets: s.tickets, clock: s.clock, secret: s.config.webhookSecret, previousSecret: s.config.previous.webhookSecret }));
  app.use(adapterRoutes({ tickets: s.tickets, clock: s.clock, secrets: s.config.helpdesks }));
  app.use('/webhooks', failureLimit.gate);
  const credentialLimit = credentialFailureLimit(s.config.rateLimits);
  app.use(['/reports', '/api', '/preview', '/metrics', '/followups'], credentialLimit.track);
  app.use(opsRoutes({ db: s.db, pendingMigrations, metrics: s.metrics, metricsToken: s.config.metricsToken, production: s.config.nodeEnv === 'production' }));
  app.use(['/r', '/u', '/login'], publicRateLimit(s.config.rateLimits));
  const audit: AuditHook = (res, event) => s.audit.record({ ...event, ip: res.req.ip ?? null });
  const cookie = sessionCookie(s.config.publicUrl, s.config.sessions.maxHours);
  app.use(['/login', '/logout', '/me', '/reports', '/followups'], readSession(s.signin, cookie, s.config.agentView));
  app.use(signinRoutes({ signin: s.signin, views: s.views, publicUrl: s.config.publicUrl, cookie, agentView: s.config.agentView, sso: s.sso, logger: s.logger.child({ component: 'signin' }) }));
  app.use(ratingRoutes({ ratings: s.ratings, views: s.views, publicUrl: s.config.publicUrl, definitions: s.definitions }));
  app.use(privacyRoutes({ privacy: s.privacy, token: s.config.adminToken, previousToken: s.config.previous.adminToken, audit }));
  app.use(userRoutes({ users: s.users, audit: s.audit, token: s.config.adminToken, previousToken: s.config.previous.adminToken }));
  app.use(apiRoutes({ api: s.api, token: s.config.adminToken, previousToken: s.config.previous.adminToken }));
  app.use(followupPageRoutes({ followups: s.followups, views: s.views, clock: s.clock, publicUrl: s.config.publicUrl, token: s.config.adminToken, previousToken: s.config.previous.adminToken }));
  app.use(unsubscribeRoutes({ views: s.views, unsubscribe: s.unsubscribe }));
  app.use(previewRoutes({ definitions: s.definitions, views: s.views, publicUrl: s.config.publicUrl, mailFrom: s.config.mailFrom, token: s.config.reportsToken, previousToken: s.config.previous.reportsToken }));
  app.use(reportRoutes({ reports: s.reports, views: s.views, clock: s.clock, tz: s.config.reportTz, token: s.config.reportsToken, previousToken: s.config.previous.reportsToken, audit }));

  app.use(credentialLimit.gate);

  app.use(() => {
    throw new AppError(404, 'not_found');
  });
  app.use(errorHandler(s.views));
  return app;
}
