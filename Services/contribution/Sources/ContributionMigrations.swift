import ServiceRuntime

enum ContributionMigrations {
    static let all: [Migration] = [
        Migration(1, "ledger accounts, postings, contributions", """
            CREATE TABLE accounts (
                account_number text PRIMARY KEY,
                person_ref text NOT NULL,
                county text NOT NULL,
                schedule text NOT NULL,
                status text NOT NULL,
                opened_on date NOT NULL,
                -- Derived totals, changed only together with a posting in the same transaction.
                balance_fen bigint NOT NULL DEFAULT 0 CHECK (balance_fen >= 0),
                contributed_fen bigint NOT NULL DEFAULT 0,
                subsidy_fen bigint NOT NULL DEFAULT 0,
                withdrawn_fen bigint NOT NULL DEFAULT 0,
                last_seq bigint NOT NULL DEFAULT 0,
                contribution_count bigint NOT NULL DEFAULT 0
            );
            CREATE TABLE postings (
                account_number text NOT NULL REFERENCES accounts,
                seq bigint NOT NULL,
                id uuid NOT NULL UNIQUE,
                kind text NOT NULL CHECK (kind IN ('contribution', 'subsidy', 'withdrawal', 'reversal', 'transfer_in', 'transfer_out', 'interest')),
                amount_fen bigint NOT NULL CHECK (amount_fen <> 0),
                balance_after_fen bigint NOT NULL CHECK (balance_after_fen >= 0),
                at timestamptz NOT NULL,
                business_date date NOT NULL,
                reference text NOT NULL,
                PRIMARY KEY (account_number, seq)
            );
            -- Postings are immutable: corrections are new (reversal) postings.
            CREATE FUNCTION postings_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'ledger postings are immutable'; END $$;
            CREATE TRIGGER postings_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON postings
                FOR EACH STATEMENT EXECUTE FUNCTION postings_are_immutable();
            CREATE TABLE contributions (
                contribution_id uuid PRIMARY KEY,
                account_number text NOT NULL REFERENCES accounts,
                origin text NOT NULL,
                channel text,
                channel_txn_id text,
                legacy_id text UNIQUE,
                amount_fen bigint NOT NULL CHECK (amount_fen > 0),
                paid_at timestamptz NOT NULL,
                paid_on date NOT NULL,
                fingerprint text NOT NULL,
                posting_seq bigint NOT NULL,
                balance_after_fen bigint NOT NULL,
                UNIQUE (channel, channel_txn_id)
            );
            CREATE INDEX contributions_by_account ON contributions (account_number, paid_on);
            CREATE TABLE contribution_months (
                account_number text NOT NULL REFERENCES accounts,
                month text NOT NULL,
                PRIMARY KEY (account_number, month)
            )
            """),
    ]
}
