import ServiceRuntime

enum WithdrawalMigrations {
    static let all: [Migration] = [
        Migration(
            1, "accounts view, withdrawals with their saga steps, rent plans",
            """
            -- What this service knows of an account, from the enrolment and ledger events only.
            CREATE TABLE accounts (
                account_number text PRIMARY KEY,
                person_ref text NOT NULL,
                residence text NOT NULL,
                retirement_month text NOT NULL,
                status text NOT NULL DEFAULT 'active',
                -- The balance after the latest ledger event seen (a hint for resuming rent plans:
                -- the ledger alone decides a debit).
                balance_fen bigint
            );
            CREATE TABLE withdrawals (
                withdrawal_id uuid PRIMARY KEY,
                account_number text NOT NULL REFERENCES accounts,
                reason text NOT NULL,
                requested_fen bigint CHECK (requested_fen > 0),
                amount_fen bigint,
                closure_reason text,
                payee jsonb NOT NULL,
                evidence jsonb NOT NULL,
                evidence_key text,
                request_id text,
                fingerprint text NOT NULL,
                rent_plan_id uuid,
                plan_month text,
                -- The saga's stage; `status` (pending | paid | rejected) is derived from it.
                stage text NOT NULL CHECK (stage IN ('requested', 'paying', 'reversing', 'paid', 'rejected')),
                code text,
                detail text,
                payout_id uuid UNIQUE,
                payout_outcome text,
                channel_ref text,
                requested_on date NOT NULL,
                paid_on date,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (account_number, request_id)
            );
            -- One live withdrawal per rent plan and month (a refused month is asked again).
            CREATE UNIQUE INDEX withdrawals_one_per_plan_month ON withdrawals (rent_plan_id, plan_month) WHERE stage <> 'rejected';
            CREATE INDEX withdrawals_by_account ON withdrawals (account_number, created_at DESC);
            CREATE INDEX withdrawals_by_evidence ON withdrawals (evidence_key) WHERE stage <> 'rejected';
            -- Every stage a withdrawal went through, for audit and for the GET view.
            CREATE TABLE withdrawal_steps (
                step_id bigserial PRIMARY KEY,
                withdrawal_id uuid NOT NULL REFERENCES withdrawals,
                stage text NOT NULL,
                code text,
                at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX withdrawal_steps_by_withdrawal ON withdrawal_steps (withdrawal_id, step_id);
            -- §8 monthly direct payment of rent to a landlord or agency.
            CREATE TABLE rent_plans (
                plan_id uuid PRIMARY KEY,
                account_number text NOT NULL REFERENCES accounts,
                payee jsonb NOT NULL,
                lease_contract text NOT NULL,
                monthly_rent_fen bigint NOT NULL CHECK (monthly_rent_fen > 0),
                monthly_fen bigint NOT NULL CHECK (monthly_fen > 0),
                months int NOT NULL CHECK (months > 0),
                first_month text NOT NULL,
                next_month text NOT NULL,
                months_paid int NOT NULL DEFAULT 0,
                status text NOT NULL CHECK (status IN ('active', 'paused', 'completed', 'cancelled')),
                paused_code text,
                in_flight uuid,
                request_id text,
                fingerprint text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (account_number, request_id)
            );
            CREATE UNIQUE INDEX rent_plans_one_open_per_lease ON rent_plans (lease_contract) WHERE status IN ('active', 'paused');
            CREATE INDEX rent_plans_due ON rent_plans (next_month) WHERE status = 'active' AND in_flight IS NULL
            """),
        Migration(
            2, "find an account's paused rent plans without a scan",
            """
            -- Every ledger event of an account asks whether one of its paused plans can resume.
            CREATE INDEX rent_plans_paused ON rent_plans (account_number) WHERE status = 'paused'
            """),
        Migration(
            3, "the holder's registered payout account (a keyed hash, from the enrolment events)",
            """
            ALTER TABLE accounts ADD COLUMN payout_account_ref text
            """),
        Migration(
            4, "rent held per calendar month, across requests (§8)",
            """
            -- What each rent request holds of each calendar month: a one-off withdrawal's equal shares of
            -- its months, or a plan's monthly payment for each of its months. A rejected withdrawal or a
            -- cancelled plan holds nothing (the usage query joins them).
            CREATE TABLE rent_months (
                account_number text NOT NULL,
                month text NOT NULL,
                withdrawal_id uuid REFERENCES withdrawals,
                plan_id uuid REFERENCES rent_plans,
                amount_fen bigint NOT NULL CHECK (amount_fen >= 0),
                CHECK ((withdrawal_id IS NULL) <> (plan_id IS NULL))
            );
            CREATE INDEX rent_months_by_account ON rent_months (account_number, month)
            """),
        // A payout the channel never confirms is not sent again (it may have been paid): after
        // `payoutConfirmationDays` it is marked unconfirmed and listed for staff to chase.
        Migration(
            5, "payouts the channel has not confirmed",
            """
            ALTER TABLE withdrawals ADD COLUMN payout_requested_on date, ADD COLUMN unconfirmed_since date;
            UPDATE withdrawals w SET payout_requested_on = s.at::date
            FROM (SELECT withdrawal_id, min(at) AS at FROM withdrawal_steps WHERE stage = 'paying' GROUP BY withdrawal_id) s
            WHERE w.withdrawal_id = s.withdrawal_id;
            CREATE INDEX withdrawals_awaiting_confirmation ON withdrawals (payout_requested_on) WHERE stage = 'paying'
            """),
        // Reconciliation with the channels' payout statements (对账): which channel paid each
        // payout, the statements, the lines they listed and the discrepancies they raised
        // (`StatementBook`); a channel's payouts of a day are found by (payout_channel, paid_on).
        Migration(
            6, "the channel that paid; channel statements and their discrepancies",
            """
            ALTER TABLE withdrawals ADD COLUMN payout_channel text;
            CREATE INDEX withdrawals_paid_by_channel ON withdrawals (payout_channel, paid_on) WHERE stage = 'paid';
            """ + "\n" + StatementBook.tables),
        // Months are `YYYY-MM` text (YearMonth): a malformed one is refused when written rather
        // than met when read, where it would stop a whole job's query. NOT VALID: rows already
        // stored are not rechecked (a deployment with a bad one still starts); new ones are.
        Migration(
            7, "months are YYYY-MM",
            """
            ALTER TABLE accounts ADD CONSTRAINT accounts_retirement_month_is_a_month CHECK (retirement_month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$') NOT VALID;
            ALTER TABLE withdrawals ADD CONSTRAINT withdrawals_plan_month_is_a_month CHECK (plan_month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$') NOT VALID;
            ALTER TABLE rent_plans ADD CONSTRAINT rent_plans_first_month_is_a_month CHECK (first_month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$') NOT VALID;
            ALTER TABLE rent_plans ADD CONSTRAINT rent_plans_next_month_is_a_month CHECK (next_month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$') NOT VALID;
            ALTER TABLE rent_months ADD CONSTRAINT rent_months_month_is_a_month CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$') NOT VALID
            """),
    ]
}
