/** trpc-lanyard: the same three entry points, from this repository's sources. */
import { createWSClient, wsLink } from '../../src/client/index.js';
import { applyWSSHandler } from '../../src/server/index.js';
import type { BenchImpl } from './types.js';

export { applyWSSHandler, createWSClient, wsLink };

export const impl: BenchImpl = { applyWSSHandler, createWSClient, wsLink };
