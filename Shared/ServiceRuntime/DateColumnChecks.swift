/// Every `date` column of a schema refuses a date outside 1800-01-01...9999-12-31 when it is
/// written: `BusinessDate` reads only those (a stored `infinity` or year 1 is a decoding error,
/// `UnknownStoredValue`), so a reader never meets one. Like the grants, this runs at every start
/// (`Migrator.migrate`, as the schema owner): a column a later migration adds is covered at its
/// first start, with no list to keep. Constraints are `NOT VALID`: added without reading the
/// table, so a deployment holding an old out-of-range row still starts, and every write from
/// then on is checked. Named `<table>_<column>_in_range` (cut to Postgres's 63 bytes).
enum DateColumnChecks {
    static let lowest = "1800-01-01"
    static let highest = "9999-12-31"

    /// One statement (a DO block: not split on its semicolons).
    static let sql = """
        DO $checks$
        DECLARE c record; name text;
        BEGIN
            FOR c IN
                SELECT k.table_name, k.column_name FROM information_schema.columns k
                JOIN pg_tables t ON t.schemaname = k.table_schema AND t.tablename = k.table_name
                WHERE k.table_schema = current_schema() AND k.data_type = 'date'
            LOOP
                name := left(c.table_name || '_' || c.column_name || '_in_range', 63);
                IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = name AND connamespace = current_schema()::regnamespace) THEN
                    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (%I BETWEEN DATE %L AND DATE %L) NOT VALID',
                                   c.table_name, name, c.column_name, '\(lowest)', '\(highest)');
                END IF;
            END LOOP;
        END
        $checks$
        """
}
