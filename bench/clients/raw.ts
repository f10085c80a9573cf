/**
 * The raw baselines, on `ws` with no tRPC code: fan-out subscribers of the raw `ws` server, and
 * a client that speaks tRPC's JSON wire protocol itself, so that a server's CPU per call is
 * measured without a tRPC client being the bottleneck.
 */
import { WebSocket } from 'ws';
import { echoReplyId, echoRequest, isStarted, rawEventSeq, STARTED, SUBSCRIBE, subscriptionRequest, subscriptionSeq } from '../lib/rawWire.js';
import type { LoadDriver } from './types.js';
import { withTimeout } from './types.js';

function open(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url);
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Raw `ws` fan-out subscribers: parse each event and check its seq. */
export const rawWsDriver: LoadDriver = {
  async subscribe(url, index, _procedure, onSeq, fail) {
    const socket = await open(url);
    socket.on('error', (error) => fail(new Error(`subscriber ${index}: ${error.message}`)));
    socket.on('close', () => fail(new Error(`subscriber ${index}: socket closed`)));
    await new Promise<void>((resolve) => {
      socket.once('message', (data) => {
        if (String(data) !== STARTED) fail(new Error(`subscriber ${index}: expected ${STARTED}, got ${String(data)}`));
        socket.on('message', (event) => onSeq(rawEventSeq(String(event))));
        resolve();
      });
      socket.send(SUBSCRIBE);
    });
  },
  startCalls() {
    throw new Error('the raw ws client makes no calls; use the raw-protocol client');
  },
};

/**
 * Raw tRPC protocol. Subscribers: one subscription (id 1) per socket, each frame parsed and its
 * seq checked. Calls: `inflight` `echo` requests pipelined on one socket, one frame each.
 */
export const rawProtocolDriver: LoadDriver = {
  async subscribe(url, index, procedure, onSeq, fail) {
    const socket = await open(url);
    socket.on('error', (error) => fail(new Error(`subscriber ${index}: ${error.message}`)));
    socket.on('close', () => fail(new Error(`subscriber ${index}: socket closed`)));
    await new Promise<void>((resolve) => {
      socket.once('message', (data) => {
        if (!isStarted(String(data))) fail(new Error(`subscriber ${index}: expected started, got ${String(data)}`));
        socket.on('message', (frame) => onSeq(subscriptionSeq(String(frame))));
        resolve();
      });
      socket.send(subscriptionRequest(procedure));
    });
  },
  async startCalls(url, inflight, fail) {
    const socket = await open(url);
    socket.on('error', (error) => fail(error));
    let running = true;
    let nextId = 0;
    let outstanding = 0;
    let calls = 0;
    let onFirst: (() => void) | undefined;
    let onIdle: (() => void) | undefined;
    const send = (): void => {
      outstanding++;
      socket.send(echoRequest(nextId++));
    };
    socket.on('message', (data) => {
      try {
        echoReplyId(String(data));
      } catch (error) {
        fail(error);
      }
      outstanding--;
      calls++;
      onFirst?.();
      onFirst = undefined;
      if (running) send();
      else if (outstanding === 0) onIdle?.();
    });
    const first = new Promise<void>((resolve) => {
      onFirst = resolve;
    });
    for (let i = 0; i < inflight; i++) send();
    await first;
    return {
      async stop(timeoutMs) {
        running = false;
        if (outstanding > 0) {
          await withTimeout(
            new Promise<void>((resolve) => {
              onIdle = resolve;
            }),
            timeoutMs,
            () => `${outstanding} raw calls in flight to finish`,
          );
        }
        socket.close();
        return calls;
      },
    };
  },
};
