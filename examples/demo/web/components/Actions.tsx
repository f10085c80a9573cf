import { useMutation } from '@tanstack/react-query';
import type { Role } from '../../server/users.js';
import { useTRPC } from '../trpc.js';

/** The buttons that walk through the lifecycle. */
export function Actions({ role, node }: { role: Role; node: string | null }) {
  const trpc = useTRPC();
  const drop = useMutation(trpc.dropConnection.mutationOptions());
  const changeRole = useMutation(trpc.changeRole.mutationOptions());
  const revoke = useMutation(trpc.revokeMe.mutationOptions());
  const kill = useMutation(trpc.killNode.mutationOptions());
  const nextRole: Role = role === 'admin' ? 'member' : 'admin';

  return (
    <section className="panel actions" aria-label="lifecycle actions">
      <h2>Try it</h2>
      <div className="action">
        <button data-testid="btn-drop" disabled={drop.isPending} onClick={() => drop.mutate()}>
          Drop connection
        </button>
        <p>The server cuts your socket (no close frame) and posts while you are away. The client reconnects and both rooms resume from their last event id: nothing missed.</p>
      </div>
      {node !== null && (
        <div className="action">
          <button data-testid="btn-kill-node" className="danger" disabled={kill.isPending} onClick={() => kill.mutate()}>
            Kill this node ({node})
          </button>
          <p>Node {node} exits at once, as a crash would: no close frame, nothing saved. The client reconnects to the other node and both rooms resume there from Redis: nothing missed, nothing twice. The launcher restarts the killed node a few seconds later.</p>
        </div>
      )}
      <div className="action">
        <button data-testid="btn-role" disabled={changeRole.isPending} onClick={() => changeRole.mutate({ role: nextRole })}>
          Change role to {nextRole}
        </button>
        <p>The server asks your socket for a fresh token in band; the new role re-authorises every live subscription. As a member the private room ends with FORBIDDEN; the public room goes on. Back as admin, the private room rejoins.</p>
      </div>
      <div className="action">
        <button data-testid="btn-revoke" className="danger" disabled={revoke.isPending} onClick={() => revoke.mutate()}>
          Revoke me
        </button>
        <p>Server-side revocation: the socket closes with 4410 and a reason. The client shows it and stops retrying.</p>
      </div>
    </section>
  );
}
