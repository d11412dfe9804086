-- AlterTable: when every session of the user was last ended (logout from every device, password
-- reset or change); a login that read an earlier value before its password check creates no session.
ALTER TABLE "users" ADD COLUMN "sessions_ended_at" TIMESTAMPTZ(3);
