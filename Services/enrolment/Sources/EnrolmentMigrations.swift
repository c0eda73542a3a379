import ServiceRuntime

enum EnrolmentMigrations {
    static let all: [Migration] = [
        Migration(
            1, "accounts, agreements, credit registry",
            """
            CREATE SEQUENCE account_number_seq;
            CREATE TABLE accounts (
                account_number text PRIMARY KEY,
                person_ref text NOT NULL,
                id_number_masked text NOT NULL,
                name text NOT NULL,
                phone text NOT NULL,
                employment_type text NOT NULL,
                industry text NOT NULL,
                role text NOT NULL,
                county text NOT NULL,
                residence text NOT NULL,
                children_count int NOT NULL CHECK (children_count >= 0),
                education_level text NOT NULL,
                graduation_date date,
                retirement_group text NOT NULL,
                retirement_month text NOT NULL,
                schedule text NOT NULL,
                agreement_amount_fen bigint NOT NULL CHECK (agreement_amount_fen > 0),
                channel text NOT NULL,
                monthly_minimum_fen bigint NOT NULL,
                status text NOT NULL,
                opened_on date NOT NULL,
                opened_at timestamptz NOT NULL DEFAULT now()
            );
            -- One active account per person, looked up by the keyed hash, never the raw ID number.
            CREATE UNIQUE INDEX one_active_account_per_person ON accounts (person_ref) WHERE status = 'active';
            CREATE TABLE agreement_history (
                account_number text NOT NULL REFERENCES accounts,
                version int NOT NULL,
                schedule text NOT NULL,
                amount_fen bigint NOT NULL,
                channel text NOT NULL,
                effective_on date NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (account_number, version)
            );
            CREATE TABLE credit_records (
                id uuid PRIMARY KEY,
                person_ref text NOT NULL,
                id_number_masked text NOT NULL,
                source text NOT NULL,
                reference text NOT NULL,
                reason text NOT NULL,
                active_from date NOT NULL,
                active_until date,
                recorded_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (source, reference)
            );
            CREATE INDEX credit_records_person ON credit_records (person_ref)
            """),
        Migration(
            2, "who enrolled an account on a person's behalf",
            """
            -- The staff id of the officer who enrolled the person (null: the person themselves).
            ALTER TABLE accounts ADD COLUMN enrolled_by text;
            -- The holder's own bank account for payouts to themselves (only its keyed hash leaves this service).
            ALTER TABLE accounts ADD COLUMN payout_bank_account text
            """),
        Migration(
            3, "closed accounts (from the ledger's account-closed)",
            """
            -- The business date the ledger closed the account (closure withdrawal paid, or transfer out completed).
            ALTER TABLE accounts ADD COLUMN closed_on date;
            ALTER TABLE accounts ADD COLUMN closure_reason text
            """),
        // Months are `YYYY-MM` text (YearMonth): a malformed one is refused when written rather
        // than met when read, where it would stop a whole job's query. NOT VALID: rows already
        // stored are not rechecked (a deployment with a bad one still starts); new ones are.
        Migration(
            4, "months are YYYY-MM",
            """
            ALTER TABLE accounts ADD CONSTRAINT accounts_retirement_month_is_a_month CHECK (retirement_month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$') NOT VALID
            """),
    ]
}
