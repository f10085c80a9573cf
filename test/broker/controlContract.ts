import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createClusterControl } from '../../src/broker/index.js';
import type { ControlBus, ControlCommand, ControlEnvelope, ControlNode, ControlReply, RevocationRecord } from '../../src/broker/index.js';

/** Buses on one shared store, as the nodes of one cluster see it (memory: one bus, handed out N times). */
export interface ControlCluster {
  readonly buses: readonly ControlBus[];
  close(): Promise<void>;
}

/** Makes `count` buses on one store; `settleMs` is how long a backend may take to deliver (tests wait that long for strays). */
export type MakeControlCluster = (count: number) => Promise<ControlCluster>;

export interface ControlContractOptions {
  /** Longest time a command may take to reach a node when nothing is wrong (Redis: a poll interval and some). */
  readonly settleMs: number;
}

/** A node that records what it is told, and affects `affected` connections per command. */
export class RecordingNode implements ControlNode {
  readonly applied: ControlEnvelope[] = [];
  /** When each command was applied (performance.now()). */
  readonly appliedAt: number[] = [];
  resyncs = 0;
  readonly id: string;
  onApply: ((envelope: ControlEnvelope) => void) | null = null;

  constructor(
    label: string,
    readonly affected = 1,
  ) {
    this.id = `${label}-${randomUUID().slice(0, 8)}`;
  }

  apply(envelope: ControlEnvelope): number {
    this.applied.push(envelope);
    this.appliedAt.push(performance.now());
    this.onApply?.(envelope);
    return this.affected;
  }

  resynced(): void {
    this.resyncs += 1;
  }

  get ids(): string[] {
    return this.applied.map((envelope) => envelope.id);
  }
}

export function envelopeFrom(bus: ControlBus, command: ControlCommand, appliedBy: string | null = null): ControlEnvelope {
  return { id: randomUUID(), from: bus.id, appliedBy, sentAt: Date.now(), command };
}

export const reconnect: ControlCommand = { kind: 'reconnect' };

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` holds (polling), failing with `what` after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

/** Waits until every node is listed by `bus.nodes()`. */
export async function listed(bus: ControlBus, nodes: readonly ControlNode[]): Promise<void> {
  await eventually(async () => {
    const ids = await bus.nodes();
    return nodes.every((node) => ids.includes(node.id));
  }, `${nodes.map((node) => node.id).join(', ')} listed`);
}

/** A bus that also lists a node that never answers (a node that died with its heartbeat still fresh). */
function withGhost(bus: ControlBus, ghost: string): ControlBus {
  return {
    id: bus.id,
    writeRevocation: (record, ttlMs) => bus.writeRevocation(record, ttlMs),
    liftRevocation: (key) => bus.liftRevocation(key),
    readRevocations: (keys) => bus.readRevocations(keys),
    post: (envelope) => bus.post(envelope),
    nodes: async () => [...(await bus.nodes()), ghost],
    join: (node) => bus.join(node),
    onReply: (listener) => bus.onReply(listener),
  };
}

const sortRecords = (records: readonly RevocationRecord[]) => [...records].sort((a, b) => a.key.localeCompare(b.key));

/** The behaviour every `ControlBus` backend must have (run by test/broker/control<Backend>.test.ts). */
export function describeControlContract(name: string, makeCluster: MakeControlCluster, { settleMs }: ControlContractOptions): void {
  describe(`ControlBus contract: ${name}`, () => {
    const clusters: ControlCluster[] = [];
    const open = async (count: number): Promise<ControlBus[]> => {
      const cluster = await makeCluster(count);
      clusters.push(cluster);
      return [...cluster.buses];
    };
    const key = () => `user:${randomUUID()}`;
    afterEach(async () => {
      await Promise.all(clusters.splice(0).map((cluster) => cluster.close()));
    });

    it('delivers every command to every joined node once, in post order, except to the node that applied it itself', async () => {
      const [b0, b1, b2] = (await open(3)) as [ControlBus, ControlBus, ControlBus];
      const [a, b, c] = [new RecordingNode('a'), new RecordingNode('b'), new RecordingNode('c')];
      const memberships = [b0.join(a), b1.join(b), b2.join(c)];
      const posted: ControlEnvelope[] = [];
      for (let i = 0; i < 12; i += 1) {
        const appliedBy = i % 3 === 0 ? a.id : i % 3 === 1 ? b.id : null;
        const command: ControlCommand = i % 2 === 0 ? { kind: 'reauthenticate', key: `k${i}` } : reconnect;
        const envelope = envelopeFrom(b1, command, appliedBy);
        posted.push(envelope);
        await b1.post(envelope);
      }
      const expected = (node: RecordingNode) => posted.filter((e) => e.appliedBy !== node.id).map((e) => e.id);
      await eventually(() => [a, b, c].every((node) => node.applied.length >= expected(node).length), 'every node applied its commands');
      await sleep(settleMs); // nothing twice, late
      expect(a.ids).toEqual(expected(a));
      expect(b.ids).toEqual(expected(b));
      expect(c.ids).toEqual(posted.map((e) => e.id));
      expect(c.applied).toEqual(posted);
      for (const membership of memberships) membership.leave();
    });

    it('delivers a command posted right after join returned, and none posted well before it', async () => {
      const [b0, b1] = (await open(2)) as [ControlBus, ControlBus];
      const nodes = [1, 2, 3, 4, 5].map((n) => new RecordingNode(`late${n}`));
      const posted: string[] = [];
      for (const node of nodes) {
        await sleep(50);
        b1.join(node);
        const envelope = envelopeFrom(b0, reconnect);
        posted.push(envelope.id);
        await b0.post(envelope);
      }
      // Node n joined right before post n: it gets posts n..5.
      await eventually(() => nodes.every((node, n) => node.applied.length >= posted.length - n), 'each node got the posts after its join');
      await sleep(settleMs);
      nodes.forEach((node, n) => expect(node.ids, node.id).toEqual(posted.slice(n)));
    });

    it("brings each node's reply to the poster's onReply listeners, registered before the post", async () => {
      const [b0, b1, b2] = (await open(3)) as [ControlBus, ControlBus, ControlBus];
      const [a, b] = [new RecordingNode('a', 2), new RecordingNode('b', 3)];
      b1.join(a);
      b2.join(b);
      const replies: ControlReply[] = [];
      const stop = b0.onReply((reply) => replies.push(reply));
      const elsewhere: ControlReply[] = [];
      if (b1 !== b0) b1.onReply((reply) => elsewhere.push(reply));
      const envelope = envelopeFrom(b0, { kind: 'reauthenticate', key: key() });
      await b0.post(envelope);
      await eventually(() => replies.length >= 2, 'two replies');
      expect(replies.map((r) => [r.id, r.node, r.affected]).sort()).toEqual(
        [
          [envelope.id, a.id, 2],
          [envelope.id, b.id, 3],
        ].sort(),
      );
      stop();
      await b0.post(envelopeFrom(b0, reconnect));
      await eventually(() => a.applied.length === 2 && b.applied.length === 2, 'the second command applied');
      await sleep(settleMs);
      expect(replies).toHaveLength(2); // the listener was removed
      expect(elsewhere, 'replies go to the poster only').toEqual([]);
    });

    it('a node that left gets nothing more and is no longer listed', async () => {
      const [b0, b1] = (await open(2)) as [ControlBus, ControlBus];
      const [a, b] = [new RecordingNode('a'), new RecordingNode('b')];
      const membership = b1.join(a);
      b1.join(b);
      await listed(b0, [a, b]);
      membership.leave();
      membership.leave(); // idempotent
      await eventually(async () => !(await b0.nodes()).includes(a.id), 'a unlisted');
      expect(await b0.nodes()).toContain(b.id);
      await b0.post(envelopeFrom(b0, reconnect));
      await eventually(() => b.applied.length === 1, 'b applied the command');
      await sleep(settleMs);
      expect(a.applied).toEqual([]);
    });

    it('stores revocation records that every bus reads, overwrites and lifts', async () => {
      const [b0, b1] = (await open(2)) as [ControlBus, ControlBus];
      const k = key();
      const first: RevocationRecord = { key: k, reason: 'banned', revokedAt: Date.now() };
      await b0.writeRevocation(first, 60_000);
      expect(await b1.readRevocations([k])).toEqual([first]);
      const second: RevocationRecord = { key: k, reason: 'logged out', revokedAt: Date.now() + 1 };
      await b1.writeRevocation(second, 60_000);
      expect(await b0.readRevocations([k, key()])).toEqual([second]);
      expect(await b0.liftRevocation(k)).toBe(true);
      expect(await b1.liftRevocation(k)).toBe(false);
      expect(await b1.readRevocations([k])).toEqual([]);
      expect(await b1.readRevocations([])).toEqual([]);
    });

    it('forgets a revocation record once its ttl passed', async () => {
      const [b0, b1] = (await open(2)) as [ControlBus, ControlBus];
      const [short, long] = [key(), key()];
      await b0.writeRevocation({ key: short, reason: 'r', revokedAt: 1 }, 150);
      await b0.writeRevocation({ key: long, reason: 'r', revokedAt: 2 }, 60_000);
      expect(sortRecords(await b1.readRevocations([short, long])).map((r) => r.key)).toEqual([short, long].sort());
      await sleep(300);
      expect((await b1.readRevocations([short, long])).map((r) => r.key)).toEqual([long]);
      expect(await b1.liftRevocation(short)).toBe(false);
    });

    it('reads many keys at once, each record once', async () => {
      const [b0, b1] = (await open(2)) as [ControlBus, ControlBus];
      const keys = Array.from({ length: 1_201 }, () => key());
      const records = keys.map((k, i) => ({ key: k, reason: `r${i}`, revokedAt: i }));
      await Promise.all(records.map((record) => b0.writeRevocation(record, 60_000)));
      const asked = [...keys, ...keys.slice(0, 300), ...Array.from({ length: 400 }, () => key())];
      const found = await b1.readRevocations(asked);
      expect(found).toHaveLength(records.length);
      expect(sortRecords(found)).toEqual(sortRecords(records));
    });

    describe('createClusterControl', () => {
      it('revoke stores the record before any node sees the command', async () => {
        const [b0, b1] = (await open(2)) as [ControlBus, ControlBus];
        const node = new RecordingNode('a');
        const seen: Promise<RevocationRecord[]>[] = [];
        const k = key();
        node.onApply = () => seen.push(b1.readRevocations([k]));
        b1.join(node);
        await listed(b0, [node]);
        const result = await createClusterControl(b0, { timeoutMs: 5_000 }).revoke({ key: k }, { reason: 'banned', forMs: 60_000 });
        expect(result.answered).toContain(node.id);
        expect(node.applied.map((e) => e.command)).toEqual([{ kind: 'revoke', key: k, reason: 'banned', revokedAt: expect.any(Number) as number }]);
        const [records] = await Promise.all(seen);
        expect(records).toEqual([{ key: k, reason: 'banned', revokedAt: (node.applied[0]?.command as { revokedAt: number }).revokedAt }]);
      });

      it("sums the nodes' counts, the calling node's own included and not sent to it again", async () => {
        const [b0, b1, b2] = (await open(3)) as [ControlBus, ControlBus, ControlBus];
        const [a, b, self] = [new RecordingNode('a', 2), new RecordingNode('b', 3), new RecordingNode('self')];
        b1.join(a);
        b2.join(b);
        b0.join(self);
        await listed(b0, [a, b, self]);
        const localCalls: ControlCommand[] = [];
        const local = { node: self.id, apply: (command: ControlCommand) => (localCalls.push(command), 4) };
        const control = createClusterControl(b0, { timeoutMs: 5_000 }, local);
        const k = key();
        const reauth = await control.requestReauthentication({ key: k });
        expect(reauth.affected).toBe(9);
        expect([...reauth.answered].sort()).toEqual([a.id, b.id, self.id].sort());
        expect([...reauth.waitedFor].sort()).toEqual([a.id, b.id, self.id].sort());
        const all = await control.broadcastReconnectNotification();
        expect(all.affected).toBe(9);
        const revoked = await control.revoke({ key: k });
        expect(revoked.affected).toBe(9);
        expect(localCalls.map((command) => command.kind)).toEqual(['reauthenticate', 'reconnect', 'revoke']);
        await sleep(settleMs);
        expect(self.applied).toEqual([]);
        expect(a.applied.map((e) => e.command.kind)).toEqual(['reauthenticate', 'reconnect', 'revoke']);
        expect(b.applied.map((e) => e.command)).toEqual(a.applied.map((e) => e.command));
        expect(await control.liftRevocation({ key: k })).toBe(true);
      });

      it('resolves after timeoutMs without the node that never answers', async () => {
        const [b0, b1] = (await open(2)) as [ControlBus, ControlBus];
        const node = new RecordingNode('a', 5);
        b1.join(node);
        await listed(b0, [node]);
        const started = performance.now();
        const result = await createClusterControl(withGhost(b0, 'ghost'), { timeoutMs: 300 }).requestReauthentication({ key: key() });
        const tookMs = performance.now() - started;
        expect(result).toEqual({ affected: 5, waitedFor: expect.arrayContaining([node.id, 'ghost']) as string[], answered: [node.id] });
        expect(tookMs).toBeGreaterThanOrEqual(295);
        expect(tookMs).toBeLessThan(2_000);
      });

      it('endSubscriptions carries the target (input as plain JSON) and the error to every node, and counts what they ended', async () => {
        const [b0, b1] = (await open(2)) as [ControlBus, ControlBus];
        const node = new RecordingNode('a', 3);
        b1.join(node);
        await listed(b0, [node]);
        const control = createClusterControl(b0, { timeoutMs: 5_000 });
        const k = key();
        const input = { docId: 'd1', tags: ['x', null, 2.5], nested: { flag: true, dropped: undefined } };
        const result = await control.endSubscriptions({ key: k, path: 'doc.watch', input }, { code: 'NOT_FOUND', reason: 'document deleted' });
        expect(result.affected).toBe(3);
        expect(result.answered).toContain(node.id);
        const byPath = await control.endSubscriptions({ path: 'doc.watch' });
        expect(byPath.affected).toBe(3);
        expect(node.applied.map((e) => e.command)).toEqual([
          { kind: 'end-subscriptions', key: k, path: 'doc.watch', input: { docId: 'd1', tags: ['x', null, 2.5], nested: { flag: true } }, code: 'NOT_FOUND', reason: 'document deleted' },
          { kind: 'end-subscriptions', path: 'doc.watch', code: 'FORBIDDEN', reason: 'subscription ended by the server' },
        ]);
      });

      it('endSubscriptions refuses, before posting anything, a target without key and path, an input that is not JSON, a code tRPC does not know', async () => {
        const [b0, b1] = (await open(2)) as [ControlBus, ControlBus];
        const node = new RecordingNode('a');
        b1.join(node);
        await listed(b0, [node]);
        const control = createClusterControl(b0, { timeoutMs: 5_000 });
        await expect(control.endSubscriptions({ input: { docId: 'd1' } })).rejects.toThrow(/needs a key or a path/);
        await expect(control.endSubscriptions({ key: '' })).rejects.toBeInstanceOf(TypeError);
        await expect(control.endSubscriptions({ path: 'doc', input: { at: new Date(0) } })).rejects.toThrow(/input\.at/);
        await expect(control.endSubscriptions({ path: 'doc', input: [1n] })).rejects.toThrow(/input\[0\]/);
        await expect(control.endSubscriptions({ path: 'doc', input: { n: Number.NaN } })).rejects.toBeInstanceOf(TypeError);
        const cyclic: Record<string, unknown> = {};
        cyclic['self'] = cyclic;
        await expect(control.endSubscriptions({ path: 'doc', input: cyclic })).rejects.toThrow(/nests deeper/);
        await expect(control.endSubscriptions({ path: 'doc' }, { code: 'TEAPOT' as never })).rejects.toBeInstanceOf(TypeError);
        await sleep(settleMs);
        expect(node.applied).toEqual([]);
      });

      it('refuses a target that is not { key: non-empty string } with a TypeError', async () => {
        const [bus] = (await open(1)) as [ControlBus];
        const control = createClusterControl(bus);
        await expect(control.revoke({ key: '' })).rejects.toBeInstanceOf(TypeError);
        await expect(control.revoke(null as never)).rejects.toBeInstanceOf(TypeError);
        await expect(control.requestReauthentication({ key: 42 } as never)).rejects.toBeInstanceOf(TypeError);
        await expect(control.liftRevocation({} as never)).rejects.toBeInstanceOf(TypeError);
      });
    });
  });
}
