import { randomBytes, randomUUID } from 'node:crypto';
import type { DemoUser, DocAccess, Role, Users } from './users.js';
import { OPEN_ACCESS } from './users.js';

/** The node-redis commands the store uses (a connected `createClient()` from `redis`). */
export interface RedisUsersClient {
  hSet(key: string, value: Record<string, string>): Promise<unknown>;
  hGetAll(key: string): Promise<Record<string, string>>;
  set(key: string, value: string, options: { EX: number }): Promise<unknown>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<unknown>;
  expire(key: string, seconds: number): Promise<unknown>;
}

/** How long a user and a refresh token are kept, in seconds (the refresh cookie's Max-Age). */
const TTL_SECONDS = 86_400;

/**
 * The cluster demo's users and refresh tokens, in Redis: a sign-in on one node, a role change on
 * another and a revocation anywhere are seen by every node. Keys: `<prefix>:user:<id>` (a hash:
 * name, role, revoked, and `doc:<docId>` = `<generation>:<withdrawn 0|1>` per document whose access was withdrawn) and `<prefix>:refresh:<token>` (the user id), both expiring after a day.
 */
export class RedisUserStore implements Users {
  constructor(
    private readonly redis: RedisUsersClient,
    private readonly prefix: string,
  ) {}

  public async signIn(name: string): Promise<{ user: DemoUser; refreshToken: string }> {
    const user: DemoUser = { id: randomUUID(), name, role: 'admin', revoked: false };
    const refreshToken = randomBytes(32).toString('base64url');
    await this.redis.hSet(this.userKey(user.id), { name, role: user.role, revoked: '0' });
    await this.redis.expire(this.userKey(user.id), TTL_SECONDS);
    await this.redis.set(this.refreshKey(refreshToken), user.id, { EX: TTL_SECONDS });
    return { user, refreshToken };
  }

  public async get(id: string): Promise<DemoUser | undefined> {
    const fields = await this.redis.hGetAll(this.userKey(id));
    const { name, role, revoked } = fields;
    if (name === undefined || (role !== 'admin' && role !== 'member')) return undefined;
    return { id, name, role, revoked: revoked === '1' };
  }

  public async byRefreshToken(refreshToken: string): Promise<DemoUser | undefined> {
    const id = await this.redis.get(this.refreshKey(refreshToken));
    const user = id === null ? undefined : await this.get(id);
    return user && !user.revoked ? user : undefined;
  }

  public async signOut(refreshToken: string): Promise<void> {
    await this.redis.del(this.refreshKey(refreshToken));
  }

  public async setRole(id: string, role: Role): Promise<void> {
    if (await this.get(id)) await this.redis.hSet(this.userKey(id), { role });
  }

  /** Marks the user revoked: their refresh tokens then yield nothing (see `byRefreshToken`). */
  public async revoke(id: string): Promise<void> {
    if (await this.get(id)) await this.redis.hSet(this.userKey(id), { revoked: '1' });
  }

  public async docAccess(id: string, docId: string): Promise<DocAccess> {
    const raw = (await this.redis.hGetAll(this.userKey(id)))[`doc:${docId}`];
    const [generation, withdrawn] = (raw ?? '').split(':');
    return raw === undefined ? OPEN_ACCESS : { generation: Number(generation) || 0, withdrawn: withdrawn === '1' };
  }

  /** Read, then written: two withdrawals at once may share a generation, which only matters for the tokens in between. */
  public async withdrawDoc(id: string, docId: string): Promise<void> {
    if (!(await this.get(id))) return;
    const { generation } = await this.docAccess(id, docId);
    await this.redis.hSet(this.userKey(id), { [`doc:${docId}`]: `${generation + 1}:1` });
  }

  public async restoreDoc(id: string, docId: string): Promise<void> {
    if (!(await this.get(id))) return;
    const { generation } = await this.docAccess(id, docId);
    await this.redis.hSet(this.userKey(id), { [`doc:${docId}`]: `${generation}:0` });
  }

  private userKey(id: string): string {
    return `${this.prefix}:user:${id}`;
  }

  private refreshKey(token: string): string {
    return `${this.prefix}:refresh:${token}`;
  }
}
