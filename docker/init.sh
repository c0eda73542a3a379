#!/bin/bash
# The login roles, with the passwords given to the postgres container (compose.yaml): per schema
# the service's own role (<SERVICE>_DB_PASSWORD) and the schema's owner, <schema>_owner
# (<SERVICE>_DB_OWNER_PASSWORD), which the services use only to migrate and to grant their own
# role its data rights. Run by the official postgres image's entrypoint on an empty data volume,
# before init.sql (mounted as 20-schemas.sql) creates each schema, owned by <schema>_owner. The
# passwords are set once, here; change one later with ALTER ROLE … PASSWORD (and the service's
# HPF_PG_PASSWORD or HPF_PG_OWNER_PASSWORD).
set -e

for hpf_pair in enrolment:ENROLMENT_DB_PASSWORD contribution:CONTRIBUTION_DB_PASSWORD subsidy:SUBSIDY_DB_PASSWORD \
            withdrawal:WITHDRAWAL_DB_PASSWORD loan:LOAN_DB_PASSWORD regional:REGIONAL_DB_PASSWORD \
            enrolment_owner:ENROLMENT_DB_OWNER_PASSWORD contribution_owner:CONTRIBUTION_DB_OWNER_PASSWORD \
            subsidy_owner:SUBSIDY_DB_OWNER_PASSWORD withdrawal_owner:WITHDRAWAL_DB_OWNER_PASSWORD \
            loan_owner:LOAN_DB_OWNER_PASSWORD regional_owner:REGIONAL_DB_OWNER_PASSWORD; do
  hpf_role=${hpf_pair%%:*} hpf_variable=${hpf_pair#*:}
  if [ -z "${!hpf_variable}" ]; then
    echo "init.sh: $hpf_variable is not set (the $hpf_role role's password)" >&2
    exit 1
  fi
  if [ "${!hpf_variable}" = "$hpf_role" ]; then
    echo "init.sh: $hpf_variable may not be the role name (the services refuse it outside development)" >&2
    exit 1
  fi
done

# psql quotes each :'variable' as a string literal, so any character may appear in a password.
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v enrolment_password="$ENROLMENT_DB_PASSWORD" \
  -v contribution_password="$CONTRIBUTION_DB_PASSWORD" \
  -v subsidy_password="$SUBSIDY_DB_PASSWORD" \
  -v withdrawal_password="$WITHDRAWAL_DB_PASSWORD" \
  -v loan_password="$LOAN_DB_PASSWORD" \
  -v regional_password="$REGIONAL_DB_PASSWORD" \
  -v enrolment_owner_password="$ENROLMENT_DB_OWNER_PASSWORD" \
  -v contribution_owner_password="$CONTRIBUTION_DB_OWNER_PASSWORD" \
  -v subsidy_owner_password="$SUBSIDY_DB_OWNER_PASSWORD" \
  -v withdrawal_owner_password="$WITHDRAWAL_DB_OWNER_PASSWORD" \
  -v loan_owner_password="$LOAN_DB_OWNER_PASSWORD" \
  -v regional_owner_password="$REGIONAL_DB_OWNER_PASSWORD" <<'SQL'
CREATE ROLE enrolment LOGIN PASSWORD :'enrolment_password';
CREATE ROLE contribution LOGIN PASSWORD :'contribution_password';
CREATE ROLE subsidy LOGIN PASSWORD :'subsidy_password';
CREATE ROLE withdrawal LOGIN PASSWORD :'withdrawal_password';
CREATE ROLE loan LOGIN PASSWORD :'loan_password';
CREATE ROLE regional LOGIN PASSWORD :'regional_password';
CREATE ROLE enrolment_owner LOGIN PASSWORD :'enrolment_owner_password';
CREATE ROLE contribution_owner LOGIN PASSWORD :'contribution_owner_password';
CREATE ROLE subsidy_owner LOGIN PASSWORD :'subsidy_owner_password';
CREATE ROLE withdrawal_owner LOGIN PASSWORD :'withdrawal_owner_password';
CREATE ROLE loan_owner LOGIN PASSWORD :'loan_owner_password';
CREATE ROLE regional_owner LOGIN PASSWORD :'regional_owner_password';
SQL
