/**
 * A scripted raw `ws` server that speaks the auth-lifecycle frames (PROTOCOL.md § 5.1) the way
 * the test tells it to, for frame-level client tests: it says `lanyard.hello` to clients that
 * ask (unless `stock`), confirms each `connectionParams` frame with `lanyard.session`, echoes
 * queries, and answers `lanyard.authenticate` with `answerAuthenticate`.
 */
import type { WebSocket as ServerSocket } from 'ws';
import { WebSocketServer } from 'ws';

export interface ScriptedFrame {
  readonly socket: number;
  readonly message: { id?: unknown; method?: string; params?: unknown; data?: unknown };
}

export interface ScriptedServerOptions {
  /** Behave as a stock tRPC server: no hello, no session. */
  stock?: boolean;
  /** The `expiresAt` of each `lanyard.session`; `undefined` sends none. @default null */
  sessionExpiresAt?: (socket: number) => number | null | undefined;
  /** The answer to `lanyard.authenticate` (without its id); `undefined` leaves it unanswered. */
  answerAuthenticate?: (params: unknown, socket: number, ws: ServerSocket) => object | undefined;
  /** Say nothing first and answer no `PING`, so the client cannot tell what the server is until the test sends hello. */
  silent?: boolean;
  /** Called with every message received (after the built-in handling), to script more answers. */
  onMessage?: (message: ScriptedFrame['message'], socket: number, send: (message: object) => void) => void;
}

const sockets = new Set<WebSocketServer>();

export async function startScriptedServer(opts: ScriptedServerOptions = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  sockets.add(wss);
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const frames: ScriptedFrame[] = [];
  const raw: Array<{ socket: number; text: string }> = [];
  const clients: ServerSocket[] = [];
  wss.on('connection', (ws, req) => {
    clients.push(ws);
    const socket = clients.length;
    const lanyard = !opts.stock && (req.url ?? '').includes('lanyard=1');
    const send = (message: object) => ws.send(JSON.stringify(message));
    if (lanyard && !opts.silent) send({ id: null, method: 'lanyard.hello', params: { version: 1, maxPayloadBytes: 1_048_576 } });
    ws.on('message', (data) => {
      const text = String(data);
      raw.push({ socket, text });
      if (text === 'PING') {
        if (!opts.silent) ws.send('PONG');
        return;
      }
      if (text === 'PONG') return;
      const parsed = JSON.parse(text) as ScriptedFrame['message'] | Array<ScriptedFrame['message']>;
      for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
        frames.push({ socket, message });
        if (message.method === 'connectionParams') {
          const expiresAt = (opts.sessionExpiresAt ?? (() => null))(socket);
          if (lanyard && expiresAt !== undefined) send({ id: null, method: 'lanyard.session', params: { expiresAt } });
        } else if (message.method === 'query') {
          send({ id: message.id, result: { type: 'data', data: (message.params as { input?: unknown }).input } });
        } else if (message.method === 'lanyard.authenticate') {
          const answer = opts.answerAuthenticate?.(message.params, socket, ws);
          if (answer !== undefined) send({ id: message.id, ...answer });
        }
        opts.onMessage?.(message, socket, send);
      }
    });
  });
  const { port } = wss.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    wss,
    frames,
    raw,
    clients,
    /** Sends `message` on socket `socket` (1-based). */
    send: (socket: number, message: object) => clients[socket - 1]!.send(JSON.stringify(message)),
    /** Every frame of `method` received, in order. */
    framesOf: (method: string) => frames.filter((f) => f.message.method === method),
  };
}

/** Closes every scripted server; use in `afterEach`. */
export async function closeScriptedServers(): Promise<void> {
  const all = [...sockets];
  sockets.clear();
  await Promise.all(
    all.map(
      (wss) =>
        new Promise<void>((resolve) => {
          for (const client of wss.clients) client.terminate();
          wss.close(() => resolve());
        }),
    ),
  );
}
