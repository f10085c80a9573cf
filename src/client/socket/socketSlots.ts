import type { Connection } from './connection.js';

/** Which slots a closed socket held; see {@link SocketSlots.release}. */
export interface Released {
  readonly wasActive: boolean;
  readonly wasReplacement: boolean;
}

/**
 * The sockets one client holds, for make-before-break: the one in use, the one opening to
 * replace it, and replaced ones that finish what they carry before they close. Holds no
 * policy: the client decides when to dial, replace, retire and close.
 */
export class SocketSlots {
  /** The socket new calls go to (once it is ready). */
  public active: Connection | null = null;
  /** Opening to replace `active`, which serves every call until this one is ready. */
  public replacement: Connection | null = null;
  /** Replaced sockets, finishing what they carry; each closes once drained. */
  public readonly retiring = new Set<Connection>();

  /** Whether any socket is in use or on its way. */
  public get occupied(): boolean {
    return this.active !== null || this.replacement !== null;
  }

  /** A new socket: the replacement when there is an active one, else the active one. */
  public place(connection: Connection): void {
    if (this.active === null) this.active = connection;
    else this.replacement = connection;
  }

  /**
   * `connection` is ready. A replacement takes over and the socket it replaces retires.
   * @returns whether `connection` is now the active socket (`false`: it holds no slot)
   */
  public promote(connection: Connection): boolean {
    if (connection === this.replacement) {
      this.replacement = null;
      if (this.active !== null) this.retiring.add(this.active);
      this.active = connection;
    }
    return connection === this.active;
  }

  /** Forgets a closed socket, whatever slot it held. */
  public release(connection: Connection): Released {
    const wasActive = connection === this.active;
    const wasReplacement = connection === this.replacement;
    if (wasActive) this.active = null;
    if (wasReplacement) this.replacement = null;
    this.retiring.delete(connection);
    return { wasActive, wasReplacement };
  }

  /** Every socket held, whatever its slot. */
  public all(): Connection[] {
    return [this.active, this.replacement, ...this.retiring].filter((socket) => socket !== null);
  }

  /** Empties every slot. @returns the sockets that held one, to close */
  public clear(): Connection[] {
    const sockets = this.all();
    this.active = null;
    this.replacement = null;
    this.retiring.clear();
    return sockets;
  }

  /** The socket to show as tRPC's `connection`: the active one once it has a socket, else the one opening. */
  public get shown(): Connection | null {
    return this.active?.ws ? this.active : (this.replacement ?? this.active);
  }
}
