/** How the configuration of one owner (the platform, a module) declares its variables. */

export type Env = Record<string, string | undefined>;

export interface VarSpec<T> {
  /** Default as written in .env.example ("" = unset). */
  readonly example: string;
  readonly description: string;
  parse(raw: string | undefined, env: Env): T;
}

/** Variables by name, as one owner declares them. */
export type ConfigPart = Readonly<Record<string, VarSpec<unknown>>>;

/** A bad value. The message never quotes the value: `loadConfig` shows it, redacted. */
export class Invalid extends Error {}

export const isProduction = (env: Env) => env.NODE_ENV === "production";

export function spec<T>(description: string, example: string, parse: (raw: string | undefined, env: Env) => T): VarSpec<T> {
  return { description, example, parse };
}

export function int(description: string, def: number, min: number, max: number): VarSpec<number> {
  return spec(description, String(def), (raw) => {
    if (raw === undefined || raw === "") return def;
    if (!/^\d+$/.test(raw)) throw new Invalid(`expected an integer between ${min} and ${max}`);
    const n = Number(raw);
    if (n < min || n > max) throw new Invalid(`expected an integer between ${min} and ${max}`);
    return n;
  });
}

export function bool(description: string, example: string, def: (env: Env) => boolean): VarSpec<boolean> {
  return spec(description, example, (raw, env) => {
    if (raw === undefined || raw === "") return def(env);
    if (raw === "true" || raw === "1") return true;
    if (raw === "false" || raw === "0") return false;
    throw new Invalid("expected true or false");
  });
}

export function oneOf<T extends string>(description: string, values: readonly T[], def: T): VarSpec<T> {
  return spec(description, def, (raw) => {
    if (raw === undefined || raw === "") return def;
    if (!(values as readonly string[]).includes(raw)) throw new Invalid(`expected one of ${values.join(", ")}`);
    return raw as T;
  });
}

/** An http(s) URL with a default, its trailing slashes dropped (an API base that paths are appended to). */
export function httpUrl(description: string, def: string): VarSpec<string> {
  return spec(description, def, (raw) => {
    const value = raw === undefined || raw === "" ? def : raw.trim();
    try {
      if (!["http:", "https:"].includes(new URL(value).protocol)) throw new Error();
    } catch {
      throw new Invalid("expected an http(s) URL");
    }
    return value.replace(/\/+$/, "");
  });
}
