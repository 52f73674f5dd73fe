import type { Db } from '../shared/db';
import type { Clock } from '../shared/clock';
import * as repo from './repository';
import { record, type AuditEvent } from './record';

export type { AuditFilter } from './repository';
export type { AuditEvent, AuditAction } from './record';
export { AUDIT_ACTIONS } from './record';
export type AuditService = ReturnType<typeof createAuditService>;

const DAY_MS = 86_400_000;

/** The audit trail: sign-ins, failed sign-ins, exports, erasures, user and role changes (GET /api/audit). */
export function createAuditService(deps: { db: Db; clock: Clock; retentionDays: number }) {
  const { db, clock } = deps;
  return {
    record: (event: AuditEvent, trx?: Parameters<typeof record>[0]) => record(trx ?? db, event, clock.now()),
    list: (filter: repo.AuditFilter, limit: number, before?: number) => repo.listEvents(db, filter, limit, before),
    /** Deletes what is older than AUDIT_RETENTION_DAYS; answers how many. */
    prune: () => repo.pruneBefore(db, new Date(clock.now().getTime() - deps.retentionDays * DAY_MS)),
  };
}
