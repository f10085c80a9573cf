/**
 * The process-wide flush of held writes: a socket's read releases what the other sockets held (the
 * reader keeps its own), and one socket's failure neither keeps the others held nor lands in the
 * reading socket's callback.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { TurnFlush } from '../../src/server/turnFlush.js';

afterEach(() => {
  vi.restoreAllMocks();
});

it('releases every held socket early, tells each the turn has not ended, and never throws into the reading callback', () => {
  const flush = new TurnFlush();
  const released: Array<{ name: string; turnEnded: boolean }> = [];
  const failure = new Error('uncork failed');
  flush.add({
    endOfTurn: (turnEnded) => {
      released.push({ name: 'failing', turnEnded });
      throw failure;
    },
  });
  flush.add({ endOfTurn: (turnEnded) => void released.push({ name: 'healthy', turnEnded }) });
  const deferred: Array<() => void> = [];
  vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((callback) => void deferred.push(callback));

  expect(() => flush.releaseEarlier(null)).not.toThrow();

  expect(released).toEqual([
    { name: 'failing', turnEnded: false },
    { name: 'healthy', turnEnded: false },
  ]);
  // The failure is not lost: it is thrown from a job of its own, after the reading callback.
  expect(deferred).toHaveLength(1);
  expect(() => deferred[0]!()).toThrow(failure);
});

it('leaves the socket being read holding its own writes until the end of the turn', async () => {
  const flush = new TurnFlush();
  const released: Array<{ name: string; turnEnded: boolean }> = [];
  const reader = { endOfTurn: (turnEnded: boolean) => void released.push({ name: 'reader', turnEnded }) };
  flush.add(reader);
  flush.releaseEarlier(reader);
  expect(released).toEqual([]);
  flush.add({ endOfTurn: (turnEnded) => void released.push({ name: 'other', turnEnded }) });
  flush.releaseEarlier(reader);
  expect(released).toEqual([{ name: 'other', turnEnded: false }]);
  await new Promise((resolve) => setImmediate(resolve));
  expect(released).toEqual([
    { name: 'other', turnEnded: false },
    { name: 'reader', turnEnded: true },
  ]);
});

it('does nothing when nothing is held', () => {
  const flush = new TurnFlush();
  const spy = vi.spyOn(globalThis, 'queueMicrotask');
  flush.releaseEarlier(null);
  expect(spy).not.toHaveBeenCalled();
});

it('releases at the end of the turn what was held after an early release, telling it the turn ended', async () => {
  const flush = new TurnFlush();
  const released: boolean[] = [];
  flush.add({ endOfTurn: (turnEnded) => void released.push(turnEnded) });
  flush.releaseEarlier(null);
  flush.add({ endOfTurn: (turnEnded) => void released.push(turnEnded) });
  await new Promise((resolve) => setImmediate(resolve));
  expect(released).toEqual([false, true]);
});
