// The README's example "Multi-node streams (trpc-lanyard/broker)", client side, compiled by `npm run typecheck`.
// test/types/readme.test.ts checks that the code between the markers is the README's, character for character.
import type { createTRPCClient } from '@trpc/client';
import type { chatRouter } from './broker.js';
declare const trpc: ReturnType<typeof createTRPCClient<typeof chatRouter>>;
declare function show(id: string, message: { text: string }): void;
declare function reloadRoom(room: string): Promise<void>;
// #region readme
import { isHistoryGapError } from 'trpc-lanyard';

// The same with stock @trpc/client's wsLink: the gap is an ordinary subscription error.
function follow(room: string) {
  trpc.messages.subscribe({ room }, {
    onData: ({ id, data }) => show(id, data),
    onError: (err) => {
      if (!isHistoryGapError(err)) return console.error(err);
      follow(room); // the missed events are gone: follow live again, then reload (apply events idempotently)
      void reloadRoom(room);
    },
  });
}
// #endregion
export { follow };
