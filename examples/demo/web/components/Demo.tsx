import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useSyncExternalStore } from 'react';
import type { ClientSession } from '../session.js';
import { useTRPC } from '../trpc.js';
import { Actions } from './Actions.js';
import { Room } from './Room.js';
import { StatusPanel } from './StatusPanel.js';
import { Stopped } from './Stopped.js';

export function Demo({ session, onLeave }: { session: ClientSession; onLeave: (signOut: boolean) => Promise<void> }) {
  const snapshot = useSyncExternalStore(session.monitor.subscribe, session.monitor.getSnapshot);
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const stopped = snapshot.stop !== null;
  const me = useQuery({ ...trpc.me.queryOptions(), enabled: !stopped });

  // `me` shows what the server's session says: ask again whenever the session changed.
  useEffect(() => {
    if (!stopped) void queryClient.invalidateQueries(trpc.me.queryFilter());
  }, [snapshot.refreshes, snapshot.socketsOpened, stopped, queryClient, trpc]);

  return (
    <main className="demo">
      <header>
        <h1>trpc-lanyard <span>live auth demo</span></h1>
        <div className="me">
          signed in as <b data-testid="me-name">{me.data?.name ?? '…'}</b>, role <b data-testid="me-role">{me.data?.role ?? '…'}</b>
          <button className="link" onClick={() => void onLeave(true)}>sign out</button>
        </div>
      </header>
      <div className="layout">
        <aside>
          <StatusPanel snapshot={snapshot} />
          {!stopped && me.data && <Actions role={me.data.role} />}
        </aside>
        <section className="rooms">
          {snapshot.stop ? (
            <Stopped stop={snapshot.stop} onSignInAgain={() => void onLeave(true)} />
          ) : (
            <>
              <Room room="public" canPost />
              <Room room="private" canPost={me.data?.role === 'admin'} />
            </>
          )}
        </section>
      </div>
    </main>
  );
}
