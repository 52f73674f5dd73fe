import { Router } from 'express';
import { z } from 'zod';
import { adminAuth } from '../shared/auth';
import { AppError } from '../shared/errors';
import type { PrivacyService } from './service';
import type { AuditHook } from '../shared/access';

/** `DELETE /api/customers/:email` (ADMIN_TOKEN): erases a customer everywhere (erase.ts). */
export function privacyRoutes(deps: { privacy: PrivacyService; token: string; previousToken?: string; audit?: AuditHook }): Router {
  const router = Router();
  router.delete('/api/customers/:email', adminAuth(deps.token, deps.previousToken), async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const email = String(req.params.email);
    if (!z.string().email().safeParse(email.trim()).success) {
      throw new AppError(400, 'invalid_request', 'Name the customer by email address.', [{ path: 'email', message: 'must be an email address' }]);
    }
    const erased = await deps.privacy.eraseCustomer(email);
    // The trail says an erasure happened and what it touched, never whose: that address is what was erased.
    await deps.audit?.(res, { actor: 'admin-token', action: 'erasure', detail: { ...erased } });
    res.json({ erased });
  });
  return router;
}
