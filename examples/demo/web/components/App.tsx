import { QueryClientProvider } from '@tanstack/react-query';
import { useState } from 'react';
import type { ClientSession } from '../session.js';
import { openSession } from '../session.js';
import { loadClusterInfo } from '../nodes.js';
import { TRPCProvider } from '../trpc.js';
import { Demo } from './Demo.js';
import { SignIn } from './SignIn.js';

export function App() {
  const [session, setSession] = useState<ClientSession | null>(null);
  const [generation, setGeneration] = useState(0);

  if (session === null) {
    return (
      <SignIn
        onSignedIn={(token) =>
          void loadClusterInfo().then((cluster) => {
            setSession(openSession(token, cluster));
            setGeneration((n) => n + 1);
          })
        }
      />
    );
  }
  const leave = async (signOut: boolean) => {
    await session.close({ signOut });
    setSession(null);
  };
  return (
    <QueryClientProvider client={session.queryClient} key={generation}>
      <TRPCProvider trpcClient={session.trpcClient} queryClient={session.queryClient}>
        <Demo session={session} onLeave={leave} />
      </TRPCProvider>
    </QueryClientProvider>
  );
}
