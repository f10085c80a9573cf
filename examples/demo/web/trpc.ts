import { createTRPCContext } from '@trpc/tanstack-react-query';
import type { DemoRouter } from '../server/router.js';

/** The standard tRPC ⇄ TanStack Query integration; nothing in it knows about trpc-lanyard. */
export const { TRPCProvider, useTRPC } = createTRPCContext<DemoRouter>();
