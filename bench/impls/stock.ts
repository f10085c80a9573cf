/** Stock tRPC v11: `@trpc/server/adapters/ws` + `@trpc/client`. */
import { createWSClient, wsLink } from '@trpc/client';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import type { BenchImpl } from './types.js';

export { applyWSSHandler, createWSClient, wsLink };

export const impl: BenchImpl = { applyWSSHandler, createWSClient, wsLink };
