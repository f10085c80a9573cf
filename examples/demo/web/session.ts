import { QueryClient } from '@tanstack/react-query';
import { createTRPCClient } from '@trpc/client';
import type { TRPCClient } from '@trpc/client';
import type { TokenSource, WsClient } from 'trpc-lanyard/client';
import { createTokenSource, createWSClient, wsLink } from 'trpc-lanyard/client';
import type { DemoRouter } from '../server/router.js';
import { fetchAccessToken, fetchDocGrant, SignedOutError, signOut } from './api.js';
import { DocGrants } from './docGrants.js';
import { ConnectionMonitor } from './monitor.js';
import type { ClusterInfo } from './nodes.js';
import { NodeRing } from './nodes.js';
import { stopOf } from './status.js';

/** One signed-in user's clients: created at sign-in, closed at sign-out. */
export interface ClientSession {
  readonly wsClient: WsClient;
  readonly trpcClient: TRPCClient<DemoRouter>;
  readonly queryClient: QueryClient;
  readonly tokens: TokenSource;
  readonly monitor: ConnectionMonitor;
  /** The document panel's grants: the wsLink's grant provider, and what it handed out. */
  readonly docGrants: DocGrants;
  /** Closes the socket; with `signOut`, also ends the refresh cookie. */
  close(opts?: { signOut?: boolean }): Promise<void>;
}

export function openSession(firstToken: string, cluster: ClusterInfo): ClientSession {
  const nodes = new NodeRing(cluster);
  let unused: string | null = firstToken; // sign-in already answered with one
  const tokens = createTokenSource({
    fetchToken: async () => {
      const token = unused ?? (await fetchAccessToken(nodes.apiOrigin()).catch(onTokenFailure));
      unused = null;
      return token;
    },
  });
  /**
   * A 401 from the token endpoint means the refresh cookie no longer yields tokens (the server
   * restarted, or revoked or signed out the user): reconnecting cannot help, so stop the client
   * and say so. Any other failure (the server is down, the network) is transient: the client
   * retries with backoff.
   */
  function onTokenFailure(error: unknown): never {
    // After a 'stop' close (a revocation) the endpoint says 401 too, but the close's code and
    // reason say more: closing the client would replace them with "signed out".
    if (error instanceof SignedOutError && !stopped()) {
      monitor.markSignedOut(error.message);
      void wsClient.close();
    }
    throw error;
  }
  const wsClient = createWSClient({
    url: nodes.wsUrl,
    // Evaluated for every socket and every in-band refresh; `request.reason` tells the token
    // source when the token it holds is stale ('refresh', 'refused'), so it fetches a new one.
    connectionParams: async (request) => ({ token: await tokens.get(request) }),
  });
  const stopped = () => stopOf(wsClient.connectionState.get()) !== null;
  // Document grants come from the same origin as access tokens, and a 401 there means the same.
  // A stopped client gets none: it may still ask, for a subscription it is about to fail.
  const docGrants = new DocGrants(async (docId) => (stopped() ? null : fetchDocGrant(docId, nodes.apiOrigin()).catch(onTokenFailure)));
  // `grant`: asked for a token whenever a subscription is sent, re-sent or its grant is expiring; only `doc.watch` needs one.
  const trpcClient = createTRPCClient<DemoRouter>({ links: [wsLink<DemoRouter>({ client: wsClient, grant: docGrants.provide })] });
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false } } });
  const monitor = new ConnectionMonitor(wsClient, tokens, firstToken);
  return {
    wsClient,
    trpcClient,
    queryClient,
    tokens,
    monitor,
    docGrants,
    async close(opts) {
      monitor.dispose();
      queryClient.clear();
      await wsClient.close();
      if (opts?.signOut) await signOut(nodes.apiOrigin()).catch(() => undefined);
    },
  };
}
