package sia

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
)

var benchFrame = []byte("\n" + `F2EA003B"SIA-DCS"1667L0#0000[#0000|Nri0/RP0000]_12:44:06,12-22-2021` + "\r")

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchFrame)))
	for b.Loop() {
		if _, err := Parse(benchFrame); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode is Parse plus the reports of the frame.
func BenchmarkDecode(b *testing.B) {
	b.ReportAllocs()
	var rs []alarm.Report
	for b.Loop() {
		f, err := Parse(benchFrame)
		if err != nil {
			b.Fatal(err)
		}
		rs = AppendReports(rs[:0], &f)
	}
}

func BenchmarkDecryptAndParse(b *testing.B) {
	for _, keyText := range []string{
		"000102030405060708090A0B0C0D0E0F",
		"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
	} {
		key, _ := ParseKey(keyText)
		block, _ := NewCipher(key)
		frame := encryptedFrame(b, IDSIADCS, "0001L0#1234", key, "#1234|Nri1/BA01]_10:00:00,01-31-2026")
		b.Run(fmt.Sprintf("AES-%d", 8*len(key)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				f, err := Parse(frame)
				if err != nil {
					b.Fatal(err)
				}
				if err := f.Decrypt(block); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAnswer(b *testing.B) {
	f, _ := Parse(benchFrame)
	key, _ := ParseKey("000102030405060708090A0B0C0D0E0F")
	block, _ := NewCipher(key)
	now := time.Now()
	var out []byte
	b.Run("ACK", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out = AppendACK(out[:0], &f, nil, now)
		}
	})
	b.Run("*ACK", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out = AppendACK(out[:0], &f, block, now)
		}
	})
}

// BenchmarkReceiverTCP measures ACKed frames per second over loopback with
// a Handler that stores nothing: the receiver's own cost, the bound under
// any store.
func BenchmarkReceiverTCP(b *testing.B) {
	key, _ := ParseKey("000102030405060708090A0B0C0D0E0F")
	accounts := StaticAccounts{"1234": nil, "A128": key}
	r := New(Config{Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxConns: 4096, MaxConnsPerAddr: 4096},
		accounts, HandlerFunc(func(context.Context, []alarm.Report) error { return nil }))
	if err := r.Listen(); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Serve(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	addr := r.Addr().String()

	plain := AppendFrame(nil, []byte(`"SIA-DCS"0001L0#1234[#1234|Nri1/BA01]`))
	encrypted := func() []byte {
		ts := appendTimestamp(nil, time.Now())
		return encryptedFrame(b, IDSIADCS, "0001L0#A128", key, "#A128|Nri1/BA01]"+string(ts))
	}

	// One connection per goroutine, each frame waiting for its ACK: how
	// panels behave.
	roundTrip := func(b *testing.B, frame func() []byte) {
		b.ReportAllocs()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			f := frame()
			for pb.Next() {
				if _, err := c.Write(f); err != nil {
					b.Error(err)
					return
				}
				ans, err := br.ReadSlice('\r')
				if err != nil || len(ans) < 14 || string(ans[10:13]) != "ACK" && string(ans[11:14]) != "ACK" {
					b.Errorf("answer %q, %v", ans, err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
	}
	// RunParallel runs parallelism × GOMAXPROCS goroutines.
	procs := runtime.GOMAXPROCS(0)
	for _, p := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("plain/conns=%d", p*procs), func(b *testing.B) {
			b.SetParallelism(p)
			roundTrip(b, func() []byte { return plain })
		})
	}
	b.Run(fmt.Sprintf("encrypted/conns=%d", 32*procs), func(b *testing.B) {
		b.SetParallelism(32)
		roundTrip(b, encrypted)
	})

	// Many frames written at once on one connection, as a concentrator
	// forwarding a backlog would.
	b.Run("pipelined", func(b *testing.B) {
		b.ReportAllocs()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		const batch = 64
		var burst []byte
		for range batch {
			burst = append(burst, plain...)
		}
		br := bufio.NewReader(c)
		start := time.Now()
		n := 0
		for b.Loop() {
			if n%batch == 0 {
				if _, err := c.Write(burst); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := br.ReadSlice('\r'); err != nil {
				b.Fatal(err)
			}
			n++
		}
		// Drain the rest of the last burst.
		for ; n%batch != 0; n++ {
			br.ReadSlice('\r')
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
	})
}
