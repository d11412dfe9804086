import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from "graphql";

export interface OperationLimits {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
}

export interface OperationMeasure {
  depth: number;
  cost: number;
  aliases: number;
}

/** Page size assumed for `first`/`last` given as a variable (validation runs before variables are known). */
const ASSUMED_VARIABLE_PAGE = 100;
/** Numbers past this are reported as "more than" (a fragment bomb grows exponentially). */
const CAP = Number.MAX_SAFE_INTEGER;

function listMultiplier(args: readonly { name: { value: string }; value: ValueNode }[] | undefined): number {
  for (const arg of args ?? []) {
    if (arg.name.value !== "first" && arg.name.value !== "last") continue;
    if (arg.value.kind === Kind.INT) return Math.max(1, Number(arg.value.value));
    if (arg.value.kind === Kind.VARIABLE) return ASSUMED_VARIABLE_PAGE;
  }
  return 1;
}

/**
 * Measures a selection set with fragments expanded: depth (introspection excluded), cost (each
 * field 1, children multiplied by a literal `first`/`last`) and aliases. Fragment results are
 * memoised, so a fragment bomb is measured in linear time; cycles (reported by graphql's own
 * NoFragmentCycles rule) count as empty.
 */
export function measureSelectionSet(selectionSet: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>): OperationMeasure {
  const memo = new Map<string, OperationMeasure>();
  const visiting = new Set<string>();

  const measure = (set: SelectionSetNode): OperationMeasure => {
    const total: OperationMeasure = { depth: 0, cost: 0, aliases: 0 };
    const add = (child: OperationMeasure, extraDepth: number, multiplier: number, ownCost: number, ownAliases: number) => {
      total.depth = Math.max(total.depth, child.depth + extraDepth);
      total.cost = Math.min(CAP, total.cost + ownCost + child.cost * multiplier);
      total.aliases = Math.min(CAP, total.aliases + ownAliases + child.aliases * multiplier);
    };
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith("__")) continue;
        const child = selection.selectionSet ? measure(selection.selectionSet) : { depth: 0, cost: 0, aliases: 0 };
        add(child, 1, listMultiplier(selection.arguments), 1, selection.alias ? 1 : 0);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        add(measure(selection.selectionSet), 0, 1, 0, 0);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || visiting.has(name)) continue;
        let result = memo.get(name);
        if (!result) {
          visiting.add(name);
          result = measure(fragment.selectionSet);
          visiting.delete(name);
          memo.set(name, result);
        }
        add(result, 0, 1, 0, 0);
      }
    }
    return total;
  };
  return measure(selectionSet);
}

function fmt(n: number): string {
  return n >= CAP ? "too many" : String(n);
}

/**
 * Rejects operations over the depth, cost or alias limits before anything executes. Used by
 * Apollo over HTTP and re-applied by the WebSocket server, which skips validation otherwise.
 */
export function createLimitsRule(limits: OperationLimits): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    return {
      OperationDefinition(node) {
        const name = node.name ? `Operation "${node.name.value}"` : "The operation";
        const m = measureSelectionSet(node.selectionSet, fragments);
        if (m.depth > limits.maxDepth) {
          context.reportError(new GraphQLError(`${name} is ${fmt(m.depth)} levels deep; the maximum depth is ${limits.maxDepth}`, { nodes: [node] }));
        }
        if (m.cost > limits.maxCost) {
          context.reportError(new GraphQLError(`${name} costs ${fmt(m.cost)}; the maximum cost is ${limits.maxCost}`, { nodes: [node] }));
        }
        if (m.aliases > limits.maxAliases) {
          context.reportError(new GraphQLError(`${name} uses ${fmt(m.aliases)} aliases; the maximum is ${limits.maxAliases}`, { nodes: [node] }));
        }
        return false;
      },
    };
  };
}

/** Root fields that may appear once per operation: aliases must not multiply their attempts. */
export const SINGLE_USE_FIELDS = ["login", "completeMfaLogin", "refreshTokens", "resetPassword", "verifyEmail"] as const;

/** Rejects an operation that selects more than one of `names` at its root (aliases and fragments included). */
export function createSingleUseRule(names: readonly string[]): ValidationRule {
  const watched = new Set(names);
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    const count = (set: SelectionSetNode, seen: Set<string>): number =>
      set.selections.reduce((total, selection) => {
        if (selection.kind === Kind.FIELD) return total + (watched.has(selection.name.value) ? 1 : 0);
        if (selection.kind === Kind.INLINE_FRAGMENT) return total + count(selection.selectionSet, seen);
        const fragment = fragments.get(selection.name.value);
        if (!fragment || seen.has(fragment.name.value)) return total;
        return total + count(fragment.selectionSet, new Set([...seen, fragment.name.value]));
      }, 0);
    return {
      OperationDefinition(node) {
        if (count(node.selectionSet, new Set()) > 1) {
          context.reportError(new GraphQLError(`At most one of ${names.join(", ")} per operation`, { nodes: [node] }));
        }
        return false;
      },
    };
  };
}
