import ServiceRuntime

enum SubsidyMigrations {
    static let all: [Migration] = [
        Migration(
            1, "participants, lots, grants, caps, social insurance",
            """
            CREATE TABLE participants (
                account_number text PRIMARY KEY,
                person_ref text NOT NULL,
                opened_on date NOT NULL,
                children_count int NOT NULL,
                education_level text NOT NULL,
                graduation_date date,
                residence text NOT NULL,
                employment_type text NOT NULL,
                veteran boolean NOT NULL DEFAULT false
            );
            CREATE INDEX participants_person ON participants (person_ref);
            -- Each contribution (and, later, transferred-in principal) is a lot (§3 decisions).
            CREATE TABLE lots (
                lot_id text PRIMARY KEY,
                account_number text NOT NULL,
                started_on date NOT NULL,
                sequence bigint NOT NULL,
                original_fen bigint NOT NULL CHECK (original_fen > 0),
                remaining_fen bigint NOT NULL CHECK (remaining_fen >= 0 AND remaining_fen <= original_fen),
                first_contribution boolean NOT NULL,
                next_anniversary date NOT NULL
            ) WITH (fillfactor = 80);
            -- The annual job advances every due lot's next anniversary: that column is not indexed
            -- and pages keep free room, so Postgres updates those rows in place (HOT).
            CREATE INDEX lots_newest_first ON lots (account_number, started_on DESC, sequence DESC);
            -- One row per subsidy-granted event; its id is the ledger posting's reference.
            CREATE TABLE grants (
                id uuid PRIMARY KEY,
                person_ref text NOT NULL,
                account_number text NOT NULL,
                kind text NOT NULL,
                amount_fen bigint NOT NULL CHECK (amount_fen > 0),
                granted_on date NOT NULL,
                reason text NOT NULL,
                lots int NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            -- Exactly once: one opening subsidy per person ...
            CREATE UNIQUE INDEX one_opening_per_person ON grants (person_ref) WHERE kind = 'opening';
            CREATE INDEX grants_by_account ON grants (account_number, granted_on);
            -- ... and one annual grant per lot anniversary (the audit of each lot's share).
            CREATE TABLE lot_grants (
                lot_id text NOT NULL,
                anniversary date NOT NULL,
                grant_id uuid NOT NULL,
                amount_fen bigint NOT NULL CHECK (amount_fen > 0),
                PRIMARY KEY (lot_id, anniversary)
            );
            -- The lifetime cap (§3) is per person: the row is locked while a grant is clipped.
            CREATE TABLE person_caps (
                person_ref text PRIMARY KEY,
                granted_fen bigint NOT NULL CHECK (granted_fen >= 0)
            );
            CREATE TABLE social_insurance_decisions (
                person_ref text NOT NULL,
                month text NOT NULL,
                decision_id uuid NOT NULL,
                account_number text,
                paid_fen bigint NOT NULL,
                approved boolean NOT NULL,
                subsidy_fen bigint NOT NULL,
                reason text NOT NULL,
                fingerprint text NOT NULL,
                decided_on date NOT NULL,
                PRIMARY KEY (person_ref, month)
            );
            CREATE TABLE annual_runs (
                as_of date PRIMARY KEY,
                lots int NOT NULL,
                granted_fen bigint NOT NULL,
                ran_at timestamptz NOT NULL DEFAULT now()
            )
            """),
        // Months are `YYYY-MM` text (YearMonth): a malformed one is refused when written rather
        // than met when read, where it would stop a whole job's query. NOT VALID: rows already
        // stored are not rechecked (a deployment with a bad one still starts); new ones are.
        Migration(
            2, "months are YYYY-MM",
            """
            ALTER TABLE social_insurance_decisions ADD CONSTRAINT social_insurance_decisions_month_is_a_month CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$') NOT VALID
            """),
    ]
}
