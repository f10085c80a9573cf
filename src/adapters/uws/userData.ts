import type { KeepAliveEntry } from '../../server/keepAlive.js';
import type { UWSServerSocket } from './socket.js';
import type { UpgradeSnapshot } from './upgrade.js';

/** The part of a core connection the socket's uWS handlers feed. */
export interface Served {
  receive(data: string | Uint8Array, byteLength: number): void;
  closed(): void;
  readonly errors: { report(cause: unknown, type: 'unknown', path: undefined, input: undefined): unknown };
}

/**
 * One socket's state from its upgrade to its close, handed to uWS as the socket's user data:
 * uWS copies the user data's own properties onto its socket object, so this travels as the one
 * property of {@link UserData}, read back with `ws.getUserData().lanyard`.
 */
export class SocketState {
  socket: UWSServerSocket | null = null;
  connection: Served | null = null;
  keepAlive: KeepAliveEntry | null = null;
  constructor(readonly upgrade: UpgradeSnapshot) {}
}

/** The adapter's uWS user data. */
export interface UserData {
  readonly lanyard: SocketState;
}
