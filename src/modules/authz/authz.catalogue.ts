/**
 * Every permission this service knows, `<domain>:<action>` (lowercase, `_` allowed), and the
 * built-in roles: the one catalogue. The migration `20261201233000_authz` stores the same roles
 * (a test keeps the two in step); a change here is a new migration.
 */
export const PERMISSIONS = {
  "users:read": "Read any user's private fields and list users (adminUsers)",
  "users:suspend": "Suspend and reactivate users",
  "sessions:revoke": "End another user's sessions",
  "kyc:review": "Review identity verifications",
  "audit:read": "Read the audit trail of every user (auditEvents)",
  "authz:read": "Check and list another user's permissions",
  "roles:assign": "Assign and remove roles",
  "permissions:grant": "Grant and revoke permissions directly",
  "policies:write": "Create and delete authorization policies",
  "service_clients:write": "Create, rotate and disable service clients",
  "trading_accounts:link": "Link brokerage accounts",
  "trading:orders:place": "Place orders on a trading account one may trade (its owner or a TRADER member)",
  "market:read": "Read market data",
} as const;

export type Permission = keyof typeof PERMISSIONS;

/** A permission name as callers write it: `<domain>:<action>[:<action>]`, lowercase, `_` allowed. */
export const PERMISSION_NAME = /^[a-z][a-z_]*(:[a-z][a-z_]*)+$/;

/** The built-in roles and what each grants. */
export const BUILT_IN_ROLES: Readonly<Record<string, { description: string; permissions: readonly Permission[] }>> = {
  admin: { description: "Every permission", permissions: Object.keys(PERMISSIONS) as Permission[] },
  compliance: { description: "Compliance staff: users, KYC review, the audit trail", permissions: ["users:read", "kyc:review", "audit:read", "authz:read"] },
  support: { description: "Support staff: users and their sessions", permissions: ["users:read", "sessions:revoke"] },
  trader: { description: "Every registered user: links brokerage accounts and trades those they may", permissions: ["trading_accounts:link", "trading:orders:place", "market:read"] },
  viewer: { description: "Reads market data", permissions: ["market:read"] },
};

/** The role registration gives (a migration gave it to the accounts that existed). */
export const DEFAULT_ROLE = "trader";
