-- Audit records the chain cannot reach are refused (SECURITY 59).
-- The chainer looks back this far behind the newest chained record for transactions that committed
-- late; a record at or below the floor would never be chained. One definition for the chainer, this
-- trigger and the verifier.
CREATE FUNCTION "audit_chain_floor"() RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT GREATEST(COALESCE(max("audit_id"), 0) - 10000, 0) FROM "audit_chain"
$$;

-- Checked at commit (deferred): a transaction that inserted in time but committed after the chain
-- moved past its record is refused too.
CREATE FUNCTION "audit_reachable"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  floor bigint := "audit_chain_floor"();
BEGIN
  IF NEW."id" <= floor THEN
    RAISE EXCEPTION 'audit record % is out of the chain''s reach (ids up to % can no longer be chained)', NEW."id", floor USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER "audit_events_reachable" AFTER INSERT ON "audit_events" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "audit_reachable"();

-- The app role takes its ids from the sequence: it may insert every column but "id". (An id far
-- ahead of the sequence, once chained, would move the floor past every record still to come.)
REVOKE INSERT ON "audit_events" FROM "identity_app";
GRANT INSERT ("occurred_at", "actor_type", "actor_id", "action", "subject_type", "subject_id", "outcome", "ip_address", "user_agent", "request_id", "metadata") ON "audit_events" TO "identity_app";
