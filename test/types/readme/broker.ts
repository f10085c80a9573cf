// The README's example "Multi-node streams (trpc-lanyard/broker)", server side, compiled by `npm run typecheck`.
// test/types/readme.test.ts checks that the code between the markers is the README's, character for character.
export declare const db: { roomState(room: string): Promise<{ messages: string[] }> };
// #region readme
import { initTRPC } from '@trpc/server';
import { createMemoryBroker } from 'trpc-lanyard/broker';

const broker = createMemoryBroker({ historySize: 1_000, historyTtlMs: 5 * 60_000 });
const t = initTRPC.create();
type Room = { room: string; lastEventId?: string | null };

export const chatRouter = t.router({
  send: t.procedure
    .input((v: unknown) => v as { room: string; text: string })
    .mutation(({ input }) => broker.publish(`room:${input.room}`, { text: input.text })),
  // Resumes after lastEventId; beyond the history, fails with the typed history gap.
  messages: t.procedure.input((v: unknown) => v as Room).subscription(async function* ({ input, signal }) {
    yield* broker.stream<{ text: string }>(`room:${input.room}`, { lastEventId: input.lastEventId, signal });
  }),
  // Or recover on the server: a snapshot instead of the gap, then live events.
  messagesOrSnapshot: t.procedure.input((v: unknown) => v as Room).subscription(async function* ({ input, signal }) {
    yield* broker.stream<{ text: string }, { messages: string[] }>(`room:${input.room}`, {
      lastEventId: input.lastEventId,
      signal,
      onGap: () => db.roomState(input.room),
    });
  }),
});
// #endregion
