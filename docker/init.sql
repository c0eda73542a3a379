-- One schema per service, owned by <schema>_owner (the role the service migrates with); the
-- service's own role, <schema>, may only use it: the migrator grants it the data rights it needs
-- at every start (no DDL, no TRUNCATE, append-only tables stay append-only). The roles, with
-- their passwords, are created just before by init.sh (mounted as 10-roles.sh).
-- Nobody gets anything by default: no public schema, no temporary tables (psql sets DBNAME to
-- the database this runs in, POSTGRES_DB).
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE TEMPORARY ON DATABASE :"DBNAME" FROM PUBLIC;
CREATE SCHEMA enrolment AUTHORIZATION enrolment_owner;
CREATE SCHEMA contribution AUTHORIZATION contribution_owner;
CREATE SCHEMA subsidy AUTHORIZATION subsidy_owner;
CREATE SCHEMA withdrawal AUTHORIZATION withdrawal_owner;
CREATE SCHEMA loan AUTHORIZATION loan_owner;
CREATE SCHEMA regional AUTHORIZATION regional_owner;
GRANT USAGE ON SCHEMA enrolment TO enrolment;
GRANT USAGE ON SCHEMA contribution TO contribution;
GRANT USAGE ON SCHEMA subsidy TO subsidy;
GRANT USAGE ON SCHEMA withdrawal TO withdrawal;
GRANT USAGE ON SCHEMA loan TO loan;
GRANT USAGE ON SCHEMA regional TO regional;
