-- One login role and one schema per service; each role can use its own schema only.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
CREATE ROLE enrolment LOGIN PASSWORD 'enrolment';
CREATE ROLE contribution LOGIN PASSWORD 'contribution';
CREATE ROLE subsidy LOGIN PASSWORD 'subsidy';
CREATE ROLE withdrawal LOGIN PASSWORD 'withdrawal';
CREATE ROLE loan LOGIN PASSWORD 'loan';
CREATE ROLE regional LOGIN PASSWORD 'regional';
CREATE SCHEMA enrolment AUTHORIZATION enrolment;
CREATE SCHEMA contribution AUTHORIZATION contribution;
CREATE SCHEMA subsidy AUTHORIZATION subsidy;
CREATE SCHEMA withdrawal AUTHORIZATION withdrawal;
CREATE SCHEMA loan AUTHORIZATION loan;
CREATE SCHEMA regional AUTHORIZATION regional;
