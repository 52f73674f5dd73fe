import { AppError } from '../shared/errors';
import { isSupportedInstant } from '../shared/dates';

/**
 * A keyset position as the API hands it out: an instant (epoch ms) and the row's id, as an opaque
 * base64url string. `decodeCursor` takes back only what `encodeCursor` could have made (an instant
 * in the supported calendar, an id that `isId` accepts); anything else answers 400.
 */
export const encodeCursor = (at: number, id: string | number) => Buffer.from(JSON.stringify([at, id])).toString('base64url');

export function decodeCursor<Id>(value: string, isId: (id: unknown) => id is Id): { at: number; id: Id } {
  try {
    const [at, id] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (typeof at === 'number' && isSupportedInstant(at) && isId(id)) return { at, id };
  } catch {
    // falls through to the 400 below
  }
  throw new AppError(400, 'invalid_query', 'The cursor is not one this API gave out.', [{ path: 'cursor', message: 'is not valid' }]);
}
