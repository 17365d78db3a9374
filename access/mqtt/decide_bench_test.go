package mqtt_test

import (
	"context"
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// BenchmarkDecide is one decision in the store, without MQTT.
func BenchmarkDecide(b *testing.B) {
	st := sqlstoretest.Open(b, sqlstore.SQLite, shequ.SystemClock{})
	w := makeWorld(b, st, "bd")
	creds := benchCredentials(b, st, w, 50)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := st.Decide(ctx, w.entrance.ID, creds[i%len(creds)], "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
