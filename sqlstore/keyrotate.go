package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/pii"
)

// sealedTable is a table holding personal data sealed with the pii key:
// its sealed columns, and for each the column of its keyed index (if it
// has one). A capability that seals a new column adds its table here, and
// a pii_key column (TEXT NOT NULL DEFAULT ”) to it, so a key rotation
// reseals it.
type sealedTable struct {
	table string
	key   string // primary key column
	// sealed columns, and the index column of each ("" when none).
	sealed []string
	index  []string
	// indexOf, when set, names the columns whose values, each followed by
	// a dot, come before the plain value in what is hashed (a door
	// credential's kind and community).
	indexOf []string
	// where narrows the rows that are resealed ("" for all).
	where string
}

var sealedTables = []sealedTable{
	{table: "people", key: "id", sealed: []string{"phone_enc", "id_number_enc"}, index: []string{"phone_idx", "id_number_idx"}},
	{table: "emergency_contacts", key: "id", sealed: []string{"phone_enc"}, index: []string{""}},
	{table: "users", key: "id", sealed: []string{"phone_enc"}, index: []string{""}},
	{table: "alarm_panels", key: "id", sealed: []string{"key_enc"}, index: []string{""}},
	{table: "open311_requests", key: "matter_id", sealed: []string{"contact"}, index: []string{""}},
	{table: "access_keys", key: "community_id", sealed: []string{"private_sealed"}, index: []string{""}},
	// A PIN is kept only as its hash: it cannot be hashed again, and
	// CheckRetire keeps the old key while one made under it is in use.
	{table: "access_credentials", key: "id", sealed: []string{"value_enc"}, index: []string{"value_idx"},
		indexOf: []string{"kind", "community_id"}, where: "value_enc <> ''"},
	{table: "cameras", key: "device_id", sealed: []string{"password_sealed"}, index: []string{""}},
	{table: "devices", key: "id", sealed: []string{"check_secret_enc"}, index: []string{""}},
}

// pinsUnderAnOlderKey finds a door PIN in use whose hash was made under
// another key than cur: it must be set again before the old key goes.
const pinsUnderAnOlderKey = `SELECT id FROM access_credentials WHERE value_enc = '' AND value_idx <> '' AND revoked_at IS NULL AND pii_key <> $1`

// KeyUse counts, per table, the rows whose pii_key is not the current key
// (still to reseal) and all rows.
type KeyUse struct {
	Table   string
	Pending int
	Rows    int
}

// KeyStatus says how far a rotation to the current key has come.
func (s *Store) KeyStatus(ctx context.Context) ([]KeyUse, error) {
	cur := s.cipher.Current()
	var out []KeyUse
	for _, t := range sealedTables {
		u := KeyUse{Table: t.table}
		err := s.read.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN pii_key <> $1 THEN 1 ELSE 0 END), 0) FROM `+t.table, cur).Scan(&u.Rows, &u.Pending)
		if err != nil {
			return nil, fmt.Errorf("key status of %s: %w", t.table, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// RotateOptions steer ResealAll.
type RotateOptions struct {
	// Batch is how many rows one transaction reseals; default 200.
	Batch int
	// AfterBatch, when set, is called after each committed batch; an
	// error stops the rotation there (tests kill it half way with it).
	AfterBatch func(table string, done int) error
}

// ResealAll reseals every sealed value not yet under the current key, and
// recomputes its keyed index, in batches of one transaction each, while
// the server goes on: each row's values and its pii_key change together,
// so a row is never half under one key and half under another, and a
// rotation stopped anywhere resumes where it stopped. It returns how many
// rows it resealed.
func (s *Store) ResealAll(ctx context.Context, o RotateOptions) (int, error) {
	if o.Batch <= 0 {
		o.Batch = 200
	}
	cur := s.cipher.Current()
	total := 0
	for _, t := range sealedTables {
		for {
			n, err := s.resealBatch(ctx, t, cur, o.Batch)
			if err != nil {
				return total, err
			}
			total += n
			if n == 0 {
				break
			}
			if o.AfterBatch != nil {
				if err := o.AfterBatch(t.table, total); err != nil {
					return total, err
				}
			}
		}
	}
	return total, nil
}

func (s *Store) resealBatch(ctx context.Context, t sealedTable, cur string, batch int) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		cols := append(append([]string{t.key, "pii_key"}, t.sealed...), t.indexOf...)
		where := "pii_key <> $1"
		if t.where != "" {
			where += " AND " + t.where
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+t.table+
			` WHERE `+where+` ORDER BY `+t.key+` LIMIT $2`, cur, batch)
		if err != nil {
			return fmt.Errorf("reseal %s: %w", t.table, err)
		}
		type row struct {
			id     int64
			was    string
			values []string
			prefix []string
		}
		var todo []row
		for rows.Next() {
			r := row{values: make([]string, len(t.sealed)), prefix: make([]string, len(t.indexOf))}
			dest := []any{&r.id, &r.was}
			for i := range r.values {
				dest = append(dest, &r.values[i])
			}
			for i := range r.prefix {
				dest = append(dest, &r.prefix[i])
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return err
			}
			todo = append(todo, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		set := []string{"pii_key = $1"}
		for i, c := range t.sealed {
			set = append(set, fmt.Sprintf("%s = $%d", c, len(set)+1))
			if t.index[i] != "" {
				set = append(set, fmt.Sprintf("%s = $%d", t.index[i], len(set)+1))
			}
		}
		// Only if no one changed the row since it was read; a row written
		// meanwhile is taken by the next batch.
		update := `UPDATE ` + t.table + ` SET ` + strings.Join(set, ", ") +
			fmt.Sprintf(" WHERE %s = $%d AND pii_key = $%d", t.key, len(set)+1, len(set)+2)
		for _, r := range todo {
			args := []any{cur}
			for i, v := range r.values {
				plain, err := s.cipher.Open(v)
				if err != nil {
					return fmt.Errorf("reseal %s %d %s: %w", t.table, r.id, t.sealed[i], err)
				}
				args = append(args, s.cipher.Seal(plain))
				if t.index[i] != "" {
					hashed := plain
					if len(r.prefix) > 0 {
						hashed = strings.Join(r.prefix, ".") + "." + plain
					}
					args = append(args, s.cipher.Index(hashed))
				}
			}
			args = append(args, r.id, r.was)
			if _, err := tx.ExecContext(ctx, update, args...); err != nil {
				return fmt.Errorf("reseal %s %d: %w", t.table, r.id, err)
			}
		}
		n = len(todo)
		return nil
	})
	return n, err
}

// ErrKeyInUse is returned when an old key is to be retired while a row
// still needs it.
var ErrKeyInUse = errors.New("a row is still sealed with an older key: run shequ key rotate to the end first")

// CheckRetire reports whether every sealed value is under the current key
// (pii_key and the values agree), so the older keys may be dropped. Rows
// a writer marked with no key are checked value by value and marked.
func (s *Store) CheckRetire(ctx context.Context) error {
	cur := s.cipher.Current()
	var pin int64
	switch err := s.read.QueryRowContext(ctx, pinsUnderAnOlderKey+" LIMIT 1", cur).Scan(&pin); {
	case err == nil:
		return fmt.Errorf("%w (access_credentials %d: a door PIN, kept only as its hash, must be set again under the new key)", ErrKeyInUse, pin)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("check door PINs: %w", err)
	}
	for _, t := range sealedTables {
		rows, err := s.read.QueryContext(ctx, `SELECT `+t.key+`, `+strings.Join(t.sealed, ", ")+` FROM `+t.table+` WHERE pii_key <> $1`, cur)
		if err != nil {
			return fmt.Errorf("check %s: %w", t.table, err)
		}
		for rows.Next() {
			var id int64
			values := make([]string, len(t.sealed))
			dest := []any{&id}
			for i := range values {
				dest = append(dest, &values[i])
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return err
			}
			for _, v := range values {
				if by := pii.SealedBy(v); by != "" && by != cur {
					rows.Close()
					return fmt.Errorf("%w (%s %d)", ErrKeyInUse, t.table, id)
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Cipher returns the store's personal-data cipher (its key ring).
func (s *Store) Cipher() *pii.Cipher { return s.cipher }

// idNumberTaken reports a conflict when another resident of community has
// id number under an older key of the ring: during a rotation the unique
// index sees only the index values, which differ between keys.
func (s *Store) idNumberTaken(ctx context.Context, q querier, community, except int64, idNumber string) error {
	idx := s.cipher.Indexes(idNumber)
	if len(idx) < 2 {
		return nil // one key: the unique index decides
	}
	for _, x := range idx[1:] {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM people WHERE community_id = $1 AND id_number_idx = $2 AND id <> $3`, community, x, except).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return shequ.Errorf(shequ.ECONFLICT, "a resident with this ID number is already registered in this community")
		}
	}
	return nil
}
