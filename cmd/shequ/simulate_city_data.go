package main

// The city's synthetic data. Communities, grids, buildings, accounts and
// matter categories go through the store; homes, households, residents,
// the panels' device entries and the panels themselves are copied in with
// COPY, in one transaction per batch of communities. This file is the one
// place outside sqlstore that names tables: the bulk load is a simulator's
// shortcut (the store creates one row per call, audited, which for a
// thousand communities' 1.7 million rows takes most of an hour), and the
// columns it fills are those the store's creates fill, sealed the same way.
// The copied rows get no audit entry each; setup writes none either.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/pii"
	"github.com/shequ/shequ/sqlstore"
)

// cityCode is the code of the n-th simulated community (n from 1).
func cityCode(n int) string { return fmt.Sprintf("city-%05d", n) }

// cityAccount is the SIA account of panel j (from 1) of community n.
func cityAccount(n, j int) string { return fmt.Sprintf("C%05d%03d", n, j) }

// cityResident is the sign-in name of community n's resident with an account.
func cityResident(n int) string { return fmt.Sprintf("city-r%05d", n) }

// cityAdmin is the deployment-wide account the consoles sign in as.
const cityAdmin = "city-admin"

// cityPeriod is panel j of community n's heartbeat period, before
// --speed: the same in every run, so that --supervise at setup and the
// traffic later agree.
func cityPeriod(c cityConfig, n, j int) time.Duration {
	r := rand.New(rand.NewPCG(uint64(n), uint64(j)))
	return c.minPeriod + time.Duration(r.Int64N(int64(c.maxPeriod-c.minPeriod)+1))
}

type citySetupReport struct {
	Seconds           float64 `json:"seconds"`
	StoreSeconds      float64 `json:"store_seconds"`
	CopySeconds       float64 `json:"copy_seconds"`
	Created           int     `json:"communities_created"`
	Existed           int     `json:"communities_existed"`
	Buildings         int     `json:"buildings"`
	Homes             int     `json:"homes"`
	People            int     `json:"people"`
	Panels            int     `json:"panels"`
	Accounts          int     `json:"accounts"`
	DBBytesBefore     int64   `json:"db_bytes_before"`
	DBBytesAfter      int64   `json:"db_bytes_after"`
	BytesPerCommunity int64   `json:"bytes_per_community"`
	RowsCopiedPerSec  float64 `json:"rows_copied_per_second"`
}

func (s *citySetupReport) print(w io.Writer) {
	fmt.Fprintf(w, "setup: %.1f s (store %.1f s, COPY %.1f s at %.0f rows/s): %d communities made, %d there already\n",
		s.Seconds, s.StoreSeconds, s.CopySeconds, s.RowsCopiedPerSec, s.Created, s.Existed)
	fmt.Fprintf(w, "  made: %d buildings, %d homes (each with a household), %d residents, %d panels; %d resident accounts\n",
		s.Buildings, s.Homes, s.People, s.Panels, s.Accounts)
	fmt.Fprintf(w, "  database: %s before, %s after: %s per community made\n",
		bytesText(s.DBBytesBefore), bytesText(s.DBBytesAfter), bytesText(s.BytesPerCommunity))
}

func bytesText(n int64) string {
	switch {
	case n >= 10<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 10<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 10<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// cityShell is one community made through the store, waiting for its bulk.
type cityShell struct {
	n         int
	id        int64
	grid      int64
	buildings []int64
}

func setupCity(ctx context.Context, c cityConfig, log *slog.Logger) (*citySetupReport, error) {
	start := time.Now()
	rep := &citySetupReport{}
	ciph, err := c.store.cipher(log)
	if err != nil {
		return rep, err
	}
	st, err := sqlstore.Open(ctx, c.store.dsn(), sqlstore.Options{Cipher: ciph, Logger: log})
	if err != nil {
		return rep, err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return rep, err
	}
	conn, err := pgx.Connect(ctx, c.store.dsn())
	if err != nil {
		return rep, fmt.Errorf("connect for COPY: %w", err)
	}
	defer conn.Close(context.Background())
	if rep.DBBytesBefore, err = databaseSize(ctx, conn); err != nil {
		return rep, err
	}

	everyone := auth.Scope{{}}
	const batch = 25
	var storeTime, copyTime time.Duration
	var rows int64
	for first := 1; first <= c.communities; first += batch {
		last := min(first+batch-1, c.communities)
		t0 := time.Now()
		shells, existed, err := makeShells(ctx, st, everyone, c, first, last)
		storeTime += time.Since(t0)
		rep.Existed += existed
		if err != nil {
			return rep, err
		}
		if len(shells) == 0 {
			continue
		}
		t0 = time.Now()
		n, err := copyBulk(ctx, conn, ciph, c, shells, rep)
		copyTime += time.Since(t0)
		rows += n
		if err != nil {
			return rep, err
		}
		rep.Created += len(shells)
		if last%250 == 0 || last == c.communities {
			log.Info("simulate city: communities made", "up_to", last, "of", c.communities, "elapsed", time.Since(start).Round(time.Second))
		}
	}

	t0 := time.Now()
	if err := cityAccounts(ctx, st, conn, everyone, c, rep); err != nil {
		return rep, err
	}
	storeTime += time.Since(t0)
	if rep.DBBytesAfter, err = databaseSize(ctx, conn); err != nil {
		return rep, err
	}
	if rep.Created > 0 {
		rep.BytesPerCommunity = (rep.DBBytesAfter - rep.DBBytesBefore) / int64(rep.Created)
	}
	rep.Seconds = roundTo(time.Since(start).Seconds(), 0.1)
	rep.StoreSeconds, rep.CopySeconds = roundTo(storeTime.Seconds(), 0.1), roundTo(copyTime.Seconds(), 0.1)
	if copyTime > 0 {
		rep.RowsCopiedPerSec = float64(int64(float64(rows) / copyTime.Seconds()))
	}
	return rep, nil
}

func roundTo(x, unit float64) float64 { return float64(int64(x/unit+0.5)) * unit }

// makeShells makes communities first..last that are not there yet, with
// one grid and their buildings, four at a time.
func makeShells(ctx context.Context, st *sqlstore.Store, everyone auth.Scope, c cityConfig, first, last int) ([]cityShell, int, error) {
	var (
		mu      sync.Mutex
		shells  []cityShell
		existed int
		errs    []error
		wg      sync.WaitGroup
		next    = first
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				n := next
				next++
				stop := n > last || len(errs) > 0
				mu.Unlock()
				if stop {
					return
				}
				sh, made, err := makeShell(ctx, st, everyone, c, n)
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, fmt.Errorf("community %d: %w", n, err))
				case made:
					shells = append(shells, sh)
				default:
					existed++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return shells, existed, errors.Join(errs...)
}

func makeShell(ctx context.Context, st *sqlstore.Store, everyone auth.Scope, c cityConfig, n int) (cityShell, bool, error) {
	sh := cityShell{n: n}
	if _, err := st.CommunityByCode(ctx, cityCode(n)); err == nil {
		return sh, false, nil
	} else if shequ.ErrorCode(err) != shequ.ENOTFOUND {
		return sh, false, err
	}
	cm := community.Community{Code: cityCode(n), Name: fmt.Sprintf("模拟社区 %05d", n), NameEn: fmt.Sprintf("Simulated community %05d", n),
		Address: fmt.Sprintf("模拟区 %d 号街道", (n-1)/c.districtSize+1)}
	if err := st.CreateCommunity(ctx, everyone, &cm); err != nil {
		return sh, false, err
	}
	sh.id = cm.ID
	g := community.Grid{CommunityID: cm.ID, Code: "G1", Name: "第一网格"}
	if err := st.CreateGrid(ctx, everyone, &g); err != nil {
		return sh, false, err
	}
	sh.grid = g.ID
	for b := 1; b <= c.buildings; b++ {
		bd := community.Building{CommunityID: cm.ID, GridID: g.ID, Name: fmt.Sprintf("%d号楼", b), Floors: c.floors}
		if err := st.CreateBuilding(ctx, everyone, &bd); err != nil {
			return sh, false, err
		}
		sh.buildings = append(sh.buildings, bd.ID)
	}
	return sh, true, nil
}

// reserveIDs takes n values of table's id sequence, so that the copied
// rows can name each other; nodes inserting meanwhile get other values.
func reserveIDs(ctx context.Context, tx pgx.Tx, table string, n int) ([]int64, error) {
	rows, err := tx.Query(ctx, "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)", table, n)
	if err != nil {
		return nil, fmt.Errorf("reserve %d ids of %s: %w", n, table, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("reserve %d ids of %s: %w", n, table, err)
	}
	return ids, nil
}

var (
	citySurnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
	cityGiven    = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂")
)

// copyBulk copies the homes, households, residents, device entries and
// panels of shells in one transaction, and returns the rows copied.
func copyBulk(ctx context.Context, conn *pgx.Conn, ciph *pii.Cipher, c cityConfig, shells []cityShell, rep *citySetupReport) (int64, error) {
	perFloor := c.doors
	homesPer := c.buildings * c.floors * perFloor
	nHomes := len(shells) * homesPer
	nPanels := len(shells) * c.panels
	now := time.Now().UTC()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.Background())
	homeIDs, err := reserveIDs(ctx, tx, "homes", nHomes)
	if err != nil {
		return 0, err
	}
	hhIDs, err := reserveIDs(ctx, tx, "households", nHomes)
	if err != nil {
		return 0, err
	}
	devIDs, err := reserveIDs(ctx, tx, "devices", max(nPanels, 1))
	if err != nil {
		return 0, err
	}

	var homes, households, people, devices, panels [][]any
	hi, pi := 0, 0
	for _, sh := range shells {
		rng := rand.New(rand.NewPCG(uint64(sh.n), 7))
		// Homes floor by floor across the buildings, so that the panels
		// (the first --panels homes) are on the lowest floors.
		type placed struct {
			id    int64
			floor int
		}
		var mine []placed
		for f := 1; f <= c.floors; f++ {
			for _, b := range sh.buildings {
				for d := 1; d <= perFloor; d++ {
					id := homeIDs[hi]
					homes = append(homes, []any{id, sh.id, b, "1", f, fmt.Sprintf("%d%02d", f, d), now})
					households = append(households, []any{hhIDs[hi], sh.id, id, "", now})
					for r := range c.residents {
						gender := "male"
						if r%2 == 1 {
							gender = "female"
						}
						name := string(citySurnames[rng.IntN(len(citySurnames))]) + string(cityGiven[rng.IntN(len(cityGiven))]) + string(cityGiven[rng.IntN(len(cityGiven))])
						phone := fmt.Sprintf("19%d%08d", r, (sh.n*homesPer+hi%homesPer)%100000000)
						relation := "户主"
						if r > 0 {
							relation = "家属"
						}
						birth := fmt.Sprintf("%d-%02d-%02d", 1940+rng.IntN(65), 1+rng.IntN(12), 1+rng.IntN(28))
						people = append(people, []any{sh.id, hhIDs[hi], name, gender, ciph.Seal(phone), ciph.Index(phone), birth, relation, now, now, ciph.Current()})
					}
					mine = append(mine, placed{id: id, floor: f})
					hi++
				}
			}
		}
		for j := 1; j <= c.panels; j++ {
			h := mine[j-1]
			account := cityAccount(sh.n, j)
			devices = append(devices, []any{devIDs[pi], sh.id, community.DeviceAlarmPanel, "报警主机 " + account, account, h.id, community.DeviceUnknown, now, now})
			supervision := 0
			if c.supervise {
				// Three missed heartbeats, as a receiver would allow.
				supervision = int(3 * cityPeriod(c, sh.n, j) / time.Second)
			}
			panels = append(panels, []any{sh.id, h.id, devIDs[pi], account, ciph.Seal(simKey(account)), supervision, now})
			pi++
		}
		rep.Buildings += len(sh.buildings)
	}
	var total int64
	for _, t := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"homes", []string{"id", "community_id", "building_id", "entrance", "floor", "door", "created_at"}, homes},
		{"households", []string{"id", "community_id", "home_id", "name", "created_at"}, households},
		{"people", []string{"community_id", "household_id", "name", "gender", "phone_enc", "phone_idx", "birth_date", "relation", "created_at", "updated_at", "pii_key"}, people},
		{"devices", []string{"id", "community_id", "kind", "name", "serial", "home_id", "status", "created_at", "updated_at"}, devices},
		{"alarm_panels", []string{"community_id", "home_id", "device_id", "account", "key_enc", "supervision_seconds", "created_at"}, panels},
	} {
		if len(t.rows) == 0 {
			continue
		}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{t.table}, t.cols, pgx.CopyFromRows(t.rows))
		if err != nil {
			return total, fmt.Errorf("copy %s: %w", t.table, err)
		}
		total += n
	}
	if err := tx.Commit(ctx); err != nil {
		return total, err
	}
	rep.Homes += len(homes)
	rep.People += len(people)
	rep.Panels += len(panels)
	return total, nil
}

// cityAccounts gives the first --accounts communities' first resident an
// account and their community a matter category, and makes city-admin;
// all get --password, hashed once.
func cityAccounts(ctx context.Context, st *sqlstore.Store, conn *pgx.Conn, everyone auth.Scope, c cityConfig, rep *citySetupReport) error {
	names := []string{cityAdmin}
	created := false
	admin := auth.User{Username: cityAdmin, DisplayName: "城市值班台（模拟）", Grants: []auth.Grant{{Role: auth.RoleAdmin}}}
	switch err := st.CreateUser(ctx, everyone, &admin, ""); {
	case err == nil:
		created = true
	case shequ.ErrorCode(err) != shequ.ECONFLICT:
		return fmt.Errorf("%s: %w", cityAdmin, err)
	}
	for n := 1; n <= c.accounts; n++ {
		cm, err := st.CommunityByCode(ctx, cityCode(n))
		if err != nil {
			return fmt.Errorf("community %d: %w", n, err)
		}
		// The first resident of the community's first home.
		var person int64
		err = conn.QueryRow(ctx, `SELECT p.id FROM people p JOIN households hh ON hh.id = p.household_id
			WHERE p.community_id = $1 ORDER BY hh.home_id, p.id LIMIT 1`, cm.ID).Scan(&person)
		if err != nil {
			return fmt.Errorf("community %d's first resident: %w", n, err)
		}
		u := auth.User{Username: cityResident(n), DisplayName: fmt.Sprintf("居民 %05d（模拟）", n), PersonID: person,
			Grants: []auth.Grant{{Role: auth.RoleResident, CommunityID: cm.ID}}}
		names = append(names, u.Username)
		switch err := st.CreateUser(ctx, everyone, &u, ""); {
		case shequ.ErrorCode(err) == shequ.ECONFLICT:
			continue // made by an earlier setup, with its category
		case err != nil:
			return fmt.Errorf("%s: %w", u.Username, err)
		}
		rep.Accounts++
		created = true
		cat := matter.Category{CommunityID: cm.ID, Code: "repair", Name: "报修", NameEn: "Repairs", SLAHours: 72}
		if err := st.CreateCategory(ctx, everyone, &cat); err != nil {
			return fmt.Errorf("community %d's matter category: %w", n, err)
		}
	}
	if !created && st.PasswordMatches(ctx, cityAdmin, c.password) {
		return nil
	}
	hash, err := auth.HashPassword(c.password)
	if err != nil {
		return err
	}
	return st.SetPasswordHash(ctx, names, hash)
}

// databaseSize is pg_database_size of the database conn is on.
func databaseSize(ctx context.Context, conn *pgx.Conn) (int64, error) {
	var n int64
	if err := conn.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n); err != nil {
		return 0, fmt.Errorf("database size: %w", err)
	}
	return n, nil
}
