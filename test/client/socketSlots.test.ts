import { describe, expect, it } from 'vitest';
import { Connection } from '../../src/client/socket/connection.js';
import { resolveOptions } from '../../src/client/options.js';
import { SocketSlots } from '../../src/client/socket/socketSlots.js';
import { NodeWebSocket } from './harness.js';

const options = resolveOptions({ url: 'ws://127.0.0.1:1', WebSocket: NodeWebSocket });
const listener = { onTransition: () => undefined, onMessage: () => undefined, onSocketError: () => undefined, onNegotiated: () => undefined };
/** A connection that is never opened: the slots only compare identities. */
const unopened = () => new Connection(options, listener, () => null);

describe('SocketSlots (make-before-break bookkeeping)', () => {
  it('makes the first socket the active one and the next its replacement', () => {
    const slots = new SocketSlots();
    const [first, second] = [unopened(), unopened()];
    expect(slots.occupied).toBe(false);
    slots.place(first);
    slots.place(second);
    expect(slots.active).toBe(first);
    expect(slots.replacement).toBe(second);
    expect(slots.occupied).toBe(true);
  });

  it('lets a ready replacement take over and retires the socket it replaced', () => {
    const slots = new SocketSlots();
    const [old, next] = [unopened(), unopened()];
    slots.place(old);
    slots.place(next);
    expect(slots.promote(next)).toBe(true);
    expect(slots.active).toBe(next);
    expect(slots.replacement).toBeNull();
    expect([...slots.retiring]).toEqual([old]);
  });

  it('says a ready socket that holds no slot is not the active one', () => {
    const slots = new SocketSlots();
    const active = unopened();
    slots.place(active);
    expect(slots.promote(unopened())).toBe(false);
    expect(slots.promote(active)).toBe(true);
    expect(slots.active).toBe(active);
  });

  it('reports which slot a closed socket held, and frees it', () => {
    const slots = new SocketSlots();
    const [old, next] = [unopened(), unopened()];
    slots.place(old);
    slots.place(next);
    slots.promote(next);
    expect(slots.release(old)).toEqual({ wasActive: false, wasReplacement: false });
    expect(slots.retiring.size).toBe(0);
    expect(slots.release(next)).toEqual({ wasActive: true, wasReplacement: false });
    expect(slots.occupied).toBe(false);
  });

  it('empties every slot at once and hands back the sockets to close', () => {
    const slots = new SocketSlots();
    const [old, active, replacement] = [unopened(), unopened(), unopened()];
    slots.place(old);
    slots.place(active);
    slots.promote(active);
    slots.place(replacement);
    expect(new Set(slots.clear())).toEqual(new Set([old, active, replacement]));
    expect(slots.occupied).toBe(false);
    expect(slots.retiring.size).toBe(0);
  });

  it('shows the opening replacement only while the active socket has none yet', () => {
    const slots = new SocketSlots();
    expect(slots.shown).toBeNull();
    const active = unopened();
    slots.place(active);
    expect(slots.shown).toBe(active); // no replacement: the active one, socket or not
    const replacement = unopened();
    slots.place(replacement);
    expect(slots.shown).toBe(replacement); // the active one has no socket: show the one on its way
  });
});
