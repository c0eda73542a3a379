import ServiceRuntime

enum ContributionMigrations {
    static let all: [Migration] = [
        Migration(
            1, "ledger accounts, postings, contributions",
            """
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
        Migration(
            2, "lots consumed by debits; debits and their outcome",
            """
            -- What remains of each contribution as a subsidy lot (§3 decisions): debits take the
            -- newest first, reversals give it back.
            ALTER TABLE contributions ADD COLUMN unconsumed_fen bigint;
            UPDATE contributions SET unconsumed_fen = amount_fen;
            ALTER TABLE contributions ALTER COLUMN unconsumed_fen SET NOT NULL,
                ADD CONSTRAINT contributions_unconsumed_range CHECK (unconsumed_fen BETWEEN 0 AND amount_fen);
            CREATE INDEX contributions_unconsumed ON contributions (account_number, paid_on DESC, posting_seq DESC) WHERE unconsumed_fen > 0;
            -- One row per debit the ledger was asked for (a withdrawal's id), whatever the outcome,
            -- so a repeated request gets the same answer.
            CREATE TABLE debits (
                debit_id uuid PRIMARY KEY,
                account_number text NOT NULL,
                kind text NOT NULL,
                amount_fen bigint NOT NULL CHECK (amount_fen >= 0),
                closure_reason text,
                status text NOT NULL CHECK (status IN ('refused', 'posted', 'settled', 'reversed')),
                code text,
                posting_seq bigint,
                reversal_seq bigint,
                decided_on date NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX debits_by_account ON debits (account_number);
            CREATE TABLE debit_lots (
                debit_id uuid NOT NULL REFERENCES debits,
                contribution_id uuid NOT NULL REFERENCES contributions,
                amount_fen bigint NOT NULL CHECK (amount_fen > 0),
                PRIMARY KEY (debit_id, contribution_id)
            );
            ALTER TABLE accounts ADD CONSTRAINT accounts_status CHECK (status IN ('active', 'closing', 'closed'))
            """),
        Migration(
            3, "loan repayments from the balance are postings too",
            """
            ALTER TABLE postings DROP CONSTRAINT postings_kind_check;
            ALTER TABLE postings ADD CONSTRAINT postings_kind_check
                CHECK (kind IN ('contribution', 'subsidy', 'withdrawal', 'reversal', 'transfer_in', 'transfer_out', 'interest', 'loan_repayment'))
            """),
        // A transfer in (§17) is credited once per transfer id whatever the outcome; its principal is
        // kept as a `contributions` row of origin `transfer_in` so it is a subsidy lot that debits
        // consume like any other (the tax statement leaves it out: it was contributed elsewhere).
        Migration(
            4, "transfers in from partner cities",
            """
            CREATE TABLE transfer_credits (
                transfer_id uuid PRIMARY KEY,
                account_number text NOT NULL,
                amount_fen bigint NOT NULL,
                principal_fen bigint NOT NULL,
                interest_fen bigint NOT NULL,
                status text NOT NULL CHECK (status IN ('posted', 'refused')),
                code text,
                posting_seq bigint,
                lot_id uuid,
                decided_on date NOT NULL
            )
            """),
        // Deposit interest (POLICY.md "Deposit interest"): each account carries its running 积数
        // so that postings update it in O(1) and a settlement is one pass over the accounts.
        // Active accounts from before keep `interest_accrued` null until the ledger first touches
        // them, when their postings are replayed once and the years they crossed are posted
        // (`LedgerInterest.load`).
        Migration(
            5, "deposit interest: the running daily-balance sum on each account",
            """
            ALTER TABLE accounts ADD COLUMN interest_fen bigint NOT NULL DEFAULT 0,
                ADD COLUMN interest_period_from date, ADD COLUMN balance_since date, ADD COLUMN interest_accrued bigint;
            UPDATE accounts SET interest_period_from = opened_on, balance_since = opened_on;
            -- An account closing or closed before interest was kept has paid out its whole balance:
            -- it has nothing to earn, and interest credited now would be left behind in it.
            UPDATE accounts SET interest_accrued = 0, interest_period_from = greatest(opened_on, current_date),
                balance_since = greatest(opened_on, current_date) WHERE status <> 'active';
            ALTER TABLE accounts ALTER COLUMN interest_period_from SET NOT NULL, ALTER COLUMN balance_since SET NOT NULL
            """),
        // The balance view tells own contributions from money transferred in (§17), and own
        // contribution months from the months a partner city's record brought (recognised).
        Migration(
            6, "transferred-in amount apart; partner-recognised months",
            """
            ALTER TABLE accounts ADD COLUMN transferred_in_fen bigint NOT NULL DEFAULT 0;
            UPDATE accounts a SET transferred_in_fen = t.amount, contributed_fen = a.contributed_fen - t.amount
            FROM (SELECT account_number, sum(amount_fen) AS amount FROM postings WHERE kind = 'transfer_in' GROUP BY account_number) t
            WHERE a.account_number = t.account_number;
            CREATE TABLE recognised_months (
                account_number text NOT NULL,
                month text NOT NULL,
                PRIMARY KEY (account_number, month)
            )
            """),
        // Reconciliation with the channels' deposit statements (对账): the statements, the lines
        // they listed and the discrepancies they raised (`StatementBook`); the day's deposits of a
        // channel are found by (channel, paid_on).
        Migration(
            7, "channel statements and their discrepancies",
            StatementBook.tables + """
                ;
                CREATE INDEX contributions_by_channel_day ON contributions (channel, paid_on)
                """),
        // Months are `YYYY-MM` text (YearMonth): a malformed one is refused when written rather
        // than met when read, where it would stop a whole job's query. NOT VALID: rows already
        // stored are not rechecked (a deployment with a bad one still starts); new ones are.
        Migration(
            8, "months are YYYY-MM",
            """
            ALTER TABLE contribution_months ADD CONSTRAINT contribution_months_month_is_a_month CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$') NOT VALID;
            ALTER TABLE recognised_months ADD CONSTRAINT recognised_months_month_is_a_month CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$') NOT VALID
            """),
    ]
}
