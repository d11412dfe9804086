const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The one rule for the ids this service hands out (UUIDs): accepted in any case and given back in
 * lowercase, as PostgreSQL prints them and tokens carry them, so that one id has one spelling in
 * every comparison and cache key; null for anything that is not a UUID.
 */
export function parseUuid(value: string): string | null {
  return UUID.test(value) ? value.toLowerCase() : null;
}
