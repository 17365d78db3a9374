package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm/sia/siatest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// The cluster tests run several `shequ serve` processes on one PostgreSQL
// database; these are their shared helpers.

// nodeChores are the leases every node takes part in (backups only with
// --backup-every): each names a periodic chore that must run on one node.
var nodeChores = []string{"alarm-timers", "device-health", "access-chores", "broadcast", "retention", "footage-exports", "media-sweep"}

// cluster is a database and the environment its nodes share.
type cluster struct {
	dsn string
	env []string
	db  *sql.DB
	gw  *countingGateway
}

// newCluster makes an empty PostgreSQL database (the test skips without
// PostgreSQL, unless CI is set) and a fake SMS gateway the nodes send to.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("cluster test: not in -short")
	}
	c := &cluster{dsn: sqlstoretest.EmptyDSN(t, sqlstore.Postgres), gw: &countingGateway{posts: map[string]int{}}}
	gws := httptest.NewServer(c.gw)
	t.Cleanup(gws.Close)
	c.env = []string{"SHEQU_DEMO_PASSWORD=demo-password-1", "SHEQU_KEY=" + strings.Repeat("2a", 32), "SHEQU_SMS=" + gws.URL}
	db, err := sql.Open("pgx", c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c.db = db
	return c
}

// node starts one node; the first is started with --demo.
func (c *cluster) node(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	return start(t, c.env, append([]string{"--db", c.dsn, "--data", t.TempDir(), "--http", "127.0.0.1:0", "--node", name}, args...)...)
}

// leases returns each lease's holder.
func (c *cluster) leases(t *testing.T) map[string]string {
	t.Helper()
	rows, err := c.db.QueryContext(t.Context(), "SELECT name, holder FROM leases")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, holder string
		if err := rows.Scan(&name, &holder); err != nil {
			t.Fatal(err)
		}
		out[name] = holder
	}
	return out
}

// count runs a SELECT COUNT(*) … and returns its number.
func (c *cluster) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := c.db.QueryRowContext(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// waitFor polls ok until it holds, failing the test after limit. The
// limits are generous: the machine may be loaded; the polling keeps the
// test as quick as the system under test.
func waitFor(t *testing.T, what string, limit time.Duration, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// log returns what the node wrote to its log so far.
func (p *proc) log() string { return p.out.String() }

// countingGateway is a fake SMS gateway that counts the posts of each
// Idempotency-Key: a key posted twice is a message a gateway honouring
// the key sends once, and a resend the test accounts for.
type countingGateway struct {
	mu    sync.Mutex
	posts map[string]int
}

func (g *countingGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m struct{ Key string }
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.Key == "" || r.Header.Get("Idempotency-Key") != m.Key {
		http.Error(w, "no key", http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	g.posts[m.Key]++
	g.mu.Unlock()
}

// sent returns the posts of each key whose name starts with prefix.
func (g *countingGateway) sent(prefix string) map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for k, n := range g.posts {
		if strings.HasPrefix(k, prefix) {
			out[k] = n
		}
	}
	return out
}

// home is a demo home with its building.
type home struct {
	ID         int64 `json:"id"`
	BuildingID int64 `json:"building_id"`
}

// homesOn lists the demo homes of a floor.
func homesOn(t *testing.T, p *proc, token string, floor, limit int) []home {
	t.Helper()
	var out struct {
		Items []home `json:"items"`
	}
	if code := p.api(t, token, "GET", fmt.Sprintf("/api/v1/homes?floor=%d&limit=%d", floor, limit), nil, &out); code != 200 || len(out.Items) == 0 {
		t.Fatalf("homes of floor %d: %d, %d", floor, code, len(out.Items))
	}
	return out.Items
}

// failoverPanel is a panel with a primary and a backup receiver (DC-09
// allows both): a frame that gets no ACK from one, because the
// connection fails or no answer comes, is sent again to the other, over
// and over until one acknowledges it or until the panel gives up.
type failoverPanel struct {
	siatest.Panel
	addrs [2]string
	cur   int
	conn  *siatest.Conn
}

// send sends frame until a receiver acknowledges it, and returns which
// (0 primary, 1 backup) and how many times it was sent; it gives up
// (ok false) when stop is closed or after limit.
func (p *failoverPanel) send(frame []byte, timeout, limit time.Duration, stop <-chan struct{}) (node, tries int, ok bool) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if p.conn == nil {
			c, err := siatest.Dial("tcp", p.addrs[p.cur])
			if err != nil {
				p.cur = 1 - p.cur
				select {
				case <-stop:
					return 0, tries, false
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			p.conn = c
		}
		tries++
		a, err := p.conn.Exchange(frame, timeout)
		if err == nil && a.Type == "ACK" {
			return p.cur, tries, true
		}
		// No ACK: the receiver is gone or draining; the backup gets it.
		p.conn.Close()
		p.conn = nil
		p.cur = 1 - p.cur
	}
	return 0, tries, false
}

func (p *failoverPanel) close() {
	if p.conn != nil {
		p.conn.Close()
	}
}

// storedFrames counts the events stored for each "account/seq" of the
// accounts that start with prefix.
func (c *cluster) storedFrames(t *testing.T, prefix string) map[string]int {
	t.Helper()
	rows, err := c.db.QueryContext(t.Context(), "SELECT account, seq, COUNT(*) FROM alarm_events WHERE account LIKE $1 GROUP BY account, seq", prefix+"%")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var account, seq string
		var n int
		if err := rows.Scan(&account, &seq, &n); err != nil {
			t.Fatal(err)
		}
		out[account+"/"+seq] = n
	}
	return out
}

// checkFrames compares the acknowledged frames with the stored ones: none
// missing, none stored twice. It returns the counts.
func (c *cluster) checkFrames(t *testing.T, prefix string, acked map[string]bool) (missing, doubled int) {
	t.Helper()
	stored := c.storedFrames(t, prefix)
	for k := range acked {
		if stored[k] == 0 {
			missing++
			if missing <= 5 {
				t.Errorf("frame %s acknowledged, not stored", k)
			}
		}
	}
	for k, n := range stored {
		if n > 1 {
			doubled++
			if doubled <= 5 {
				t.Errorf("frame %s stored %d times", k, n)
			}
		}
	}
	return missing, doubled
}

// siatestPanel is a panel sending plain frames from sequence 0001.
func siatestPanel(account string) siatest.Panel { return siatest.Panel{Account: account} }
