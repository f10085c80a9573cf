import { randomBytes, randomUUID } from 'node:crypto';

export type Role = 'admin' | 'member';

export interface DemoUser {
  readonly id: string;
  readonly name: string;
  role: Role;
  /** Revoked users get no new tokens and are refused at connect time. */
  revoked: boolean;
}

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

  private forget(id: string): void {
    this.users.delete(id);
    this.dropRefreshTokens(id);
  }

  private dropRefreshTokens(id: string): void {
    for (const [token, owner] of this.refreshTokens) if (owner === id) this.refreshTokens.delete(token);
  }
}
