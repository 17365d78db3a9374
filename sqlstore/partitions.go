package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// On PostgreSQL the tables that grow with every frame, passage, check and
// change are partitioned by month of the column that dates their rows
// (migration 00031): retention drops a month whole instead of deleting row
// by row, and queries bounded in time read only their months. SQLite
// keeps them plain. Each has a DEFAULT partition that takes rows dated
// outside the months made, so an insert is never refused for want of a
// partition; the months are made ahead by a chore under a jobs.Leader
// (PartitionsAhead) and at migration time.

// partitioned are the partitioned tables and their partition key.
var partitioned = []struct{ table, key string }{
	{"alarm_events", "received_at"},
	{"live_events", "at"},
	{"access_log", "at"},
	{"device_uptime", "hour"},
	{"audit_log", "at"},
}

// PartitionsAhead is how many months after the current one have their
// partitions made in advance: a month's partition exists two months
// before its first row, so a chore that stops running for weeks leaves
// no row in the default partition.
const PartitionsAhead = 2

// partitionLockTimeout bounds how long making or dropping a partition
// waits for the table's lock: waiting longer would queue the inserts
// behind it. The chore tries again on its next run.
const partitionLockTimeout = "5s"

// Partition is one month of a partitioned table.
type Partition struct {
	Table string
	Name  string
	// From and To bound the month (UTC); zero for the default partition.
	From, To time.Time
	Rows     int64 // an estimate (the planner's), for reports
}

// EnsurePartitions makes the monthly partitions of every partitioned table
// from the month of now to PartitionsAhead months later, and returns the
// names of those it made. Rows of those months found in the default
// partition move into their month. Nothing is done on SQLite.
func (s *Store) EnsurePartitions(ctx context.Context, now time.Time) ([]string, error) {
	if s.dialect != Postgres {
		return nil, nil
	}
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var made []string
	for _, p := range partitioned {
		for i := 0; i <= PartitionsAhead; i++ {
			m := month.AddDate(0, i, 0)
			var created bool
			err := s.tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, "SET LOCAL lock_timeout = '"+partitionLockTimeout+"'"); err != nil {
					return err
				}
				return tx.QueryRowContext(ctx, "SELECT shequ_ensure_partition($1, $2::date)", p.table, m.Format(time.DateOnly)).Scan(&created)
			})
			if err != nil {
				return made, fmt.Errorf("partition of %s for %s: %w", p.table, m.Format("2006-01"), err)
			}
			if created {
				made = append(made, partitionName(p.table, m))
			}
		}
	}
	return made, nil
}

// Partitions lists the partitions of table, oldest month first, the
// default partition last. Empty on SQLite.
func (s *Store) Partitions(ctx context.Context, table string) ([]Partition, error) {
	if s.dialect != Postgres {
		return nil, nil
	}
	rows, err := s.read.QueryContext(ctx, `SELECT c.relname, c.reltuples::bigint FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = to_regclass($1) ORDER BY c.relname`, table)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", table, err)
	}
	defer rows.Close()
	var out []Partition
	var def *Partition
	for rows.Next() {
		p := Partition{Table: table}
		if err := rows.Scan(&p.Name, &p.Rows); err != nil {
			return nil, err
		}
		p.Rows = max(p.Rows, 0) // -1: never analysed
		if p.Name == table+"_default" {
			def = &p
			continue
		}
		from, ok := partitionMonth(table, p.Name)
		if !ok {
			continue // not one of ours: left alone
		}
		p.From, p.To = from, from.AddDate(0, 1, 0)
		out = append(out, p)
	}
	if def != nil {
		out = append(out, *def)
	}
	return out, rows.Err()
}

// partitionName is the name of table's partition of the month of m.
func partitionName(table string, m time.Time) string {
	return table + "_p" + m.UTC().Format("200601")
}

// partitionMonth returns the first instant of the month a partition named
// by partitionName holds.
func partitionMonth(table, name string) (time.Time, bool) {
	suffix, ok := strings.CutPrefix(name, table+"_p")
	if !ok || len(suffix) != 6 {
		return time.Time{}, false
	}
	m, err := time.Parse("200601", suffix)
	if err != nil {
		return time.Time{}, false
	}
	return m, true
}

// RunPartitions makes the partitions ahead now and then every interval
// until ctx ends; run it under a jobs.Leader.
func (s *Store) RunPartitions(ctx context.Context, every time.Duration, log *slog.Logger) {
	for {
		made, err := s.EnsurePartitions(ctx, s.now())
		if err != nil && ctx.Err() == nil {
			log.Error("partitions ahead", "err", err)
		}
		if len(made) > 0 {
			log.Info("partitions made ahead", "partitions", made)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}
