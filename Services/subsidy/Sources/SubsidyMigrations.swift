import ServiceRuntime

enum SubsidyMigrations {
    static let all: [Migration] = [
        Migration(1, "participants, lots, grants, caps, social insurance", """
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
            );
            CREATE INDEX lots_newest_first ON lots (account_number, started_on DESC, sequence DESC);
            CREATE INDEX lots_due ON lots (next_anniversary) WHERE remaining_fen > 0;
            CREATE TABLE grants (
                id uuid PRIMARY KEY,
                event_id uuid NOT NULL,
                person_ref text NOT NULL,
                account_number text NOT NULL,
                kind text NOT NULL,
                amount_fen bigint NOT NULL CHECK (amount_fen > 0),
                granted_on date NOT NULL,
                reason text NOT NULL,
                lot_id text,
                anniversary date,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            -- Exactly once: one opening subsidy per person, one annual grant per lot anniversary.
            CREATE UNIQUE INDEX one_opening_per_person ON grants (person_ref) WHERE kind = 'opening';
            CREATE UNIQUE INDEX one_grant_per_lot_anniversary ON grants (lot_id, anniversary) WHERE kind = 'annual';
            CREATE INDEX grants_by_account ON grants (account_number, granted_on);
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
    ]
}
