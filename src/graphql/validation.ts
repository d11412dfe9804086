import { GraphQLError, NoSchemaIntrospectionCustomRule, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema, type ParseOptions, type ValidationRule } from "graphql";
import { createLimitsRule, type OperationLimits } from "./limits";

/**
 * Root fields that may appear once per operation, as their module declares them (name → what one
 * use attempts): aliases must not multiply their attempts.
 */
export type SingleUseFields = Readonly<Record<string, string>>;

export interface GuardOptions extends OperationLimits {
  /** Tokens a document may hold; parsing stops past it (graphql's `maxTokens`). */
  maxTokens: number;
  introspection: boolean;
  /** Leave "Did you mean …?" out of validation errors (production). */
  hideSuggestions: boolean;
}

/**
 * How a document is admitted, the one definition both transports use: Apollo over HTTP takes its
 * parts as `parseOptions`, `validationRules` and `validationOptions`; the WebSocket server calls
 * `parse` and `validate`, which apply the same parts with graphql's own rules, as Apollo does.
 */
export interface OperationGuard {
  readonly parseOptions: ParseOptions;
  readonly rules: readonly ValidationRule[];
  readonly validationOptions: { hideSuggestions: boolean };
  /** Throws graphql's syntax error (the token limit included). */
  parse(source: string): DocumentNode;
  validate(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[];
}

export function createOperationGuard(options: GuardOptions): OperationGuard {
  const rules: ValidationRule[] = [createLimitsRule(options)];
  if (!options.introspection) rules.push(NoSchemaIntrospectionCustomRule);
  const parseOptions = { maxTokens: options.maxTokens };
  const validationOptions = { hideSuggestions: options.hideSuggestions };
  const all = [...specifiedRules, ...rules];
  return {
    parseOptions,
    rules,
    validationOptions,
    parse: (source) => parse(source, parseOptions),
    validate: (schema, document) => validate(schema, document, all, validationOptions),
  };
}
