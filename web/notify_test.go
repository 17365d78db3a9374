package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/notify"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestIncidentNotificationsAPI: the messages an intrusion owes appear on
// GET /api/v1/incidents/{id} as "notified" entries with recipient roles,
// the gateway's signed callbacks move them on, and the console says them
// in one line.
func TestIncidentNotificationsAPI(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			env := newTestEnv(t, dialect)
			secret := []byte("test-receipt-secret")
			env.server.receiptSecret = secret
			ctx := t.Context()
			outs, err := env.store.Ingest(ctx, []alarm.Report{{Source: alarm.SourceSIA, Account: "D0101", Seq: "0001", Kind: alarm.KindBurglary, Code: "BA", Zone: "1", ReceivedAt: env.clock.Now()}})
			if err != nil || len(outs) != 1 || outs[0].Incident == nil {
				t.Fatalf("ingest: %v %+v", err, outs)
			}
			id := outs[0].Incident.ID
			sender := &notify.LogSender{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			w := &notify.Worker{Store: env.store, Sender: sender, Clock: env.clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			for range 5 {
				env.clock.Advance(time.Second)
				if _, err := w.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
			}

			// notified reads the API's timeline as JSON: the entries a
			// client sees, by role.
			notified := func() map[string][]map[string]any {
				t.Helper()
				var detail struct {
					Timeline []map[string]any `json:"timeline"`
				}
				if got := env.do("operator", "GET", fmt.Sprintf("/api/v1/incidents/%d", id), nil, &detail); got != http.StatusOK {
					t.Fatalf("get incident: %d", got)
				}
				out := map[string][]map[string]any{}
				for _, e := range detail.Timeline {
					if e["action"] != "notified" {
						if _, ok := e["notification"]; ok {
							t.Errorf("%v entry carries a notification", e["action"])
						}
						continue
					}
					n, _ := e["notification"].(map[string]any)
					role, _ := n["recipient_role"].(string)
					out[role] = append(out[role], n)
				}
				return out
			}
			got := notified()
			for _, role := range []string{alarm.RoleHouseholder, alarm.RolePolice} {
				if len(got[role]) == 0 {
					t.Errorf("no %s on the timeline: %v", role, got)
				}
				for _, n := range got[role] {
					if n["status"] != alarm.NotificationSent || n["channel"] != alarm.ChannelSMS || !strings.Contains(n["phone"].(string), "****") {
						t.Errorf("%s: %v", role, n)
					}
				}
			}
			var householderKeys []string
			for _, m := range sender.Recent() {
				if strings.Contains(m.Key, ":householders:") {
					householderKeys = append(householderKeys, m.Key)
				}
			}
			if len(householderKeys) != len(got[alarm.RoleHouseholder]) {
				t.Fatalf("%d SMS to householders, %d on the timeline", len(householderKeys), len(got[alarm.RoleHouseholder]))
			}

			post := func(body string, sig string) int {
				t.Helper()
				req, err := http.NewRequest(http.MethodPost, env.http.URL+"/api/v1/notify/receipts", bytes.NewReader([]byte(body)))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				if sig != "" {
					req.Header.Set(ReceiptSignatureHeader, sig)
				}
				resp, err := env.http.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			b, _ := json.Marshal(map[string]string{"key": householderKeys[0], "status": "delivered"})
			if code := post(string(b), ""); code != http.StatusForbidden {
				t.Errorf("unsigned receipt: %d, want 403", code)
			}
			if code := post(string(b), SignReceipt([]byte("wrong"), b)); code != http.StatusForbidden {
				t.Errorf("receipt signed with another secret: %d, want 403", code)
			}
			for _, n := range notified()[alarm.RoleHouseholder] {
				if n["status"] != alarm.NotificationSent {
					t.Errorf("a refused receipt changed the status: %v", n)
				}
			}
			for _, k := range householderKeys {
				b, _ := json.Marshal(map[string]string{"key": k, "status": "delivered"})
				if code := post(string(b), SignReceipt(secret, b)); code != http.StatusNoContent {
					t.Errorf("signed receipt: %d, want 204", code)
				}
			}
			unknown, _ := json.Marshal(map[string]string{"message_id": "NOSUCH", "status": "delivered"})
			if code := post(string(unknown), SignReceipt(secret, unknown)); code != http.StatusNotFound {
				t.Errorf("receipt for an unknown message: %d, want 404", code)
			}
			for _, n := range notified()[alarm.RoleHouseholder] {
				if n["status"] != alarm.NotificationDelivered || n["delivered_at"] == nil {
					t.Errorf("householder after the receipt: %v", n)
				}
			}

			// Without a secret configured, no callback is believed.
			env.server.receiptSecret = nil
			if code := post(string(unknown), SignReceipt(nil, unknown)); code != http.StatusForbidden {
				t.Errorf("receipt with no secret configured: %d, want 403", code)
			}

			// The console's timeline says it in the reader's words.
			page := env.pageAs("operator", fmt.Sprintf("/console/incidents/%d", id))
			if !strings.Contains(page.body, "已送达") || !strings.Contains(page.body, "社区民警") {
				t.Errorf("console timeline lacks the messages: %s", page.body)
			}
		})
	}
}
