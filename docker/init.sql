-- One schema per service, owned by <schema>_owner (the role the service migrates with); the
-- service's own role, <schema>, may only use it: the migrator grants it the data rights it needs
-- at every start (no DDL, no TRUNCATE, append-only tables stay append-only). The roles, with
-- their passwords, are created just before by init.sh (mounted as 10-roles.sh).
-- The same statements as the dev stack's Tools/devstack/pg.sh (provision); Tools/docs/deploycheck.py
-- (`make test`) fails when one of pg.sh's is missing here.
-- Nobody gets anything by default: no public schema, no temporary tables but for the schema
-- owners (a read-model rebuild replays into fresh ones; psql sets DBNAME to the database this
-- runs in, POSTGRES_DB).
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE TEMPORARY ON DATABASE :"DBNAME" FROM PUBLIC;

CREATE SCHEMA enrolment AUTHORIZATION enrolment_owner;
REVOKE ALL ON SCHEMA enrolment FROM PUBLIC;
GRANT USAGE ON SCHEMA enrolment TO enrolment;
GRANT TEMPORARY ON DATABASE :"DBNAME" TO enrolment_owner;
ALTER ROLE enrolment SET search_path = enrolment;
ALTER ROLE enrolment_owner SET search_path = enrolment;

CREATE SCHEMA contribution AUTHORIZATION contribution_owner;
REVOKE ALL ON SCHEMA contribution FROM PUBLIC;
GRANT USAGE ON SCHEMA contribution TO contribution;
GRANT TEMPORARY ON DATABASE :"DBNAME" TO contribution_owner;
ALTER ROLE contribution SET search_path = contribution;
ALTER ROLE contribution_owner SET search_path = contribution;

CREATE SCHEMA subsidy AUTHORIZATION subsidy_owner;
REVOKE ALL ON SCHEMA subsidy FROM PUBLIC;
GRANT USAGE ON SCHEMA subsidy TO subsidy;
GRANT TEMPORARY ON DATABASE :"DBNAME" TO subsidy_owner;
ALTER ROLE subsidy SET search_path = subsidy;
ALTER ROLE subsidy_owner SET search_path = subsidy;

CREATE SCHEMA withdrawal AUTHORIZATION withdrawal_owner;
REVOKE ALL ON SCHEMA withdrawal FROM PUBLIC;
GRANT USAGE ON SCHEMA withdrawal TO withdrawal;
GRANT TEMPORARY ON DATABASE :"DBNAME" TO withdrawal_owner;
ALTER ROLE withdrawal SET search_path = withdrawal;
ALTER ROLE withdrawal_owner SET search_path = withdrawal;

CREATE SCHEMA loan AUTHORIZATION loan_owner;
REVOKE ALL ON SCHEMA loan FROM PUBLIC;
GRANT USAGE ON SCHEMA loan TO loan;
GRANT TEMPORARY ON DATABASE :"DBNAME" TO loan_owner;
ALTER ROLE loan SET search_path = loan;
ALTER ROLE loan_owner SET search_path = loan;

-- regional-sync's schema and roles are named `regional`.
CREATE SCHEMA regional AUTHORIZATION regional_owner;
REVOKE ALL ON SCHEMA regional FROM PUBLIC;
GRANT USAGE ON SCHEMA regional TO regional;
GRANT TEMPORARY ON DATABASE :"DBNAME" TO regional_owner;
ALTER ROLE regional SET search_path = regional;
ALTER ROLE regional_owner SET search_path = regional;
