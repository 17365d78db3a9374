package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shequ/shequ/shequtest"
)

// binary builds shequ once for the tests of this package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shequ-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "shequ")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type proc struct {
	cmd    *exec.Cmd
	out    *shequtest.Buffer
	stdout *shequtest.Buffer
	addr   string
	done   chan error
}

// start runs "shequ serve" and waits until it answers /readyz.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{out: &shequtest.Buffer{}, stdout: &shequtest.Buffer{}, done: make(chan error, 1)}
	// A port of its own for the SIA receiver, so that servers never collide.
	p.cmd = exec.Command(binary, append([]string{"serve", "--sia", "127.0.0.1:0"}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr, p.cmd.Stdout = p.out, p.stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	// A deadline, not a count of polls: on a loaded machine (CI runs
	// packages side by side) a start with the demo takes several seconds.
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); {
		if s := p.out.String(); strings.Contains(s, "shequ is serving") {
			line := s[strings.Index(s, "url=http://")+len("url=http://"):]
			p.addr = strings.TrimSuffix(strings.Fields(line)[0], "/")
			resp, err := http.Get("http://" + p.addr + "/readyz")
			if err == nil && resp.StatusCode == 200 {
				resp.Body.Close()
				return p
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("shequ exited: %v\n%s", err, p.out)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("shequ did not become ready:\n%s", p.out)
	return nil
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.out)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit 20 s after SIGTERM\n%s", p.out)
	}
}

func (p *proc) login(t *testing.T, user, password string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	resp, err := http.Post("http://"+p.addr+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestServeDemoTwiceAndShutDownCleanly(t *testing.T) {
	data := t.TempDir()
	env := []string{"SHEQU_DEMO_PASSWORD=demo-password-1", "SHEQU_ADMIN_PASSWORD=admin-password-1"}
	p := start(t, env, "--demo", "--data", data, "--http", "127.0.0.1:0")
	if !strings.Contains(p.out.String(), "demo community loaded") {
		t.Fatalf("first start did not load the demo:\n%s", p.out)
	}
	// The new store's migrations and the demo were written by processes
	// of their own, whose memory went when they exited (issue 13).
	for _, c := range []string{"migrate", "demo"} {
		if !strings.Contains(p.out.String(), `msg="start-up work done aside" node=`) || !strings.Contains(p.out.String(), "command="+c) {
			t.Errorf("first start: no %q done aside:\n%s", c, p.out)
		}
	}
	if p.login(t, "operator", "demo-password-1") != 200 || p.login(t, "admin", "admin-password-1") != 200 {
		t.Fatal("demo or admin account cannot sign in")
	}
	p.stop(t)
	if !strings.Contains(p.out.String(), "store closed") {
		t.Errorf("no clean close:\n%s", p.out)
	}
	if fi, err := os.Stat(filepath.Join(data, "shequ.db-wal")); err == nil && fi.Size() > 0 {
		t.Errorf("WAL not checkpointed on shutdown: %d bytes", fi.Size())
	}

	// A second start on the same data neither duplicates the demo nor
	// changes the password unless asked.
	p = start(t, []string{"SHEQU_DEMO_PASSWORD="}, "--demo", "--data", data, "--http", "127.0.0.1:0")
	if !strings.Contains(p.out.String(), "demo community already loaded") {
		t.Errorf("second start:\n%s", p.out)
	}
	if strings.Contains(p.out.String(), "done aside") {
		t.Errorf("second start: work done aside on a migrated store with the demo:\n%s", p.out)
	}
	if p.login(t, "operator", "demo-password-1") != 200 {
		t.Error("second start changed the demo password")
	}
	p.stop(t)
}

func TestRandomDemoPasswordIsPrintedOnce(t *testing.T) {
	data := t.TempDir()
	p := start(t, []string{"SHEQU_DEMO_PASSWORD="}, "--demo", "--data", data, "--http", "127.0.0.1:0")
	var password string
	sc := bufio.NewScanner(strings.NewReader(p.stdout.String()))
	for sc.Scan() {
		if _, after, ok := strings.Cut(sc.Text(), "share the password: "); ok {
			password = after
		}
	}
	if password == "" || p.login(t, "resident01", password) != 200 {
		t.Fatalf("printed password %q does not work; stdout:\n%s", password, p.stdout)
	}
	if strings.Contains(p.out.String(), password) {
		t.Error("the demo password went to the log")
	}
	p.stop(t)
	p = start(t, []string{"SHEQU_DEMO_PASSWORD="}, "--demo", "--data", data, "--http", "127.0.0.1:0")
	if strings.Contains(p.stdout.String(), "password") {
		t.Error("the password was printed again")
	}
	p.stop(t)
}

func TestFlagWinsOverEnvironment(t *testing.T) {
	envData, flagData := t.TempDir(), t.TempDir()
	addr := freeAddr(t)
	p := start(t, []string{"SHEQU_DATA=" + envData, "SHEQU_HTTP=127.0.0.1:1"}, "--data", flagData, "--http", addr)
	if p.addr != addr {
		t.Errorf("listening on %s, want the flag's %s", p.addr, addr)
	}
	p.stop(t)
	if _, err := os.Stat(filepath.Join(flagData, "shequ.db")); err != nil {
		t.Errorf("flag's data directory unused: %v", err)
	}
	if _, err := os.Stat(filepath.Join(envData, "shequ.db")); err == nil {
		t.Error("environment's data directory used despite the flag")
	}
	// Without the flag the environment counts.
	p = start(t, []string{"SHEQU_DATA=" + envData}, "--http", "127.0.0.1:0")
	p.stop(t)
	if _, err := os.Stat(filepath.Join(envData, "shequ.db")); err != nil {
		t.Errorf("environment's data directory unused: %v", err)
	}
}

func TestServeHelpDocumentsEverySetting(t *testing.T) {
	out, _ := exec.Command(binary, "serve", "--help").CombinedOutput()
	for _, want := range []string{"-data", "SHEQU_DATA", "-db", "SHEQU_DB", "-http", "SHEQU_HTTP", "-demo", "-key", "SHEQU_KEY", "-key-file", "-log-level", "-secure-cookies", "-trust-proxy", "-sia", "SHEQU_SIA", "-sia-max-conns-per-addr", "SHEQU_SIA_MAX_CONNS_PER_ADDR", "-sia-idle-timeout", "SHEQU_SIA_IDLE_TIMEOUT", "-sia-frame-timeout", "SHEQU_SIA_FRAME_TIMEOUT", "-node", "SHEQU_NODE", "-mqtt", "-mqtt-listen", "-mqtt-client-id", "SHEQU_MQTT_CLIENT_ID", "-sms"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("serve --help lacks %s:\n%s", want, out)
		}
	}
}

func TestUserCommand(t *testing.T) {
	data := t.TempDir()
	run := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(binary, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run([]string{"SHEQU_PASSWORD=first-password-1"}, "user", "add", "--data", data, "--username", "ops2", "--role", "admin"); err != nil {
		t.Fatalf("add: %v\n%s", err, out)
	}
	if out, err := run(nil, "user", "add", "--data", data, "--username", "bad", "--role", "operator"); err == nil {
		t.Errorf("operator without a community accepted:\n%s", out)
	}
	if out, err := run([]string{"SHEQU_PASSWORD=second-password-2"}, "user", "passwd", "--data", data, "--username", "ops2"); err != nil {
		t.Fatalf("passwd: %v\n%s", err, out)
	}
	out, err := run(nil, "user", "list", "--data", data)
	if err != nil || !strings.Contains(out, "ops2") || !strings.Contains(out, "admin") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	p := start(t, nil, "--data", data, "--http", "127.0.0.1:0")
	if p.login(t, "ops2", "first-password-1") != 401 || p.login(t, "ops2", "second-password-2") != 200 {
		t.Error("passwd did not take")
	}
	p.stop(t)
	if out, err := run(nil, "version"); err != nil || !strings.HasPrefix(out, "shequ ") {
		t.Errorf("version: %v %s", err, out)
	}
}

// TestMQTTClientIDPerNode: the client id given is the one shequ presents
// at the broker; without one, each host has its own.
func TestMQTTClientIDPerNode(t *testing.T) {
	given := (&alarmCentre{cfg: alarmConfig{mqttURL: "tcp://127.0.0.1:1883", mqttClientID: "shequ-node-b"}}).mqttConfig()
	if given.ClientID != "shequ-node-b" {
		t.Errorf("client id %q, want the flag's", given.ClientID)
	}
	if d := (&alarmCentre{}).mqttConfig(); d.ClientID != "shequ-"+thisNode {
		t.Errorf("default client id %q, want shequ-%s (the node's name)", d.ClientID, thisNode)
	}
}
