import ServiceRuntime

enum RegionalMigrations {
    static let all: [Migration] = [
        Migration(
            1, "partner exchange switches and signing keys",
            """
            -- The partner cities themselves are a policy parameter; here only what staff switch and register.
            CREATE TABLE partner_switches (
                partner_code text PRIMARY KEY,
                transfer_enabled boolean NOT NULL,
                recognition_enabled boolean NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            -- Each partner's public Ed25519 keys, by key id, so keys can rotate.
            CREATE TABLE partner_keys (
                key_id text PRIMARY KEY,
                partner_code text NOT NULL,
                public_key text NOT NULL,
                registered_at timestamptz NOT NULL DEFAULT now(),
                revoked_at timestamptz
            );
            CREATE INDEX partner_keys_by_partner ON partner_keys (partner_code)
            """),
        Migration(
            2, "read models from the other services' events; transfers in and out; recognised months",
            """
            -- What this service knows of our accounts, from the enrolment, ledger, withdrawal and loan
            -- events (each in its own table: the topics are read by separate consumers, in no common order).
            CREATE TABLE accounts (
                account_number text PRIMARY KEY,
                person_ref text NOT NULL,
                opened_on date NOT NULL
            );
            CREATE INDEX accounts_by_person ON accounts (person_ref);
            CREATE TABLE ledger_accounts (
                account_number text PRIMARY KEY,
                status text NOT NULL DEFAULT 'active',
                balance_fen bigint NOT NULL DEFAULT 0
            );
            CREATE TABLE account_months (
                account_number text NOT NULL,
                month text NOT NULL,
                PRIMARY KEY (account_number, month)
            );
            CREATE TABLE open_withdrawals (
                withdrawal_id uuid PRIMARY KEY,
                account_number text NOT NULL,
                closed boolean NOT NULL DEFAULT false
            );
            CREATE INDEX open_withdrawals_by_account ON open_withdrawals (account_number) WHERE NOT closed;
            CREATE TABLE loans (
                loan_id uuid PRIMARY KEY,
                account_number text NOT NULL,
                settled boolean NOT NULL DEFAULT false
            );
            CREATE INDEX loans_by_account ON loans (account_number);
            -- One row per transfer, in (we receive) or out (we send), moved through the platform's
            -- state codes by guarded updates; each state it passed is in transfer_steps.
            CREATE TABLE transfers (
                transfer_id uuid PRIMARY KEY,
                direction text NOT NULL CHECK (direction IN ('in', 'out')),
                letter_number text NOT NULL,
                partner_city text NOT NULL,
                account_number text NOT NULL,
                person_ref text NOT NULL,
                id_number_masked text NOT NULL,
                partner_account_number text,
                state text NOT NULL CHECK (state IN ('01', '02', '08', '00', '06', '13', '05', '40')),
                code text,
                detail text,
                principal_fen bigint,
                interest_fen bigint,
                amount_fen bigint,
                out_data jsonb,
                created_on date NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (direction, partner_city, letter_number)
            );
            CREATE UNIQUE INDEX transfers_one_open ON transfers (direction, account_number, partner_city)
                WHERE state IN ('01', '02', '08', '06');
            CREATE INDEX transfers_by_account ON transfers (account_number);
            CREATE TABLE transfer_steps (
                transfer_id uuid NOT NULL REFERENCES transfers,
                state text NOT NULL,
                code text,
                at timestamptz NOT NULL DEFAULT clock_timestamp()
            );
            CREATE INDEX transfer_steps_by_transfer ON transfer_steps (transfer_id, at);
            CREATE TABLE letter_sequences (
                day date PRIMARY KEY,
                last integer NOT NULL
            );
            CREATE TABLE recognised_months (
                account_number text NOT NULL,
                month text NOT NULL,
                partner_city text NOT NULL,
                transfer_id uuid NOT NULL,
                PRIMARY KEY (account_number, month)
            )
            """),
        Migration(
            3, "the business date each transfer entered its state (for the unanswered-transfer job)",
            """
            ALTER TABLE transfers ADD COLUMN state_since date;
            UPDATE transfers SET state_since = created_on;
            ALTER TABLE transfers ALTER COLUMN state_since SET NOT NULL;
            CREATE INDEX transfers_waiting ON transfers (state_since) WHERE state IN ('01', '02', '06', '08')
            """),
        Migration(
            4, "partner keys may expire",
            """
            -- A key registered with an end date signs nothing after it; revoked_at refuses what is
            -- signed from the revocation on.
            ALTER TABLE partner_keys ADD COLUMN valid_until timestamptz
            """),
        Migration(
            5, "partner encryption keys; money moves through the banks (settlement notices in, payouts out)",
            """
            -- A partner registers an Ed25519 key to sign with and an X25519 key we seal its people's data to.
            ALTER TABLE partner_keys ADD COLUMN key_use text NOT NULL DEFAULT 'signing' CHECK (key_use IN ('signing', 'encryption'));
            -- Transfer in: the receiving bank's notice that the partner's funds arrived (one per transfer);
            -- the ledger is asked to credit only once it matches the transfer-out data (credit_requested_at).
            CREATE TABLE transfer_settlements (
                bank_reference text PRIMARY KEY,
                transfer_id uuid NOT NULL UNIQUE REFERENCES transfers,
                amount_fen bigint NOT NULL CHECK (amount_fen > 0),
                received_at timestamptz NOT NULL DEFAULT now()
            );
            ALTER TABLE transfers ADD COLUMN credit_requested_at timestamptz;
            -- Transfer out: our bank's payout of the debited balance to the receiving centre.
            CREATE TABLE transfer_payouts (
                payout_id uuid PRIMARY KEY,
                transfer_id uuid NOT NULL UNIQUE REFERENCES transfers,
                amount_fen bigint NOT NULL CHECK (amount_fen > 0),
                outcome text CHECK (outcome IN ('paid', 'failed')),
                failure_code text,
                channel_ref text,
                requested_at timestamptz NOT NULL DEFAULT now(),
                confirmed_at timestamptz
            )
            """),
        // Months are `YYYY-MM` text (YearMonth): a malformed one is refused when written rather
        // than met when read, where it would stop a whole job's query. NOT VALID: rows already
        // stored are not rechecked (a deployment with a bad one still starts); new ones are.
        Migration(
            6, "months are YYYY-MM",
            """
            ALTER TABLE account_months ADD CONSTRAINT account_months_month_is_a_month CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$') NOT VALID;
            ALTER TABLE recognised_months ADD CONSTRAINT recognised_months_month_is_a_month CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$') NOT VALID
            """),
    ]
}
