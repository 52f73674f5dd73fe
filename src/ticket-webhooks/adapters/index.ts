import type { Adapter } from './types';
import { zendesk } from './zendesk';
import { helpscout } from './helpscout';
import { freshdesk } from './freshdesk';
import { intercom } from './intercom';

export { AdapterMappingError, type Adapter, type AdapterResult, type InboundRequest } from './types';

/** One adapter per helpdesk: POST /webhooks/<source> verifies with adapter.verify, then maps with adapter.map. */
export const adapters: Record<Adapter['source'], Adapter> = { zendesk, helpscout, freshdesk, intercom };
