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
  /** Field selections after fragment expansion (Apollo's `maxRecursiveSelections`). */
  maxSelections: number;
  /** Times one response name or fragment may be selected in one selection set. */
  maxRepeats: number;
  /** Root fields of which an operation may select one, once (aliases and fragments included). */
  singleUse: readonly string[];
}

export interface OperationMeasure {
  /** Introspection (`__`) fields excluded. */
  depth: number;
  /** Each field 1, children multiplied by a literal `first`/`last`. */
  cost: number;
  aliases: number;
  /** Fields after fragment expansion, each counted once per place it is spread into. */
  selections: number;
  /** Most times one response name or fragment is selected in one selection set. */
  repeats: number;
  /** Single-use root fields at the measured level. */
  singleUse: number;
}

/** Page size assumed for `first`/`last` given as a variable (validation runs before variables are known). */
const ASSUMED_VARIABLE_PAGE = 100;
/** Numbers past this are reported as "more than" (a fragment bomb grows exponentially). */
const CAP = Number.MAX_SAFE_INTEGER;
const EMPTY: OperationMeasure = Object.freeze({ depth: 0, cost: 0, aliases: 0, selections: 0, repeats: 0, singleUse: 0 });

function listMultiplier(args: readonly { name: { value: string }; value: ValueNode }[] | undefined): number {
  for (const arg of args ?? []) {
    if (arg.name.value !== "first" && arg.name.value !== "last") continue;
    if (arg.value.kind === Kind.INT) return Math.max(1, Number(arg.value.value));
    if (arg.value.kind === Kind.VARIABLE) return ASSUMED_VARIABLE_PAGE;
  }
  return 1;
}

const capped = (n: number) => Math.min(CAP, n);

/**
 * Measures a selection set with fragments expanded, in one walk: depth, cost, aliases, recursive
 * selections, repeated selections and single-use root fields. `__typename` and other `__` fields
 * count like any field except for depth. Fragment results are memoised, so a fragment bomb is
 * measured in linear time; cycles (reported by graphql's own NoFragmentCycles rule) count as empty.
 */
export function measureSelectionSet(
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  singleUse: ReadonlySet<string> = new Set(),
): OperationMeasure {
  const memo = new Map<string, OperationMeasure>();
  const visiting = new Set<string>();

  const fragment = (name: string): OperationMeasure => {
    const definition = fragments.get(name);
    if (!definition || visiting.has(name)) return EMPTY;
    let result = memo.get(name);
    if (!result) {
      visiting.add(name);
      result = measure(definition.selectionSet);
      visiting.delete(name);
      memo.set(name, result);
    }
    return result;
  };

  const measure = (set: SelectionSetNode): OperationMeasure => {
    const total = { ...EMPTY };
    const seen = new Map<string, number>();
    const repeat = (key: string) => {
      const times = (seen.get(key) ?? 0) + 1;
      seen.set(key, times);
      total.repeats = Math.max(total.repeats, times);
    };
    /** `level`: the child's single-use fields are at this level (fragments), not below (fields). */
    const add = (child: OperationMeasure, depth: number, multiplier: number, own: { cost: number; aliases: number; singleUse: number }, level: boolean) => {
      total.depth = Math.max(total.depth, depth);
      total.cost = capped(total.cost + own.cost + child.cost * multiplier);
      total.aliases = capped(total.aliases + own.aliases + child.aliases * multiplier);
      total.selections = capped(total.selections + own.cost + child.selections);
      total.repeats = Math.max(total.repeats, child.repeats);
      total.singleUse = capped(total.singleUse + own.singleUse + (level ? child.singleUse : 0));
    };
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        repeat(`field:${selection.alias?.value ?? name}`);
        const child = selection.selectionSet ? measure(selection.selectionSet) : EMPTY;
        const depth = name.startsWith("__") ? 0 : child.depth + 1;
        add(child, depth, listMultiplier(selection.arguments), { cost: 1, aliases: selection.alias ? 1 : 0, singleUse: singleUse.has(name) ? 1 : 0 }, false);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const child = measure(selection.selectionSet);
        add(child, child.depth, 1, { cost: 0, aliases: 0, singleUse: 0 }, true);
      } else {
        repeat(`fragment:${selection.name.value}`);
        const child = fragment(selection.name.value);
        add(child, child.depth, 1, { cost: 0, aliases: 0, singleUse: 0 }, true);
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
 * Rejects operations over the depth, cost, alias, selection or repetition limits, or selecting more
 * than one single-use root field, before anything executes. One memoised walk per operation.
 */
export function createLimitsRule(limits: OperationLimits): ValidationRule {
  const singleUse = new Set(limits.singleUse);
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    return {
      OperationDefinition(node) {
        const name = node.name ? `Operation "${node.name.value}"` : "The operation";
        const m = measureSelectionSet(node.selectionSet, fragments, singleUse);
        const problems = [
          m.depth > limits.maxDepth && `${name} is ${fmt(m.depth)} levels deep; the maximum depth is ${limits.maxDepth}`,
          m.cost > limits.maxCost && `${name} costs ${fmt(m.cost)}; the maximum cost is ${limits.maxCost}`,
          m.aliases > limits.maxAliases && `${name} uses ${fmt(m.aliases)} aliases; the maximum is ${limits.maxAliases}`,
          m.selections > limits.maxSelections && `${name} selects ${fmt(m.selections)} fields once fragments are expanded; the maximum is ${limits.maxSelections}`,
          m.repeats > limits.maxRepeats && `${name} selects one field or fragment ${fmt(m.repeats)} times in one selection set; the maximum is ${limits.maxRepeats}`,
          m.singleUse > 1 && `At most one of ${limits.singleUse.join(", ")} per operation`,
        ];
        for (const problem of problems) if (problem) context.reportError(new GraphQLError(problem, { nodes: [node] }));
        return false;
      },
    };
  };
}
