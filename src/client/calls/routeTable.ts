import type { Route } from './call.js';
import type { Connection } from '../socket/connection.js';

/**
 * Every wire id in flight, found by id (O(1) per incoming frame), with a count per socket.
 * A call costs one map entry: the routes of one socket are only listed when it is gone.
 */
export class RouteTable {
  private readonly byId = new Map<number, Route>();
  private readonly counts = new Map<Connection, number>();

  /** The route of wire id `id` on `connection`, or `undefined` when no call waits for it there. */
  public find(connection: Connection, id: unknown): Route | undefined {
    const route = this.byId.get(id as number);
    return route?.connection === connection ? route : undefined;
  }

  /** Whether `route` is still in the table. */
  public has(route: Route): boolean {
    return this.byId.get(route.wireId) === route;
  }

  /** Whether any route is on `connection`. */
  public hasRoutesOn(connection: Connection): boolean {
    return (this.counts.get(connection) ?? 0) > 0;
  }

  public add(route: Route): void {
    this.byId.set(route.wireId, route);
    const { connection } = route;
    this.counts.set(connection, (this.counts.get(connection) ?? 0) + 1);
  }

  /** Removes `route`; `false` when it was not there. */
  public delete(route: Route): boolean {
    if (!this.has(route)) return false;
    this.byId.delete(route.wireId);
    const { connection } = route;
    const count = (this.counts.get(connection) ?? 1) - 1;
    if (count > 0) this.counts.set(connection, count);
    else this.counts.delete(connection);
    return true;
  }

  /** Removes and returns every route on `connection` (the socket is gone), oldest first; `undefined` when it had none. */
  public takeAll(connection: Connection): Route[] | undefined {
    if (!this.counts.delete(connection)) return undefined;
    const routes: Route[] = [];
    for (const route of this.byId.values()) if (route.connection === connection) routes.push(route);
    for (const route of routes) this.byId.delete(route.wireId);
    return routes;
  }
}
