import type { AuthenticatedResult, ConnectionParamsMessage } from '../../protocol/index.js';
import { PING, PONG } from '../../protocol/index.js';
import type { FrameData } from './frameListener.js';
import { listenForFrames } from './frameListener.js';
import type { FrameSink } from './frameLimit.js';
import { payloadTooLarge, writeWithinLimits } from './frameLimit.js';
import { KeepAlive } from './keepAlive.js';
import { Outbox } from './outbox.js';
import type { ServerInfo } from './negotiation.js';
import { Negotiation, readHello, withQueryFlags } from './negotiation.js';
import { holdWrites } from './writeHold.js';
import type { ConnectionParams, ResolvedOptions } from '../options.js';
import { resultOf } from '../options.js';
import { settle } from '../settle.js';
import type { ConnectionListener, WsConnectionInfo } from './connectionState.js';
import { ConnectionState, nextStates, TransitionReason } from './connectionState.js';

export { ConnectionState, TransitionReason } from './connectionState.js';
export type { ConnectionListener, ConnectionTransition, WsConnectionInfo } from './connectionState.js';

/** Where a connection gets the credentials of its `connectionParams` frame (evaluated when the socket opens). */
export type CredentialsProvider = () => ConnectionParams | Promise<ConnectionParams>;

const ABNORMAL_CLOSURE = 1006;

function isCall(message: unknown): boolean {
  const method = (message as { method?: unknown } | null)?.method;
  return method === 'query' || method === 'mutation' || method === 'subscription';
}

let lastConnectionId = 0;

/**
 * One WebSocket: dialling (URL with our query flags), the `connectionParams` first frame,
 * answering `PING`, keep-alive, and reading the `lanyard.hello` negotiation frame.
 * It knows nothing of requests: its owner gets decoded messages through the listener.
 */
export class Connection {
  /** Unique within the process; increases with every socket. */
  public readonly id = ++lastConnectionId;
  /** The server's `lanyard.hello`, or `null` for a stock server (or before it arrives). */
  public serverInfo: ServerInfo | null = null;
  /** Whether the server speaks our extensions; decided by the first frame or `PONG`. */
  public negotiation: Negotiation = Negotiation.Pending;
  /** Set by the owner: the session the server confirmed (`lanyard.session`, or an accepted re-authentication). */
  public session: AuthenticatedResult | null = null;
  /** Set by the owner once the server answered a call here: it accepted the connection. */
  public answered = false;
  /** Set by the owner: an `id: null` error the server sent before answering any call. */
  public rejection: unknown = undefined;

  /** When the connection became ready (`Date.now()`), or `undefined` if it never did. */
  public readyAtMs: number | undefined = undefined;

  private currentState: ConnectionState = ConnectionState.Connecting;
  private socket: WebSocket | null = null;
  private firstFrame = true;
  private readonly pongWaiters: Array<(() => void) | null> = [];
  private readonly outbox = new Outbox((payload) => this.writeFrame(payload));
  private keepAlive: KeepAlive | null = null;
  private probed = false;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly listener: ConnectionListener,
    private readonly credentials: CredentialsProvider,
  ) {}

  /** The current state. */
  public get state(): ConnectionState {
    return this.currentState;
  }

  /** The socket, once created. */
  public get ws(): WebSocket | null {
    return this.socket;
  }

  /** Whether calls may be sent now. */
  public get isReady(): boolean {
    return this.currentState === ConnectionState.Ready;
  }

  /** This socket in tRPC's `connection` shape, or `null` before the socket exists. */
  public describe(): WsConnectionInfo | null {
    if (this.socket === null) return null;
    const state = this.currentState;
    const closed = state === ConnectionState.Closing || state === ConnectionState.Closed;
    return { id: this.id, state: state === ConnectionState.Ready ? 'open' : closed ? 'closed' : 'connecting', ws: this.socket };
  }

  /**
   * Resolves the URL and dials. Call once. The `url` callback runs now; the socket is created
   * once its result has settled, never within this call, even for a string: like tRPC's client,
   * `connection` is `null` until the tick that asked for a socket has ended, and a failure to
   * dial is reported then too.
   */
  public open(): void {
    new Promise<string>((resolve) => resolve(resultOf(this.options.url))).then(
      (url) => this.dial(url),
      (error: unknown) => this.transition(ConnectionState.Closed, TransitionReason.DialFailed, undefined, error),
    );
  }

  /**
   * Sends one message in a frame it shares with the others sent in this tick, at most
   * `MAX_MESSAGES_PER_FRAME` to a frame (see {@link Outbox}). Only when ready.
   */
  public send(message: unknown): void {
    this.assertReady();
    this.outbox.add(message);
  }

  /**
   * Sends `payload` (one message or an array of them) as one frame, now, after anything
   * {@link send} still holds. Split where the server's limits (from `lanyard.hello`) require.
   * Only when ready.
   */
  public sendFrame(payload: unknown): void {
    this.assertReady();
    this.outbox.flush();
    this.writeFrame(payload);
  }

  private assertReady(): void {
    // `isReady` implies a socket; the check keeps the type system honest.
    if (this.currentState !== ConnectionState.Ready || this.socket === null) {
      throw new Error(`Connection ${this.id} is ${this.currentState}, not ready`);
    }
  }

  /** Writes `payload`, split to the server's limits. A socket gone meanwhile takes nothing: its calls fail with the close. */
  private writeFrame(payload: unknown): void {
    if (this.socket === null || this.currentState !== ConnectionState.Ready) return;
    writeWithinLimits(payload, this.serverInfo, this.frameSink);
  }

  /** Made once per connection: nothing is allocated per frame to write it. */
  private readonly frameSink: FrameSink = {
    encode: (payload) => this.options.encoder.encode(payload),
    write: (frame) => this.socket?.send(frame),
    refuse: (message, limitBytes) => {
      const id = (message as { id?: unknown } | null)?.id;
      if (typeof id === 'number' || typeof id === 'string') this.listener.onMessage(this, payloadTooLarge(id, limitBytes));
    },
  };

  /**
   * Sends `PING`; `onPong` runs when its `PONG` arrives. The server answers in order, so by
   * then every frame it sent before reading this `PING` has arrived.
   */
  public ping(onPong: (() => void) | null): void {
    if (this.socket === null || this.currentState !== ConnectionState.Ready) return;
    this.outbox.flush(); // the PONG must come after the answers to everything sent before
    this.pongWaiters.push(onPong);
    this.socket.send(PING);
  }

  /**
   * Sends one `PING` (a stock frame every tRPC server answers) to learn, from whether hello
   * came before its `PONG`, what the server is. At most once per socket; only while undecided.
   */
  public probe(): void {
    if (this.probed || this.negotiation !== Negotiation.Pending) return;
    this.probed = true;
    this.ping(null);
  }

  /** Takes back the calls (queries, mutations, subscriptions) still waiting in this tick's frame: they will not be sent. */
  public takeUnsentCalls(): unknown[] {
    return this.outbox.extract((message) => isCall(message));
  }

  /** Closes the socket gracefully (code 1000). */
  public close(): void {
    if (this.currentState === ConnectionState.Closing || this.currentState === ConnectionState.Closed) return;
    if (this.socket === null) {
      this.transition(ConnectionState.Closed, TransitionReason.CloseRequested);
      return;
    }
    if (this.currentState === ConnectionState.Ready) this.outbox.flush();
    this.transition(ConnectionState.Closing, TransitionReason.CloseRequested);
    this.socket.close(1000);
  }

  /**
   * The one way the state changes. Ignores a change the state machine does not allow
   * (anything out of `closed`), so late socket events after the client gave up are harmless.
   */
  private transition(newState: ConnectionState, reason: TransitionReason, closeCode?: number, cause?: unknown): void {
    const oldState = this.currentState;
    if (!nextStates[oldState].includes(newState)) return;
    this.currentState = newState;
    if (newState === ConnectionState.Ready) this.readyAtMs = Date.now();
    else if (newState === ConnectionState.Closed) {
      this.keepAlive?.stop();
      this.outbox.clear();
    }
    this.listener.onTransition(this, { oldState, newState, reason, closeCode, cause });
  }

  private dial(url: string): void {
    if (this.currentState !== ConnectionState.Connecting) return; // closed while resolving
    let socket: WebSocket;
    try {
      socket = new this.options.WebSocket(withQueryFlags(url, this.options.connectionParams !== undefined));
    } catch (error) {
      this.transition(ConnectionState.Closed, TransitionReason.DialFailed, undefined, error);
      return;
    }
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.addEventListener('open', this.onSocketOpen);
    listenForFrames(socket, this.onFrame);
    socket.addEventListener('error', this.onSocketError);
    socket.addEventListener('close', this.onSocketClose);
  }

  /** Gives up on an open socket at once, without waiting for a close handshake that may never come. */
  private abandon(reason: TransitionReason, cause: unknown): void {
    this.transition(ConnectionState.Closed, reason, ABNORMAL_CLOSURE, cause);
    const socket = this.socket as (WebSocket & { terminate?: () => void }) | null;
    if (socket?.terminate) socket.terminate();
    else socket?.close(1000);
  }

  private readonly onSocketOpen = (): void => {
    const { keepAlive } = this.options;
    if (keepAlive.enabled) {
      this.keepAlive = new KeepAlive(keepAlive.intervalMs, keepAlive.pongTimeoutMs, this.sendKeepAlivePing, (error) =>
        this.abandon(TransitionReason.PongTimeout, error),
      );
      this.keepAlive.start();
    }
    if (this.options.connectionParams === undefined) {
      this.transition(ConnectionState.Ready, TransitionReason.SocketOpened);
      return;
    }
    this.transition(ConnectionState.Authenticating, TransitionReason.SocketOpened);
    settle(
      this.credentials,
      (params) => this.sendConnectionParams(params),
      (error) => this.abandon(TransitionReason.ParamsFailed, error),
    );
  };

  private sendConnectionParams(data: ConnectionParams): void {
    if (this.currentState !== ConnectionState.Authenticating || this.socket === null) return;
    const message: ConnectionParamsMessage = {
      method: 'connectionParams',
      data: (data ?? null) as ConnectionParamsMessage['data'],
    };
    // The calls that waited for the socket go out as it turns ready: with Node's `ws` they leave
    // in the params frame's write, so the server reads both at once and can answer the session
    // and the first results in one write too.
    const held = holdWrites(this.socket);
    try {
      this.socket.send(this.options.encoder.encode(message));
      this.transition(ConnectionState.Ready, TransitionReason.ParamsSent);
    } finally {
      held?.uncork();
    }
  }

  private readonly onFrame = (data: FrameData): void => {
    this.keepAlive?.onFrame();
    if (data === PING) {
      this.socket?.send(PONG);
      return;
    }
    if (data === PONG) {
      this.keepAlive?.onPong();
      this.pongWaiters.shift()?.();
      if (this.negotiation === Negotiation.Pending) this.negotiated(Negotiation.Stock);
      return;
    }
    if (this.currentState === ConnectionState.Closed) return;
    let decoded: unknown;
    try {
      decoded = this.options.encoder.decode(data);
    } catch {
      return; // a frame we cannot read is dropped, like a frame for an unknown id
    }
    if (this.firstFrame) {
      this.firstFrame = false;
      this.serverInfo = readHello(decoded);
      if (this.negotiation === Negotiation.Pending) this.negotiated(this.serverInfo === null ? Negotiation.Stock : Negotiation.Lanyard);
      if (this.serverInfo !== null) return;
    }
    if (Array.isArray(decoded)) {
      for (const message of decoded) this.listener.onMessage(this, message);
    } else {
      this.listener.onMessage(this, decoded);
    }
  };

  private negotiated(negotiation: Negotiation): void {
    this.negotiation = negotiation;
    this.listener.onNegotiated(this);
  }

  private readonly onSocketError = (event: Event): void => {
    if (this.currentState === ConnectionState.Closing || this.currentState === ConnectionState.Closed) return;
    this.listener.onSocketError(this, event);
  };

  private readonly onSocketClose = (event: CloseEvent): void => {
    this.transition(ConnectionState.Closed, TransitionReason.SocketClosed, event.code, event);
  };

  private readonly sendKeepAlivePing = (): boolean => {
    if (this.socket === null || this.socket.readyState !== this.options.WebSocket.OPEN) return false;
    this.pongWaiters.push(null);
    this.socket.send(PING);
    return true;
  };
}
