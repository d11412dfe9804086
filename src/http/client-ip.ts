import type { IncomingMessage } from "node:http";

/** `::ffff:1.2.3.4` (IPv4 mapped into IPv6) is `1.2.3.4`. */
export function normalizeIp(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}

/**
 * The client's address: the TCP peer, unless the peer is a trusted proxy; then the nearest address
 * in X-Forwarded-For that is not a trusted proxy. A header sent by anyone else is ignored, so a
 * client cannot choose the address its rate limits are counted under.
 */
export function clientIp(request: IncomingMessage, trusted: readonly string[]): string | null {
  const peer = request.socket.remoteAddress ? normalizeIp(request.socket.remoteAddress) : null;
  if (!peer || !trusted.includes(peer)) return peer;
  const header = request.headers["x-forwarded-for"];
  const hops = (Array.isArray(header) ? header.join(",") : (header ?? "")).split(",").map((h) => normalizeIp(h.trim())).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i -= 1) {
    const hop = hops[i] as string;
    if (!trusted.includes(hop)) return hop.slice(0, 45);
  }
  return peer;
}

export interface CallerOptions {
  trustedProxies: readonly string[];
  /** Header a trusted proxy (router, CDN) sets to the client's ISO 3166 country, e.g. cf-ipcountry. */
  countryHeader: string | null;
}

/**
 * What the transport tells about the caller: address, user agent, and the country only when a
 * trusted proxy set it (a client cannot choose it).
 */
export function callerInfo(request: IncomingMessage, options: CallerOptions): { ipAddress: string | null; userAgent: string | null; country: string | null } {
  const peer = request.socket.remoteAddress ? normalizeIp(request.socket.remoteAddress) : null;
  const header = options.countryHeader && peer && options.trustedProxies.includes(peer) ? request.headers[options.countryHeader] : undefined;
  const country = typeof header === "string" && /^[A-Z]{2}$/.test(header) ? header : null;
  return { ipAddress: clientIp(request, options.trustedProxies), userAgent: request.headers["user-agent"]?.slice(0, 512) ?? null, country };
}
