import { NoSchemaIntrospectionCustomRule, type ValidationRule } from "graphql";
import { SINGLE_USE_FIELDS, createLimitsRule, createSingleUseRule } from "./limits";

export interface ValidationOptions {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  introspection: boolean;
}

/** Rules added to graphql's own, the same for HTTP (Apollo) and WebSocket (graphql-ws). */
export function extraValidationRules(options: ValidationOptions): ValidationRule[] {
  const rules = [createLimitsRule(options), createSingleUseRule(SINGLE_USE_FIELDS)];
  if (!options.introspection) rules.push(NoSchemaIntrospectionCustomRule);
  return rules;
}
