import type { Route } from './call.js';
import type { Connection } from './connection.js';

/** Every wire id in flight, found by id (O(1) per incoming frame) and by the socket it is on. */
export class RouteTable {
  private readonly byId = new Map<number, Route>();
  private readonly byConnection = new Map<Connection, Set<Route>>();

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
    return (this.byConnection.get(connection)?.size ?? 0) > 0;
  }

  public add(route: Route): void {
    this.byId.set(route.wireId, route);
    let onConnection = this.byConnection.get(route.connection);
    if (onConnection === undefined) {
      onConnection = new Set();
      this.byConnection.set(route.connection, onConnection);
    }
    onConnection.add(route);
  }

  /** Removes `route`; `false` when it was not there. */
  public delete(route: Route): boolean {
    if (!this.has(route)) return false;
    this.byId.delete(route.wireId);
    this.byConnection.get(route.connection)?.delete(route);
    return true;
  }

  /** Removes and returns every route on `connection` (the socket is gone); `undefined` when it had none. */
  public takeAll(connection: Connection): Set<Route> | undefined {
    const routes = this.byConnection.get(connection);
    if (routes === undefined) return undefined;
    this.byConnection.delete(connection);
    for (const route of routes) this.byId.delete(route.wireId);
    return routes;
  }
}
