import { randomUUID } from 'node:crypto';
import { BrokerClosedError } from '../errors.js';
import type { ControlBus, ControlEnvelope, ControlNode, ControlReply, RevocationRecord } from './types.js';

/** Most revocation records kept in memory; beyond it expired ones are swept, then the oldest written dropped. */
const MAX_RECORDS = 100_000;

/**
 * The control bus of one process: every handler sharing a memory broker is a node of it.
 * Commands are delivered on a later microtask, in post order; records live in a map that
 * forgets each one when it expires (checked when read, and swept as it grows).
 */
export function createMemoryControlBus(): ControlBus & { close(): void } {
  const id = randomUUID();
  const nodes = new Set<ControlNode>();
  const replyListeners = new Set<(reply: ControlReply) => void>();
  const records = new Map<string, { record: RevocationRecord; untilMs: number }>();
  let closed = false;

  const sweep = (now: number): void => {
    for (const [key, entry] of records) if (entry.untilMs <= now) records.delete(key);
  };
  const deliver = (envelope: ControlEnvelope): void => {
    for (const node of [...nodes]) {
      if (envelope.appliedBy === node.id) continue;
      const affected = node.apply(envelope);
      const reply: ControlReply = { id: envelope.id, node: node.id, affected };
      for (const listener of [...replyListeners]) listener(reply);
    }
  };

  return {
    id,
    writeRevocation(record, ttlMs) {
      if (closed) return Promise.reject(new BrokerClosedError());
      const now = Date.now();
      if (records.size >= MAX_RECORDS) sweep(now);
      records.delete(record.key); // re-inserted last: the map stays in order of writing
      records.set(record.key, { record, untilMs: now + ttlMs });
      if (records.size > MAX_RECORDS) records.delete(records.keys().next().value as string);
      return Promise.resolve();
    },
    liftRevocation(key) {
      const entry = records.get(key);
      records.delete(key);
      return Promise.resolve(entry !== undefined && entry.untilMs > Date.now());
    },
    readRevocations(keys) {
      const now = Date.now();
      const found: RevocationRecord[] = [];
      for (const key of new Set(keys)) {
        const entry = records.get(key);
        if (entry === undefined) continue;
        if (entry.untilMs <= now) records.delete(key);
        else found.push(entry.record);
      }
      return Promise.resolve(found);
    },
    post(envelope) {
      if (closed) return Promise.reject(new BrokerClosedError());
      queueMicrotask(() => {
        if (!closed) deliver(envelope);
      });
      return Promise.resolve();
    },
    nodes: () => Promise.resolve([...nodes].map((node) => node.id)),
    join(node) {
      nodes.add(node);
      return { leave: () => void nodes.delete(node) };
    },
    onReply(listener) {
      replyListeners.add(listener);
      return () => void replyListeners.delete(listener);
    },
    close() {
      closed = true;
      nodes.clear();
      replyListeners.clear();
    },
  };
}
