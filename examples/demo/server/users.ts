import { randomBytes, randomUUID } from 'node:crypto';

export type Role = 'admin' | 'member';

export interface DemoUser {
  readonly id: string;
  readonly name: string;
  role: Role;
  /** Revoked users get no new tokens and are refused at connect time. */
  revoked: boolean;
}

/** The most users kept in memory; the oldest is forgotten first. */
const MAX_USERS = 1_000;

/**
 * The demo's user store, in memory: users, their current role, and the refresh tokens that
 * stand for them (the HttpOnly cookie's value).
 */
export class UserStore {
  private readonly users = new Map<string, DemoUser>();
  private readonly refreshTokens = new Map<string, string>();

  /** A new user (every sign-in is one), admin to begin with, and a refresh token for them. */
  public signIn(name: string): { user: DemoUser; refreshToken: string } {
    const user: DemoUser = { id: randomUUID(), name, role: 'admin', revoked: false };
    this.users.set(user.id, user);
    if (this.users.size > MAX_USERS) this.forget(this.users.keys().next().value ?? '');
    const refreshToken = randomBytes(32).toString('base64url');
    this.refreshTokens.set(refreshToken, user.id);
    return { user, refreshToken };
  }

  public get(id: string): DemoUser | undefined {
    return this.users.get(id);
  }

  /** The user a refresh token stands for, unless it is unknown or the user was revoked. */
  public byRefreshToken(refreshToken: string): DemoUser | undefined {
    const id = this.refreshTokens.get(refreshToken);
    const user = id === undefined ? undefined : this.users.get(id);
    return user && !user.revoked ? user : undefined;
  }

  public signOut(refreshToken: string): void {
    this.refreshTokens.delete(refreshToken);
  }

  public setRole(id: string, role: Role): void {
    const user = this.users.get(id);
    if (user) user.role = role;
  }

  /** Marks the user revoked and drops their refresh tokens. */
  public revoke(id: string): void {
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
