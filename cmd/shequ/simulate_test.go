package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/alarm/sia"
)

// The simulator's frames decode, with the panel's key, to the events they
// are meant to be.
func TestSimulatedFramesDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string]alarm.Kind{"NULL": alarm.KindSupervision, "RP": alarm.KindTest, "OP": alarm.KindOpening, "CL": alarm.KindClosing,
		"BA": alarm.KindBurglary, "TA": alarm.KindTamper, "PA": alarm.KindPanic, "FA": alarm.KindFire}
	seen := map[string]bool{}
	for _, plain := range []bool{false, true} {
		p := newSimPanel(7, plain, rng)
		if p.p.Account != "900007" {
			t.Fatalf("account %q", p.p.Account)
		}
		key, _ := sia.ParseKey(simKey(p.p.Account))
		if len(key) != 16 {
			t.Fatalf("key of %d bytes, want AES-128", len(key))
		}
		for range 2000 {
			code, seq, raw := p.next(rng, 0.2)
			f, err := sia.Parse(raw)
			if err != nil {
				t.Fatalf("%s frame %q: %v", code, raw, err)
			}
			if f.Encrypted == plain || f.Seq != seq || f.Account != "900007" {
				t.Fatalf("frame %q: encrypted %v seq %s account %s", raw, f.Encrypted, f.Seq, f.Account)
			}
			if f.Encrypted {
				block, _ := sia.NewCipher(key)
				if err := f.Decrypt(block); err != nil {
					t.Fatalf("decrypt: %v", err)
				}
			}
			rs := sia.AppendReports(nil, &f)
			if len(rs) != 1 || rs[0].Kind != want[code] {
				t.Fatalf("%s frame %q decodes to %+v", code, raw, rs)
			}
			seen[code] = true
		}
	}
	if len(seen) != len(want) {
		t.Errorf("only %v sent", seen)
	}
}

func (p *proc) events(t *testing.T, token, account string) []alarm.Event {
	t.Helper()
	var out struct{ Items []alarm.Event }
	if code := p.api(t, token, "GET", "/api/v1/alarm/events?limit=500&account="+account, nil, &out); code != 200 {
		t.Fatalf("events of %s: %d", account, code)
	}
	return out.Items
}

// simulate runs the command and decodes its --json summary.
func simulate(t *testing.T, env []string, args ...string) (simReport, string, error) {
	t.Helper()
	var rep simReport
	stderr, err := runSimulate(t, env, 90*time.Second, &rep, append([]string{"simulate", "--json"}, args...)...)
	return rep, stderr, err
}

// runSimulate runs shequ with args, kills it after limit, and decodes its
// standard output as JSON into report; it returns the standard error and
// how the command ended.
func runSimulate(t *testing.T, env []string, limit time.Duration, report any, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(limit):
		cmd.Process.Kill()
		t.Fatalf("%s did not stop by itself:\n%s", strings.Join(args[:2], " "), stderr.String())
	}
	if jerr := json.Unmarshal(stdout.Bytes(), report); jerr != nil {
		t.Fatalf("summary is not JSON (%v, exit %v):\n%s\n%s", jerr, err, stdout.String(), stderr.String())
	}
	return stderr.String(), err
}

func TestSimulateAgainstServer(t *testing.T) {
	data := t.TempDir()
	mqttAddr := freeAddr(t)
	p := start(t, []string{"SHEQU_DEMO_PASSWORD=demo-password-1"}, "--demo", "--data", data, "--http", "127.0.0.1:0", "--mqtt-listen", mqttAddr)
	siaAddr := p.siaAddr(t)
	acked := filepath.Join(t.TempDir(), "acked.txt")
	env := []string{"SHEQU_SIM_USER=director", "SHEQU_SIM_PASSWORD=demo-password-1"}
	const frames = 240
	common := []string{"--server", "http://" + p.addr, "--sia", siaAddr, "--panels", "6", "--sensors", "3"}

	rep, stderr, err := simulate(t, env, append(common, "--setup", "--mqtt", "tcp://"+mqttAddr, "--frames", fmt.Sprint(frames),
		"--duration", "60s", "--rate", "0", "--concurrency", "3", "--mqtt-rate", "50", "--alarm-ratio", "0.25",
		"--strict", "--acked", acked, "--seed", "42")...)
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, stderr)
	}
	if rep.Setup == nil || rep.Setup.PanelsCreated != 6 || rep.Setup.SensorsCreated != 3 || rep.Setup.Homes == 0 {
		t.Errorf("setup: %+v", rep.Setup)
	}
	if rep.Sent != frames || rep.SIA.ACK != frames || rep.SIA.NoAnswer+rep.SIA.NAK+rep.SIA.DUH != 0 {
		t.Errorf("frames: sent %d, answers %+v", rep.Sent, rep.SIA)
	}
	if rep.SIA.Latency.N != frames || rep.SIA.Latency.P50 <= 0 || rep.SIA.Latency.Max < rep.SIA.Latency.P99 {
		t.Errorf("latency: %+v", rep.SIA.Latency)
	}
	if rep.MQTT == nil || rep.MQTT.Acked == 0 || rep.MQTT.Failed != 0 {
		t.Errorf("MQTT: %+v", rep.MQTT)
	}

	// Every acknowledged frame is in the file, and every one that is an
	// event (all but heartbeats) is stored under its account and seq.
	f, err := os.Open(acked)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]map[string]string{} // account → seq → code
	lines := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 3 {
			t.Fatalf("acked line %q", sc.Text())
		}
		lines++
		if fs[2] == "NULL" {
			continue
		}
		if want[fs[0]] == nil {
			want[fs[0]] = map[string]string{}
		}
		want[fs[0]][fs[1]] = fs[2]
	}
	if lines != frames {
		t.Errorf("%d lines in --acked, want %d", lines, frames)
	}
	token := p.token(t, "operator", "demo-password-1")
	alarms := 0
	for account, seqs := range want {
		got := map[string]string{}
		for _, e := range p.events(t, token, account) {
			got[e.Seq] = e.Code
		}
		for seq, code := range seqs {
			if got[seq] != code {
				t.Errorf("%s %s %s acknowledged but stored as %q", account, seq, code, got[seq])
			}
			switch code {
			case "BA", "TA", "PA", "FA":
				alarms++
			}
		}
	}
	if alarms == 0 {
		t.Error("no alarm among the frames")
	}
	sensorEvents := 0
	for i := 1; i <= 3; i++ {
		sensorEvents += len(p.events(t, token, fmt.Sprintf("sim-sensor-%04d", i)))
	}
	if sensorEvents == 0 {
		t.Error("no sensor event stored")
	}

	// --setup again registers nothing twice.
	rep, stderr, err = simulate(t, env, append(common, "--setup", "--duration", "0")...)
	if err != nil || rep.Setup == nil || rep.Setup.PanelsExisted != 6 || rep.Setup.SensorsExisted != 3 || rep.Setup.PanelsCreated+rep.Setup.SensorsCreated != 0 || rep.Sent != 0 {
		t.Errorf("second setup: %v %+v\n%s", err, rep.Setup, stderr)
	}
	p.stop(t)

	// With the server gone, --strict fails and says how many went unanswered.
	rep, _, err = simulate(t, nil, "--sia", siaAddr, "--panels", "2", "--frames", "3", "--rate", "0", "--timeout", "1s", "--strict")
	if err == nil || rep.Sent != 3 || rep.SIA.NoAnswer != 3 || rep.SIA.ACK != 0 {
		t.Errorf("server down: exit %v, %+v", err, rep.SIA)
	}
}

func TestSimulateNeedsABound(t *testing.T) {
	out, err := exec.Command(binary, "simulate", "--duration", "0").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--duration or --frames") {
		t.Errorf("unbounded run accepted: %v %s", err, out)
	}
	out, err = exec.Command(binary, "simulate", "--setup", "--user", "", "--password", "").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--user") {
		t.Errorf("setup without a user accepted: %v %s", err, out)
	}
}
