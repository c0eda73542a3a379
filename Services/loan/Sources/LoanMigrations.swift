import ServiceRuntime

enum LoanMigrations {
    static let all: [Migration] = [
        Migration(
            1, "participants and contribution history from events, applications, loans, the fund pool",
            """
            -- The applicant's profile and contribution history, from the enrolment and ledger events only.
            CREATE TABLE participants (
                account_number text PRIMARY KEY,
                person_ref text NOT NULL,
                status text NOT NULL DEFAULT 'active',
                retirement_month text NOT NULL,
                bachelor_or_above boolean NOT NULL,
                graduation_date date,
                contributed_fen bigint NOT NULL DEFAULT 0,
                balance_fen bigint NOT NULL DEFAULT 0,
                last_event_at timestamptz
            );
            CREATE INDEX participants_by_person ON participants (person_ref);
            CREATE TABLE contribution_months (
                account_number text NOT NULL,
                month text NOT NULL,
                PRIMARY KEY (account_number, month)
            );
            -- Months recognised from partner cities (§17), added by the regional-sync service's events.
            CREATE TABLE recognised_months (
                account_number text NOT NULL,
                month text NOT NULL,
                PRIMARY KEY (account_number, month)
            );
            CREATE TABLE applications (
                application_id uuid PRIMARY KEY,
                account_number text NOT NULL,
                spouse_account_number text,
                request jsonb NOT NULL,
                decision text NOT NULL CHECK (decision IN ('approved', 'rejected', 'awaiting_liquidity')),
                reasons text[] NOT NULL,
                quota jsonb NOT NULL,
                approved_fen bigint NOT NULL,
                annual_rate_milli_percent bigint NOT NULL,
                first_payment_fen bigint,
                -- §18: the pre-loan investigation and the approval review, with the data they saw.
                investigation jsonb NOT NULL,
                review jsonb NOT NULL,
                request_id text,
                fingerprint text NOT NULL,
                decided_on date NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (account_number, request_id)
            );
            CREATE TABLE loans (
                loan_id uuid PRIMARY KEY,
                application_id uuid NOT NULL UNIQUE REFERENCES applications,
                account_number text NOT NULL,
                person_ref text NOT NULL,
                spouse_person_ref text,
                principal_fen bigint NOT NULL CHECK (principal_fen > 0),
                outstanding_fen bigint NOT NULL CHECK (outstanding_fen >= 0),
                annual_rate_milli_percent bigint NOT NULL,
                term_months int NOT NULL,
                method text NOT NULL,
                status text NOT NULL CHECK (status IN ('awaiting_liquidity', 'active', 'settled')),
                queued_at timestamptz NOT NULL DEFAULT now(),
                disbursed_on date
            );
            CREATE INDEX loans_by_person ON loans (person_ref) WHERE status <> 'settled';
            CREATE INDEX loans_by_spouse ON loans (spouse_person_ref) WHERE status <> 'settled';
            CREATE INDEX loans_waiting ON loans (queued_at) WHERE status = 'awaiting_liquidity';
            -- §19: what staff record about the shared pool: the employed contributors' share and bank credit lines.
            CREATE TABLE pool_entries (
                entry_id uuid PRIMARY KEY,
                kind text NOT NULL CHECK (kind IN ('employed_share', 'credit_line')),
                amount_fen bigint NOT NULL,
                reference text NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now()
            )
            """),
        Migration(
            2, "instalments, repayments, bad-credit records",
            """
            CREATE TABLE instalments (
                loan_id uuid NOT NULL REFERENCES loans,
                number int NOT NULL,
                due_on date NOT NULL,
                principal_fen bigint NOT NULL,
                interest_fen bigint NOT NULL,
                payment_fen bigint NOT NULL,
                paid_fen bigint NOT NULL DEFAULT 0 CHECK (paid_fen BETWEEN 0 AND payment_fen),
                paid_on date,
                -- overdue now (cleared when paid) and ever (counts towards the bad-credit thresholds, §13).
                overdue boolean NOT NULL DEFAULT false,
                was_overdue boolean NOT NULL DEFAULT false,
                PRIMARY KEY (loan_id, number)
            );
            CREATE INDEX instalments_open ON instalments (due_on) WHERE paid_fen < payment_fen;
            CREATE TABLE repayments (
                repayment_id uuid PRIMARY KEY,
                loan_id uuid NOT NULL REFERENCES loans,
                source text NOT NULL,
                reference text NOT NULL,
                amount_fen bigint NOT NULL CHECK (amount_fen > 0),
                received_on date NOT NULL,
                UNIQUE (loan_id, reference)
            );
            CREATE TABLE bad_credit_records (
                loan_id uuid PRIMARY KEY REFERENCES loans,
                person_ref text NOT NULL,
                reason text NOT NULL,
                recorded_on date NOT NULL
            );
            CREATE INDEX bad_credit_by_person ON bad_credit_records (person_ref)
            """),
        Migration(
            3, "repayments from the HPF balance (a debit saga through the ledger)",
            """
            CREATE TABLE balance_repayments (
                repayment_id uuid PRIMARY KEY,
                loan_id uuid NOT NULL REFERENCES loans,
                account_number text NOT NULL,
                reference text NOT NULL,
                amount_fen bigint NOT NULL CHECK (amount_fen > 0),
                status text NOT NULL CHECK (status IN ('pending', 'applied', 'refused')),
                code text,
                requested_on date NOT NULL,
                UNIQUE (loan_id, reference)
            );
            CREATE UNIQUE INDEX balance_repayments_one_pending ON balance_repayments (loan_id) WHERE status = 'pending'
            """),
        Migration(
            4, "the credit registry's records (§13), from the enrolment events",
            """
            CREATE TABLE credit_records (
                source text NOT NULL,
                reference text NOT NULL,
                person_ref text NOT NULL,
                active_from date NOT NULL,
                active_until date,
                PRIMARY KEY (source, reference)
            );
            CREATE INDEX credit_records_by_person ON credit_records (person_ref)
            """),
        // The enrolment and ledger events come on different topics, read by different consumers, so
        // a contribution can arrive before the account's profile: the ledger's side is its own row,
        // created by whichever ledger event comes first, and joined to the profile when read.
        Migration(
            5, "ledger facts apart from the profile, so no ledger event waits for the enrolment event",
            """
            CREATE TABLE ledger_accounts (
                account_number text PRIMARY KEY,
                closed boolean NOT NULL DEFAULT false,
                contributed_fen bigint NOT NULL DEFAULT 0,
                balance_fen bigint NOT NULL DEFAULT 0,
                last_event_at timestamptz
            );
            INSERT INTO ledger_accounts (account_number, closed, contributed_fen, balance_fen, last_event_at)
            SELECT account_number, status = 'closed', contributed_fen, balance_fen, last_event_at FROM participants;
            ALTER TABLE participants DROP COLUMN status, DROP COLUMN contributed_fen, DROP COLUMN balance_fen, DROP COLUMN last_event_at
            """),
        Migration(
            6, "spouses' consents to count their balance in an application (§5)",
            """
            CREATE TABLE spouse_consents (
                consent_id uuid PRIMARY KEY,
                spouse_account text NOT NULL,
                applicant_account text NOT NULL,
                given_on date NOT NULL,
                used_by uuid,
                given_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX spouse_consents_unused ON spouse_consents (spouse_account, applicant_account) WHERE used_by IS NULL
            """),
        Migration(
            7, "the fund pool kept incrementally: no scan of every account per decision (§19)",
            """
            -- The flexible balances, spread over 16 rows by account so that ledger events for different
            -- accounts seldom meet on one row; the rest of the pool in one row. Triggers keep both in the
            -- same transaction as every change of a balance, a loan or a pool entry, whichever code makes it.
            CREATE TABLE pool_balance_slots (
                slot int PRIMARY KEY,
                flexible_fen bigint NOT NULL
            );
            INSERT INTO pool_balance_slots (slot, flexible_fen) SELECT g, 0 FROM generate_series(0, 15) g;
            UPDATE pool_balance_slots s SET flexible_fen = t.total
            FROM (SELECT hashtext(account_number) & 15 AS slot, sum(balance_fen) AS total FROM ledger_accounts GROUP BY 1) t
            WHERE s.slot = t.slot;
            CREATE TABLE pool_totals (
                id boolean PRIMARY KEY DEFAULT true CHECK (id),
                employed_share_fen bigint NOT NULL,
                credit_lines_fen bigint NOT NULL,
                loans_outstanding_fen bigint NOT NULL
            );
            INSERT INTO pool_totals (employed_share_fen, credit_lines_fen, loans_outstanding_fen)
            SELECT (SELECT coalesce(sum(amount_fen), 0) FROM pool_entries WHERE kind = 'employed_share'),
                   (SELECT coalesce(sum(amount_fen), 0) FROM pool_entries WHERE kind = 'credit_line'),
                   (SELECT coalesce(sum(outstanding_fen), 0) FROM loans WHERE status = 'active');
            CREATE FUNCTION pool_balance_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                delta bigint := coalesce(CASE WHEN TG_OP <> 'DELETE' THEN NEW.balance_fen END, 0)
                              - coalesce(CASE WHEN TG_OP <> 'INSERT' THEN OLD.balance_fen END, 0);
                acct text := CASE WHEN TG_OP = 'DELETE' THEN OLD.account_number ELSE NEW.account_number END;
            BEGIN
                IF delta <> 0 THEN
                    UPDATE pool_balance_slots SET flexible_fen = flexible_fen + delta WHERE slot = hashtext(acct) & 15;
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER ledger_accounts_pool AFTER INSERT OR UPDATE OF balance_fen OR DELETE ON ledger_accounts
                FOR EACH ROW EXECUTE FUNCTION pool_balance_changed();
            CREATE FUNCTION pool_loans_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                delta bigint := coalesce(CASE WHEN TG_OP <> 'DELETE' AND NEW.status = 'active' THEN NEW.outstanding_fen END, 0)
                              - coalesce(CASE WHEN TG_OP <> 'INSERT' AND OLD.status = 'active' THEN OLD.outstanding_fen END, 0);
            BEGIN
                IF delta <> 0 THEN
                    UPDATE pool_totals SET loans_outstanding_fen = loans_outstanding_fen + delta;
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER loans_pool AFTER INSERT OR UPDATE OF status, outstanding_fen OR DELETE ON loans
                FOR EACH ROW EXECUTE FUNCTION pool_loans_changed();
            CREATE FUNCTION pool_entry_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE pool_totals SET employed_share_fen = employed_share_fen + CASE WHEN NEW.kind = 'employed_share' THEN NEW.amount_fen ELSE 0 END,
                                       credit_lines_fen = credit_lines_fen + CASE WHEN NEW.kind = 'credit_line' THEN NEW.amount_fen ELSE 0 END;
                RETURN NULL;
            END $$;
            CREATE TRIGGER pool_entries_pool AFTER INSERT ON pool_entries FOR EACH ROW EXECUTE FUNCTION pool_entry_recorded()
            """),
        Migration(
            8, "the flexible balances' slots follow each statement, not each row",
            """
            -- A statement that changes many balances (a bulk load, a rebuild) updated the same slot rows
            -- once per row, each update lengthening the row's version chain; per statement, each slot
            -- row is updated once with the sum of its accounts' changes (transition tables).
            DROP TRIGGER ledger_accounts_pool ON ledger_accounts;
            DROP FUNCTION pool_balance_changed();
            CREATE FUNCTION pool_balances_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    UPDATE pool_balance_slots s SET flexible_fen = s.flexible_fen + d.delta
                    FROM (SELECT hashtext(account_number) & 15 AS slot, sum(balance_fen) AS delta FROM new_rows GROUP BY 1) d
                    WHERE s.slot = d.slot AND d.delta <> 0;
                ELSIF TG_OP = 'UPDATE' THEN
                    UPDATE pool_balance_slots s SET flexible_fen = s.flexible_fen + d.delta
                    FROM (SELECT slot, sum(fen) AS delta FROM (
                              SELECT hashtext(account_number) & 15 AS slot, balance_fen AS fen FROM new_rows
                              UNION ALL SELECT hashtext(account_number) & 15, -balance_fen FROM old_rows) c GROUP BY 1) d
                    WHERE s.slot = d.slot AND d.delta <> 0;
                ELSE
                    UPDATE pool_balance_slots s SET flexible_fen = s.flexible_fen - d.delta
                    FROM (SELECT hashtext(account_number) & 15 AS slot, sum(balance_fen) AS delta FROM old_rows GROUP BY 1) d
                    WHERE s.slot = d.slot AND d.delta <> 0;
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER ledger_accounts_pool_insert AFTER INSERT ON ledger_accounts
                REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pool_balances_changed();
            CREATE TRIGGER ledger_accounts_pool_update AFTER UPDATE ON ledger_accounts
                REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pool_balances_changed();
            CREATE TRIGGER ledger_accounts_pool_delete AFTER DELETE ON ledger_accounts
                REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION pool_balances_changed()
            """),
        // POLICY.md decisions: a record from our own overdue loan stops blocking 5 years after
        // the arrears were cleared; overdue arrears again make it block again.
        Migration(
            9, "bad-credit records expire after the arrears were cleared",
            """
            ALTER TABLE bad_credit_records ADD COLUMN arrears_cleared_on date, ADD COLUMN active_until date
            """),
        // Months are `YYYY-MM` text (YearMonth): a malformed one is refused when written rather
        // than met when read, where it would stop a whole job's query. NOT VALID: rows already
        // stored are not rechecked (a deployment with a bad one still starts); new ones are.
        Migration(
            10, "months are YYYY-MM",
            """
            ALTER TABLE participants ADD CONSTRAINT participants_retirement_month_is_a_month CHECK (retirement_month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$') NOT VALID;
            ALTER TABLE contribution_months ADD CONSTRAINT contribution_months_month_is_a_month CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$') NOT VALID;
            ALTER TABLE recognised_months ADD CONSTRAINT recognised_months_month_is_a_month CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$') NOT VALID
            """),
    ]
}
