import { randomBytes, randomUUID } from 'node:crypto';

export type Role = 'admin' | 'member';

export interface DemoUser {
  readonly id: string;
  readonly name: string;
  role: Role;
  /** Revoked users get no new tokens and are refused at connect time. */
  revoked: boolean;
}

/** Whether a user may open a document, and which of their grant tokens for it still count. */
export interface DocAccess {
  /** Withdrawn: no grant token is issued or accepted for the document until access is restored. */
  readonly withdrawn: boolean;
  /**
   * Goes up at every withdrawal; a grant token carries the number it was issued under, so one
   * issued before a withdrawal stays refused after access is restored.
   */
  readonly generation: number;
}

/** A user's access to a document they never withdrew. */
export const OPEN_ACCESS: DocAccess = Object.freeze({ withdrawn: false, generation: 0 });

/**
 * Where the demo keeps its users and refresh tokens. Asynchronous so that the cluster demo can
 * keep them in Redis (server/redisUsers.ts), where both nodes see the same users.
 */
export interface Users {
  /** A new user (every sign-in is one), admin to begin with, and a refresh token for them. */
  signIn(name: string): Promise<{ user: DemoUser; refreshToken: string }>;
  get(id: string): Promise<DemoUser | undefined>;
  /** The user a refresh token stands for, unless it is unknown or the user was revoked. */
  byRefreshToken(refreshToken: string): Promise<DemoUser | undefined>;
  signOut(refreshToken: string): Promise<void>;
  setRole(id: string, role: Role): Promise<void>;
  /** Marks the user revoked: no more tokens, refused at connect time. */
  revoke(id: string): Promise<void>;
  /** The user's access to the document ({@link OPEN_ACCESS} unless they withdrew it). */
  docAccess(id: string, docId: string): Promise<DocAccess>;
  /** Withdraws the user's access to the document: a new generation, withdrawn. */
  withdrawDoc(id: string, docId: string): Promise<void>;
  /** Gives the access back (same generation: tokens issued before the withdrawal stay refused). */
  restoreDoc(id: string, docId: string): Promise<void>;
}

/** The most users kept in memory; the oldest is forgotten first. */
const MAX_USERS = 1_000;

/**
 * The demo's user store, in memory: users, their current role, and the refresh tokens that
 * stand for them (the HttpOnly cookie's value).
 */
export class UserStore implements Users {
  private readonly users = new Map<string, DemoUser>();
  private readonly refreshTokens = new Map<string, string>();
  /** Per user, per document: only the documents whose access the user withdrew at least once. */
  private readonly access = new Map<string, Map<string, DocAccess>>();

  /** A new user (every sign-in is one), admin to begin with, and a refresh token for them. */
  public async signIn(name: string): Promise<{ user: DemoUser; refreshToken: string }> {
    const user: DemoUser = { id: randomUUID(), name, role: 'admin', revoked: false };
    this.users.set(user.id, user);
    if (this.users.size > MAX_USERS) this.forget(this.users.keys().next().value ?? '');
    const refreshToken = randomBytes(32).toString('base64url');
    this.refreshTokens.set(refreshToken, user.id);
    return { user, refreshToken };
  }

  public async get(id: string): Promise<DemoUser | undefined> {
    return this.users.get(id);
  }

  /** The user a refresh token stands for, unless it is unknown or the user was revoked. */
  public async byRefreshToken(refreshToken: string): Promise<DemoUser | undefined> {
    const id = this.refreshTokens.get(refreshToken);
    const user = id === undefined ? undefined : this.users.get(id);
    return user && !user.revoked ? user : undefined;
  }

  public async signOut(refreshToken: string): Promise<void> {
    this.refreshTokens.delete(refreshToken);
  }

  public async setRole(id: string, role: Role): Promise<void> {
    const user = this.users.get(id);
    if (user) user.role = role;
  }

  /** Marks the user revoked and drops their refresh tokens. */
  public async revoke(id: string): Promise<void> {
    const user = this.users.get(id);
    if (user) user.revoked = true;
    this.dropRefreshTokens(id);
  }

  public async docAccess(id: string, docId: string): Promise<DocAccess> {
    return this.access.get(id)?.get(docId) ?? OPEN_ACCESS;
  }

  public async withdrawDoc(id: string, docId: string): Promise<void> {
    if (!this.users.has(id)) return;
    const { generation } = await this.docAccess(id, docId);
    this.setAccess(id, docId, { withdrawn: true, generation: generation + 1 });
  }

  public async restoreDoc(id: string, docId: string): Promise<void> {
    const { generation } = await this.docAccess(id, docId);
    if (this.users.has(id)) this.setAccess(id, docId, { withdrawn: false, generation });
  }

  private setAccess(id: string, docId: string, access: DocAccess): void {
    const perDoc = this.access.get(id) ?? new Map<string, DocAccess>();
    perDoc.set(docId, access);
    this.access.set(id, perDoc);
  }

  private forget(id: string): void {
    this.users.delete(id);
    this.access.delete(id);
    this.dropRefreshTokens(id);
  }

  private dropRefreshTokens(id: string): void {
    for (const [token, owner] of this.refreshTokens) if (owner === id) this.refreshTokens.delete(token);
  }
}
