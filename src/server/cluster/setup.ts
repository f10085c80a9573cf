import type { ClusterControl } from '../../broker/control/clusterControl.js';
import { createClusterControl } from '../../broker/control/clusterControl.js';
import { createMemoryControlBus } from '../../broker/control/memory.js';
import type { SessionBase } from '../auth/types.js';
import type { ClusterHost } from './member.js';
import { ClusterMember } from './member.js';
import type { ClusterOptions } from './options.js';
import { clusterDefaults } from './options.js';
import { RevocationGate } from './revocationGate.js';

/** A handler's cluster side: the gate its sessions pass, its membership, and the calls it makes. */
export interface ClusterSide<TSession extends SessionBase> {
  readonly gate: RevocationGate<TSession>;
  readonly member: ClusterMember<TSession>;
  readonly control: ClusterControl;
}

/**
 * Joins the handler to its broker's control bus, or, with `sessionKeys` but no broker, to a bus
 * of its own in memory (sticky revocation on one node). Null when neither is configured.
 */
export function setUpCluster<TSession extends SessionBase>(
  options: ClusterOptions<TSession>,
  host: ClusterHost<TSession>,
  recheckMs: number,
): ClusterSide<TSession> | null {
  const bus = options.broker?.control ?? (options.sessionKeys ? createMemoryControlBus() : null);
  if (bus === null) return null;
  const gate = new RevocationGate<TSession>(bus, options.sessionKeys, options.onRevocationsUnavailable ?? clusterDefaults.onRevocationsUnavailable);
  const member = new ClusterMember(bus, gate, host, recheckMs);
  const control = createClusterControl(
    bus,
    {
      timeoutMs: options.clusterTimeoutMs ?? clusterDefaults.clusterTimeoutMs,
      revocationTtlMs: options.revocationTtlMs ?? clusterDefaults.revocationTtlMs,
    },
    { node: member.id, apply: (command, sentAt) => member.apply(command, sentAt) },
  );
  return { gate, member, control };
}
