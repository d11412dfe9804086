import type { IncomingMessage, ServerResponse } from "node:http";
import type { Module, Route } from "../modules/module";

/** Every module's routes by method and path; a method and path served twice stops the start, naming both modules. */
export class RouteTable {
  private readonly routes = new Map<string, { owner: string; route: Route }>();

  constructor(modules: readonly Pick<Module, "name" | "routes">[]) {
    for (const { name, routes = [] } of modules) {
      for (const route of routes) {
        const key = `${route.method} ${route.path}`;
        const first = this.routes.get(key);
        if (first) throw new Error(`The route ${key} is served by both ${first.owner} and ${name}`);
        this.routes.set(key, { owner: name, route });
      }
    }
  }

  /**
   * Serves the request when a module routes it (true), leaving any failure to `fail`; false when none does.
   * HEAD is answered by the GET route, as node:http drops the body itself.
   */
  serve(request: IncomingMessage, response: ServerResponse, requestId: string, fail: (error: unknown) => void): boolean {
    const path = (request.url ?? "/").split("?")[0];
    const method = request.method === "HEAD" ? "GET" : request.method;
    const found = this.routes.get(`${method} ${path}`);
    if (!found) return false;
    Promise.resolve()
      .then(() => found.route.handle(request, response, requestId))
      .catch(fail);
    return true;
  }
}
