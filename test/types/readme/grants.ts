// The README's example "Per-subscription grants", compiled by `npm run typecheck`.
// test/types/readme.test.ts checks that the code between the markers is the README's, character for character.
import type { Session } from './world.js';
import { docEvents, fetchDocToken, showNoAccess, url, verifyDocToken } from './world.js';
// #region readme
import { createTRPCClient } from '@trpc/client';
import { initTRPC, TRPCError } from '@trpc/server';
import { grantErrorReason } from 'trpc-lanyard';
import { createWSClient, wsLink } from 'trpc-lanyard/client';
import { requireGrant } from 'trpc-lanyard/server';

type Context = { session: Session | null };
const t = initTRPC.context<Context>().create();

const docRouter = t.router({
  watch: t.procedure
    // Before .input(): a stock client's token (input.grant) is taken out before the parsers run.
    .use(
      requireGrant<Context, { docId: string; canEdit: boolean; expiresAt: number }>({
        verify: async ({ ctx, input, token }) => {
          const claims = await verifyDocToken(token); // your document service's signed token
          if (claims.sub !== ctx.session?.userId || claims.docId !== (input as { docId?: unknown }).docId) {
            throw new TRPCError({ code: 'FORBIDDEN', message: 'this grant does not open this document' });
          }
          return { docId: claims.docId, canEdit: claims.canEdit, expiresAt: claims.exp * 1000 };
        },
      }),
    )
    .input((raw) => ({ docId: String((raw as { docId: unknown }).docId) }))
    .subscription(async function* ({ ctx, signal }) {
      yield* docEvents(ctx.grant.docId, signal); // ctx.grant: what verify returned
    }),
});
export const appRouter = t.router({ doc: docRouter });

// Client: one provider for every subscription; undefined = needs no grant, null = give it up.
const trpc = createTRPCClient<typeof appRouter>({
  links: [
    wsLink({
      client: createWSClient({ url }),
      grant: ({ path, input }) => (path === 'doc.watch' ? fetchDocToken((input as { docId: string }).docId) : undefined),
    }),
  ],
});
trpc.doc.watch.subscribe(
  { docId: '7' },
  {
    onData: (event) => console.log(event.text),
    onError: (error) => {
      if (grantErrorReason(error) === 'grant-refused') showNoAccess('7'); // only this subscription ended
    },
  },
);
// #endregion
