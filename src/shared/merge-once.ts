type UnionToIntersection<U> = (U extends unknown ? (part: U) => void : never) extends (part: infer I) => void ? I : never;

/** One owner's declarations of one kind, by name. */
type Part = Readonly<Record<string, unknown>>;

/** The parts, by owner, merged into one record (its type: every part's entries). */
export type Merged<Parts extends Readonly<Record<string, Part>>> = UnionToIntersection<Parts[keyof Parts]>;

/**
 * Merges the declarations of one kind ("event", "variable", …) that several owners (modules, the
 * platform) make, keyed by owner. A name declared twice stops the start: the message names the kind,
 * the name and both owners.
 */
export function mergeOnce<Parts extends Readonly<Record<string, Part>>>(kind: string, parts: Parts): Merged<Parts> {
  const merged: Record<string, unknown> = {};
  const ownerOf = new Map<string, string>();
  for (const [owner, part] of Object.entries(parts)) {
    for (const [name, declaration] of Object.entries(part)) {
      const first = ownerOf.get(name);
      if (first !== undefined) throw new Error(`The ${kind} "${name}" is declared by both ${first} and ${owner}`);
      ownerOf.set(name, owner);
      merged[name] = declaration;
    }
  }
  return Object.freeze(merged) as Merged<Parts>;
}
