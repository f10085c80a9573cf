// The README's example of `reauthenticate()` (Refresh and expiry), compiled by `npm run typecheck` (tsc --strict).
// test/types/readme.test.ts checks that the code between the markers is the README's, character for character.
import { createWSClient } from 'trpc-lanyard/client';
import { auth, url } from './world.js';
// #region readme
const wsClient = createWSClient({ url, connectionParams: async () => ({ token: await auth.getToken() }) });
await wsClient.reauthenticate(); // resolves with { expiresAt } once the server accepted it; rejects (UNAUTHORIZED / FORBIDDEN) if not
// #endregion
