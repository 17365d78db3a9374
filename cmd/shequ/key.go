package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shequ/shequ/pii"
	"github.com/shequ/shequ/sqlstore"
)

const keyAbout = `shequ key: the personal-data key.

  shequ key status   the keys (current first) and how many rows each table
                     still has to reseal under the current key
  shequ key rotate   make a new key current (kept in the key file beside the
                     old one), then reseal every ID and phone number and
                     recompute the index under it, in batches, while the
                     server runs; run it again to resume after a stop
  shequ key retire   drop the old keys once no row needs them

With the key file (SQLite), a running server reads the file again within
seconds and seals with the new key; rotate waits --settle for that before
resealing. With --key / SHEQU_KEY (PostgreSQL), first give every node the
new key in front of the old one (SHEQU_KEY=NEW,OLD) and restart them, then
run rotate with the same SHEQU_KEY; after retire, set SHEQU_KEY=NEW.`

func keyCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, keyAbout)
		return fmt.Errorf("key: say status, rotate or retire")
	}
	var sc storeConfig
	var batch int
	var settle time.Duration
	f := newFlags("key "+args[0], keyAbout)
	sc.register(f)
	f.IntVar(&batch, "batch", 200, "rows resealed in one transaction")
	f.DurationVar(&settle, "settle", 15*time.Second, "after adding a key to the key file, wait this long for running servers to read it")
	if err := f.Parse(args[1:]); err != nil {
		return flagErr(err)
	}
	log := sc.logger()
	switch args[0] {
	case "status":
		st, err := sc.open(ctx, log)
		if err != nil {
			return err
		}
		defer st.Close()
		return printKeyStatus(ctx, st)
	case "rotate":
		if sc.key == "" {
			if err := addKeyToFile(&sc, log); err != nil {
				return err
			}
			if settle > 0 {
				log.Info("waiting for running servers to read the new key", "settle", settle)
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(settle):
				}
			}
		}
		st, err := sc.open(ctx, log)
		if err != nil {
			return err
		}
		defer st.Close()
		if len(st.Cipher().KeyIDs()) < 2 && sc.key != "" {
			log.Warn("only one key given: resealing what is not under it (give SHEQU_KEY=NEW,OLD to rotate)")
		}
		start := time.Now()
		n, err := st.ResealAll(ctx, sqlstore.RotateOptions{Batch: batch, AfterBatch: func(table string, done int) error {
			log.Info("resealed", "table", table, "rows_so_far", done)
			return nil
		}})
		if err != nil {
			return fmt.Errorf("rotation stopped after %d rows (run shequ key rotate again to resume): %w", n, err)
		}
		fmt.Printf("%d rows resealed under key %s in %s\n", n, st.Cipher().Current(), time.Since(start).Round(time.Millisecond))
		return printKeyStatus(ctx, st)
	case "retire":
		st, err := sc.open(ctx, log)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.CheckRetire(ctx); err != nil {
			return err
		}
		ids := st.Cipher().KeyIDs()
		if len(ids) == 1 {
			fmt.Printf("only key %s is in use; nothing to retire\n", ids[0])
			return nil
		}
		if sc.key != "" {
			fmt.Printf("no row needs keys %s any more: set SHEQU_KEY to the first key alone on every node\n", strings.Join(ids[1:], ", "))
			return nil
		}
		path, err := sc.keyPath()
		if err != nil {
			return err
		}
		keys, err := pii.LoadKeyFile(path)
		if err != nil {
			return err
		}
		if pii.KeyID(keys[0]) != ids[0] {
			return fmt.Errorf("the key file changed while retiring; run again")
		}
		if err := pii.WriteKeyFile(path, keys[:1]); err != nil {
			return err
		}
		fmt.Printf("retired keys %s; key %s alone remains in %s (take a new backup: older ones hold the old keys)\n", strings.Join(ids[1:], ", "), ids[0], path)
		return nil
	}
	return fmt.Errorf("key: unknown action %q (status, rotate, retire)", args[0])
}

// addKeyToFile puts a new key at the head of the key file, unless a
// rotation is already under way (the file has more than one key): then it
// is resumed with the key it began.
func addKeyToFile(sc *storeConfig, log *slog.Logger) error {
	path, err := sc.keyPath()
	if err != nil {
		return err
	}
	keys, err := pii.LoadKeyFile(path)
	if err != nil {
		return err
	}
	if len(keys) > 1 {
		log.Info("resuming the rotation to key " + pii.KeyID(keys[0]))
		return nil
	}
	keys = append([][]byte{pii.NewKey()}, keys...)
	if err := pii.WriteKeyFile(path, keys); err != nil {
		return err
	}
	log.Warn("new personal-data key added to the key file; take a backup when the rotation ends", "key", pii.KeyID(keys[0]), "path", path)
	return nil
}

func printKeyStatus(ctx context.Context, st *sqlstore.Store) error {
	use, err := st.KeyStatus(ctx)
	if err != nil {
		return err
	}
	ids := st.Cipher().KeyIDs()
	fmt.Printf("current key %s", ids[0])
	if len(ids) > 1 {
		fmt.Printf("; older keys %s", strings.Join(ids[1:], ", "))
	}
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS\tTO RESEAL")
	for _, u := range use {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", u.Table, u.Rows, u.Pending)
	}
	return tw.Flush()
}
