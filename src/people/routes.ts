import express, { Router, type Request } from 'express';
import { z } from 'zod';
import { adminAuth } from '../shared/auth';
import { AppError } from '../shared/errors';
import { parseOr400, validateQuery, validQuery } from '../shared/validation';
import { supportedDayOrInstant } from '../shared/dates';
import { AUDIT_ACTIONS, type AuditService } from '../audit/service';
import { newUser, userChange } from './users';
import type { UserService } from './service';

const idParam = (req: Request) => {
  if (!/^[1-9]\d{0,8}$/.test(String(req.params.id))) throw new AppError(404, 'not_found');
  return Number(req.params.id);
};

const auditQuery = z.object({
  action: z.enum(AUDIT_ACTIONS).optional(),
  actor: z.string().max(320).optional(),
  from: supportedDayOrInstant.transform((s) => new Date(s)).optional(),
  to: supportedDayOrInstant.transform((s) => new Date(s)).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z.coerce.number().int().min(1).max(2_147_483_647).optional(),
});

/** Users and roles (`{email, name, role, teams?, agent_id?}`) and the audit trail, behind the admin credential. */
export function userRoutes(deps: { users: UserService; audit: AuditService; token: string; previousToken?: string }): Router {
  const router = Router();
  const by = (req: Request) => ({ actor: 'admin-token', ip: req.ip ?? null });
  router.use(['/api/users', '/api/audit'], adminAuth(deps.token, deps.previousToken), (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  router.get('/api/users', async (_req, res) => void res.json({ items: await deps.users.list() }));
  router.post('/api/users', express.json({ limit: '16kb' }), async (req, res) => {
    const input = parseOr400(newUser, req.body ?? {}, 'invalid_user', 'Check the user.');
    res.status(201).json(await deps.users.add(input, by(req)));
  });
  router.get('/api/users/:id', async (req, res) => {
    const user = await deps.users.get(idParam(req));
    if (!user) throw new AppError(404, 'not_found');
    res.json(user);
  });
  router.patch('/api/users/:id', express.json({ limit: '16kb' }), async (req, res) => {
    const id = idParam(req);
    const change = parseOr400(userChange, req.body ?? {}, 'invalid_user', 'Check the change.');
    res.json(await deps.users.change(id, change, by(req)));
  });
  router.delete('/api/users/:id', async (req, res) => {
    await deps.users.remove(idParam(req), by(req));
    res.status(204).end();
  });
  router.get('/api/audit', validateQuery(auditQuery, 'Check the filters.'), async (_req, res) => {
    const q = validQuery(res, auditQuery);
    res.json(await deps.audit.list({ action: q.action, actor: q.actor, from: q.from, to: q.to }, q.limit, q.before));
  });
  return router;
}
