-- +goose Up
-- The tables that grow with every frame, passage, check and change are
-- partitioned by month of the time that dates their rows, so that
-- retention drops a month whole instead of deleting row by row, and the
-- queries bounded in time read only the months they ask for:
--   alarm_events (received_at), live_events (at), access_log (at),
--   device_uptime (hour), audit_log (at).
-- Names, columns, defaults and identities stay as they were, so the
-- queries of the previous version keep working on the new tables.
--
-- A partitioned table's primary key must contain the partition key: the
-- keys become (id, <time>) — ids still come from one identity sequence per
-- table, so they stay unique and increasing (live events resume by id).
-- device_uptime's key (device_id, hour) contains it already. No unique
-- index of these tables is lost: the retransmission rule of alarm_events
-- ("an ACKed frame stored once") is a look-up under the panel's row lock
-- bounded by received_at, which partitioning prunes, not a unique index.
--
-- Each table has a DEFAULT partition: a row dated outside the months that
-- exist (a door controller uploading last year's passages, a chore that
-- did not run) is stored there rather than refused. Partitions are named
-- <table>_pYYYYMM and bound in UTC.

-- +goose StatementBegin
CREATE FUNCTION shequ_ensure_partition(parent text, month date) RETURNS boolean AS $$
DECLARE
    m0   date := date_trunc('month', month::timestamp)::date;
    m1   date := (date_trunc('month', month::timestamp) + interval '1 month')::date;
    lo   timestamptz := m0::timestamp AT TIME ZONE 'UTC';
    hi   timestamptz := m1::timestamp AT TIME ZONE 'UTC';
    part text := parent || '_p' || to_char(m0, 'YYYYMM');
    def  text := parent || '_default';
    col  text;
    strays boolean;
BEGIN
    -- Two callers (the leader's chore, a node migrating) make a month
    -- one after the other, not both.
    PERFORM pg_advisory_xact_lock(hashtext('shequ_ensure_partition'));
    IF to_regclass(quote_ident(part)) IS NOT NULL THEN
        RETURN false;
    END IF;
    SELECT a.attname INTO STRICT col FROM pg_partitioned_table p
        JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
        WHERE p.partrelid = quote_ident(parent)::regclass;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= $1 AND %I < $2)', def, col, col) INTO strays USING lo, hi;
    IF strays THEN
        -- Rows of the month already in the default partition move into
        -- the new one, in this transaction.
        EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, parent);
        EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= $1 AND %I < $2 RETURNING *) INSERT INTO %I SELECT * FROM moved',
            def, col, col, part) USING lo, hi;
        EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, part, lo, hi);
    ELSE
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, parent, lo, hi);
    END IF;
    RETURN true;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

-- shequ_partition_by_month replaces a plain table by a partitioned one of
-- the same name, columns, defaults and identity, with partitions for the
-- months its rows span and this month and the next two, and moves its
-- rows; the caller adds the keys, indexes and triggers afterwards (faster
-- than maintaining them row by row while the rows move).
-- +goose StatementBegin
CREATE FUNCTION shequ_partition_by_month(tbl text, col text) RETURNS void AS $$
DECLARE
    old  text := tbl || '_unpartitioned';
    seq  text;
    first date;
    m    date;
    r    record;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = quote_ident(tbl)::regclass AND attname = 'id' AND NOT attisdropped) THEN
        seq := pg_get_serial_sequence(quote_ident(tbl), 'id');
    END IF;
    EXECUTE format('ALTER TABLE %I RENAME TO %I', tbl, old);
    IF seq IS NOT NULL THEN
        EXECUTE format('ALTER SEQUENCE %s RENAME TO %I', seq, old || '_id_seq');
    END IF;
    -- Its indexes and constraints go now: their names are the new table's.
    FOR r IN SELECT conname FROM pg_constraint WHERE conrelid = quote_ident(old)::regclass AND contype IN ('p', 'u', 'f') LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', old, r.conname);
    END LOOP;
    FOR r IN SELECT indexrelid::regclass::text AS idx FROM pg_index WHERE indrelid = quote_ident(old)::regclass LOOP
        EXECUTE format('DROP INDEX %s', r.idx);
    END LOOP;
    FOR r IN SELECT tgname FROM pg_trigger WHERE tgrelid = quote_ident(old)::regclass AND NOT tgisinternal LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', r.tgname, old);
    END LOOP;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS) PARTITION BY RANGE (%I)', tbl, old, col);
    EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', tbl || '_default', tbl);
    EXECUTE format('SELECT min(%I)::date FROM %I', col, old) INTO first;
    first := LEAST(COALESCE(first, current_date), current_date);
    m := date_trunc('month', first::timestamp)::date;
    WHILE m <= (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '2 months')::date LOOP
        PERFORM shequ_ensure_partition(tbl, m);
        m := (m + interval '1 month')::date;
    END LOOP;
    EXECUTE format('INSERT INTO %I SELECT * FROM %I', tbl, old);
    IF seq IS NOT NULL THEN
        -- The sequence goes on from where the old one was, not from the
        -- rows: an id handed out and rolled back is never handed out again.
        EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, ''id''), GREATEST((SELECT last_value FROM %I), (SELECT COALESCE(max(id), 0) FROM %I), 1), (SELECT is_called FROM %I) OR EXISTS (SELECT 1 FROM %I))',
            quote_ident(tbl), old || '_id_seq', old, old || '_id_seq', old);
    END IF;
    EXECUTE format('DROP TABLE %I', old);
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

SELECT shequ_partition_by_month('alarm_events', 'received_at');
ALTER TABLE alarm_events ADD PRIMARY KEY (id, received_at);
CREATE INDEX alarm_events_origin ON alarm_events (home_id, account, seq);
CREATE INDEX alarm_events_incident ON alarm_events (incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX alarm_events_community ON alarm_events (community_id, id);

SELECT shequ_partition_by_month('live_events', 'at');
ALTER TABLE live_events ADD PRIMARY KEY (id, at);
CREATE INDEX live_events_community ON live_events (community_id, id);

SELECT shequ_partition_by_month('access_log', 'at');
ALTER TABLE access_log ADD PRIMARY KEY (id, at);
ALTER TABLE access_log ADD CONSTRAINT access_log_community_id_fkey FOREIGN KEY (community_id) REFERENCES communities(id);
CREATE INDEX access_log_at ON access_log (community_id, at);
CREATE INDEX access_log_door ON access_log (door_id, at);
CREATE INDEX access_log_person ON access_log (person_id, at);
CREATE INDEX access_log_household ON access_log (household_id, at);

SELECT shequ_partition_by_month('device_uptime', 'hour');
ALTER TABLE device_uptime ADD PRIMARY KEY (device_id, hour);
ALTER TABLE device_uptime ADD CONSTRAINT device_uptime_device_id_fkey FOREIGN KEY (device_id) REFERENCES devices(id) ON DELETE CASCADE;
CREATE INDEX device_uptime_hour ON device_uptime (hour);

SELECT shequ_partition_by_month('audit_log', 'at');
ALTER TABLE audit_log ADD PRIMARY KEY (id, at);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_community ON audit_log (community_id, at);
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

DROP FUNCTION shequ_partition_by_month;

-- +goose Down
-- +goose StatementBegin
CREATE FUNCTION shequ_unpartition(tbl text) RETURNS void AS $$
DECLARE
    old  text := tbl || '_partitioned';
    seq  text;
    r    record;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = quote_ident(tbl)::regclass AND attname = 'id' AND NOT attisdropped) THEN
        seq := pg_get_serial_sequence(quote_ident(tbl), 'id');
    END IF;
    EXECUTE format('ALTER TABLE %I RENAME TO %I', tbl, old);
    IF seq IS NOT NULL THEN
        EXECUTE format('ALTER SEQUENCE %s RENAME TO %I', seq, old || '_id_seq');
    END IF;
    FOR r IN SELECT conname FROM pg_constraint WHERE conrelid = quote_ident(old)::regclass AND contype IN ('p', 'u', 'f') LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', old, r.conname);
    END LOOP;
    FOR r IN SELECT indexrelid::regclass::text AS idx FROM pg_index WHERE indrelid = quote_ident(old)::regclass LOOP
        EXECUTE format('DROP INDEX %s', r.idx);
    END LOOP;
    FOR r IN SELECT tgname FROM pg_trigger WHERE tgrelid = quote_ident(old)::regclass AND NOT tgisinternal LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', r.tgname, old);
    END LOOP;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS)', tbl, old);
    EXECUTE format('INSERT INTO %I SELECT * FROM %I', tbl, old);
    IF seq IS NOT NULL THEN
        EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, ''id''), GREATEST((SELECT last_value FROM %I), (SELECT COALESCE(max(id), 0) FROM %I), 1), (SELECT is_called FROM %I) OR EXISTS (SELECT 1 FROM %I))',
            quote_ident(tbl), old || '_id_seq', old, old || '_id_seq', old);
    END IF;
    EXECUTE format('DROP TABLE %I', old);
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

SELECT shequ_unpartition('audit_log');
ALTER TABLE audit_log ADD PRIMARY KEY (id);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_community ON audit_log (community_id, at);
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

SELECT shequ_unpartition('device_uptime');
ALTER TABLE device_uptime ADD PRIMARY KEY (device_id, hour);
ALTER TABLE device_uptime ADD CONSTRAINT device_uptime_device_id_fkey FOREIGN KEY (device_id) REFERENCES devices(id) ON DELETE CASCADE;
CREATE INDEX device_uptime_hour ON device_uptime (hour);

SELECT shequ_unpartition('access_log');
ALTER TABLE access_log ADD PRIMARY KEY (id);
ALTER TABLE access_log ADD CONSTRAINT access_log_community_id_fkey FOREIGN KEY (community_id) REFERENCES communities(id);
CREATE INDEX access_log_at ON access_log (community_id, at);
CREATE INDEX access_log_door ON access_log (door_id, at);
CREATE INDEX access_log_person ON access_log (person_id, at);
CREATE INDEX access_log_household ON access_log (household_id, at);

SELECT shequ_unpartition('live_events');
ALTER TABLE live_events ADD PRIMARY KEY (id);
CREATE INDEX live_events_community ON live_events (community_id, id);

SELECT shequ_unpartition('alarm_events');
ALTER TABLE alarm_events ADD PRIMARY KEY (id);
CREATE INDEX alarm_events_origin ON alarm_events (home_id, account, seq);
CREATE INDEX alarm_events_incident ON alarm_events (incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX alarm_events_community ON alarm_events (community_id, id);

DROP FUNCTION shequ_unpartition;
DROP FUNCTION shequ_ensure_partition;
