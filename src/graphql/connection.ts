import { ArgsType, Field, Int, ObjectType, type ClassType } from "type-graphql";
import { BadUserInputError } from "../shared/errors";

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

/** The arguments of a connection: `first` (1 to 100, default 20) and `after` (a cursor it handed out). */
@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, description: "How many, 1 to 100 (20 when omitted)." })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "The endCursor of the previous page." })
  after?: string | null;
}

export interface Edge<N> {
  cursor: string;
  node: N;
}

export interface Connection<N> {
  edges: Edge<N>[];
  pageInfo: PageInfo;
}

/**
 * The GraphQL type `<name>Connection { edges: [<name>Edge] pageInfo: PageInfo }` of a list of
 * `node`s, and its `<name>Edge { cursor node }`.
 */
export function connectionType<N extends object>(name: string, node: ClassType<N>): ClassType<Connection<N>> {
  @ObjectType(`${name}Edge`)
  class EdgeType implements Edge<N> {
    @Field()
    cursor!: string;

    @Field(() => node)
    node!: N;
  }

  @ObjectType(`${name}Connection`)
  class ConnectionType implements Connection<N> {
    @Field(() => [EdgeType])
    edges!: EdgeType[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;
  }
  return ConnectionType;
}

export const MAX_PAGE = 100;
const DEFAULT_PAGE = 20;

/** A connection's `first`: 1 to 100, 20 when omitted; otherwise BAD_USER_INPUT naming `first`. */
export function pageSize(first: number | null | undefined): number {
  const size = first ?? DEFAULT_PAGE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) throw BadUserInputError.field("first", `must be between 1 and ${MAX_PAGE}`);
  return size;
}

/**
 * Opaque cursors of one list: `<kind>:<key>` in base64url, where the key is what the list's order
 * is keyed by. `decode` answers the key's parts matched by `key` (anchored, its capture groups),
 * or BAD_USER_INPUT naming `after` for anything this list did not hand out.
 */
export function cursorCodec(kind: string, key: RegExp) {
  const pattern = new RegExp(`^${kind}:${key.source}$`);
  return {
    encode: (...parts: (string | number | bigint)[]) => Buffer.from(`${kind}:${parts.join(":")}`).toString("base64url"),
    decode(cursor: string): string[] {
      const match = pattern.exec(Buffer.from(cursor, "base64url").toString("utf8"));
      if (!match) throw BadUserInputError.field("after", "is not a cursor from this list");
      return match.slice(1) as string[];
    },
  };
}

/** A page from the rows of a query that asked for `size + 1`: the extra row only says there is a next page. */
export function pageOf<R, N>(rows: readonly R[], size: number, cursorOf: (row: R) => string, nodeOf: (row: R) => N): Connection<N> {
  const edges = rows.slice(0, size).map((row) => ({ cursor: cursorOf(row), node: nodeOf(row) }));
  return { edges, pageInfo: { hasNextPage: rows.length > size, endCursor: edges[edges.length - 1]?.cursor ?? null } };
}
