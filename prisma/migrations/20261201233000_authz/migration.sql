-- The authz module: roles and their permissions (the built-in ones of
-- src/modules/authz/authz.catalogue.ts), user roles, direct grants that may expire, and policies
-- (evaluated with Cedar). Every existing account becomes a trader, as registration now makes it.
CREATE TABLE "roles" (
    "name" VARCHAR(64) NOT NULL,
    "description" TEXT NOT NULL,
    "built_in" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "roles_pkey" PRIMARY KEY ("name")
);

CREATE TABLE "role_permissions" (
    "role" VARCHAR(64) NOT NULL,
    "permission" VARCHAR(100) NOT NULL,

    CONSTRAINT "role_permissions_pkey" PRIMARY KEY ("role", "permission")
);
ALTER TABLE "role_permissions" ADD CONSTRAINT "role_permissions_role_fkey" FOREIGN KEY ("role") REFERENCES "roles"("name") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "user_roles" (
    "user_id" UUID NOT NULL,
    "role" VARCHAR(64) NOT NULL,
    "assigned_by" UUID,
    "assigned_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "user_roles_pkey" PRIMARY KEY ("user_id", "role")
);
CREATE INDEX "user_roles_role_idx" ON "user_roles"("role");
ALTER TABLE "user_roles" ADD CONSTRAINT "user_roles_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "user_roles" ADD CONSTRAINT "user_roles_role_fkey" FOREIGN KEY ("role") REFERENCES "roles"("name") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "permission_grants" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "permission" VARCHAR(100) NOT NULL,
    "expires_at" TIMESTAMPTZ(3),
    "reason" VARCHAR(500),
    "granted_by" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "permission_grants_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "permission_grants_user_id_idx" ON "permission_grants"("user_id");
ALTER TABLE "permission_grants" ADD CONSTRAINT "permission_grants_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TYPE "policy_effect" AS ENUM ('ALLOW', 'DENY');

CREATE TABLE "policies" (
    "id" UUID NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "description" VARCHAR(500),
    "effect" "policy_effect" NOT NULL,
    "priority" INTEGER NOT NULL DEFAULT 0,
    "subjects" TEXT[] NOT NULL,
    "actions" TEXT[] NOT NULL,
    "resources" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
    "condition" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_by" UUID,
    "updated_by" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "policies_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "policies_name_key" ON "policies"("name");

INSERT INTO "roles" ("name", "description", "built_in") VALUES
    ('admin', 'Every permission', true),
    ('compliance', 'Compliance staff: users, KYC review, the audit trail', true),
    ('support', 'Support staff: users and their sessions', true),
    ('trader', 'Every registered user: links brokerage accounts and trades those they may', true),
    ('viewer', 'Reads market data', true);
INSERT INTO "role_permissions" ("role", "permission") VALUES
    ('admin', 'users:read'),
    ('admin', 'users:suspend'),
    ('admin', 'sessions:revoke'),
    ('admin', 'kyc:review'),
    ('admin', 'audit:read'),
    ('admin', 'authz:read'),
    ('admin', 'roles:assign'),
    ('admin', 'permissions:grant'),
    ('admin', 'policies:write'),
    ('admin', 'service_clients:write'),
    ('admin', 'trading_accounts:link'),
    ('admin', 'trading:orders:place'),
    ('admin', 'market:read'),
    ('compliance', 'users:read'),
    ('compliance', 'kyc:review'),
    ('compliance', 'audit:read'),
    ('compliance', 'authz:read'),
    ('support', 'users:read'),
    ('support', 'sessions:revoke'),
    ('trader', 'trading_accounts:link'),
    ('trader', 'trading:orders:place'),
    ('trader', 'market:read'),
    ('viewer', 'market:read');
INSERT INTO "user_roles" ("user_id", "role") SELECT "id", 'trader' FROM "users";

GRANT SELECT ON "roles", "role_permissions" TO "identity_app";
GRANT SELECT, INSERT, UPDATE, DELETE ON "user_roles", "permission_grants", "policies" TO "identity_app";
