import type { Clock } from '../shared/clock';
import { eraseCustomer, type ErasureDeps } from './erase';
import { applyRetention } from './retention';

export type PrivacyService = ReturnType<typeof createPrivacyService>;

/** Erasure on request (DELETE /api/customers/:email) and the RETENTION_DAYS pass, on the service's clock. */
export function createPrivacyService(deps: ErasureDeps & { clock: Clock; retentionDays: number }) {
  return {
    eraseCustomer: (email: string) => eraseCustomer(deps, email, deps.clock.now()),
    retain: () => applyRetention(deps, deps.retentionDays, deps.clock.now()),
  };
}
