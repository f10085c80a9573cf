/**
 * trpc-lanyard: the same three entry points, from the built package (`dist/`), as users get
 * it. Stock is measured from its published `dist/` too; running our sources through tsx
 * instead would charge us for esbuild's `__name` helper on every closure.
 * `npm run bench` builds first.
 */
import { createWSClient, wsLink } from 'trpc-lanyard/client';
import { applyWSSHandler } from 'trpc-lanyard/server';
import type { BenchImpl } from './types.js';

export { applyWSSHandler, createWSClient, wsLink };

export const impl: BenchImpl = { applyWSSHandler, createWSClient, wsLink };
