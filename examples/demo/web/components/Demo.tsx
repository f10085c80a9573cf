import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useSyncExternalStore } from 'react';
import type { ClientSession } from '../session.js';
import { useTRPC } from '../trpc.js';
import { Actions } from './Actions.js';
import { DocumentPanel } from './DocumentPanel.js';
import { Room } from './Room.js';
import { StatusPanel } from './StatusPanel.js';
import { SignedOut, Stopped } from './Stopped.js';

export function Demo({ session, onLeave }: { session: ClientSession; onLeave: (signOut: boolean) => Promise<void> }) {
  const snapshot = useSyncExternalStore(session.monitor.subscribe, session.monitor.getSnapshot);
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // The session ended for good: a 'stop' close (revoked, forbidden), or the token endpoint said
  // 401. Nothing that makes a call may stay mounted: a new call would open a new socket.
  const ended = snapshot.stop !== null || snapshot.signedOut !== null;
  const me = useQuery({ ...trpc.me.queryOptions(), enabled: !ended });
  const signInAgain = () => void onLeave(true);

  // `me` shows what the server's session says: ask again whenever the session changed.
  useEffect(() => {
    if (!ended) void queryClient.invalidateQueries(trpc.me.queryFilter());
  }, [snapshot.refreshes, snapshot.socketsOpened, ended, queryClient, trpc]);

  return (
    <main className="demo">
      <header>
        <h1>trpc-lanyard <span>live auth demo</span></h1>
        {ended ? (
          <div className="me" data-testid="me">
            <b>signed out</b>
            <button className="link" onClick={signInAgain}>sign in again</button>
          </div>
        ) : (
          <div className="me" data-testid="me">
            signed in as <b data-testid="me-name">{me.data?.name ?? '…'}</b>, role <b data-testid="me-role">{me.data?.role ?? '…'}</b>
            {me.data?.node != null && (
              <>
                , served by node <b data-testid="me-node">{me.data.node}</b>
              </>
            )}
            <button className="link" onClick={signInAgain}>sign out</button>
          </div>
        )}
      </header>
      <div className="layout">
        <aside>
          <StatusPanel snapshot={snapshot} />
          {!ended && me.data && <Actions role={me.data.role} node={me.data.node} />}
        </aside>
        <section className="rooms">
          {snapshot.stop ? (
            <Stopped stop={snapshot.stop} onSignInAgain={signInAgain} />
          ) : snapshot.signedOut !== null ? (
            <SignedOut message={snapshot.signedOut} onSignInAgain={signInAgain} />
          ) : (
            <>
              <Room room="public" role={me.data?.role} />
              <Room room="private" role={me.data?.role} />
              <DocumentPanel docId="roadmap" grants={session.docGrants} grantRefreshes={snapshot.grantRefreshes} />
            </>
          )}
        </section>
      </div>
    </main>
  );
}
