//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Ctrl-C during a check stops it: exit 130, one line saying so, and no
// verdict built from probes the interrupt cut short.
func TestCheckInterruptedExits130(t *testing.T) {
	bin := buildBinary(t)
	w := world(t, "outage-blackhole.yaml") // silent connects keep the check busy for seconds
	f := filepath.Join(t.TempDir(), "env.json")
	b, _ := json.Marshal(w.EnvFile())
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "--env-file", f, "--json"}, {"check", "--env-file", f}} {
		interruptAfter(t, 700*time.Millisecond, bin, args...)
	}
}

// A bad STREAMDOCTOR_* variable is a usage error that names it.
func TestBadEnvironmentVariables(t *testing.T) {
	for _, c := range []struct{ name, val, want string }{
		{"STREAMDOCTOR_PUBLIC_DNS", "nine.nine", "STREAMDOCTOR_PUBLIC_DNS"},
		{"STREAMDOCTOR_PUBLIC_DNS", "9.9.9.9:99999", "port"},
		{"STREAMDOCTOR_DOH_URL", "http://9.9.9.9/dns-query", "https"},
		{"STREAMDOCTOR_PUBLIC_ROOTS", "/does/not/exist.pem", "PEM"},
	} {
		t.Run(c.name+"="+c.val, func(t *testing.T) {
			t.Setenv(c.name, c.val)
			r := cli(t, nil, "check")
			if r.code != ExitUsage || !strings.Contains(r.errOut, c.want) || strings.Count(strings.TrimSpace(r.errOut), "\n") != 0 {
				t.Errorf("exit %d, %q", r.code, r.errOut)
			}
		})
	}
}

// The same for the speed test: a server that trickles keeps it measuring.
func TestSpeedInterruptedExits130(t *testing.T) {
	bin := buildBinary(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fl, _ := w.(http.Flusher)
		for i := 0; i < 200 && r.Context().Err() == nil; i++ {
			_, _ = w.Write(make([]byte, 1024))
			if fl != nil {
				fl.Flush()
			}
			time.Sleep(50 * time.Millisecond)
		}
	}))
	defer srv.Close()
	interruptAfter(t, 1200*time.Millisecond, bin, "speed", "--server", srv.URL+"/speedtest")
}

// interruptAfter starts the binary, sends SIGINT after d and expects exit
// 130, nothing on stdout and one line on stderr saying it was interrupted.
func interruptAfter(t *testing.T, d time.Duration, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != ExitInterrupted {
		t.Fatalf("%v: %v, want exit 130\nstdout %q\nstderr %q", args, err, out.String(), errOut.String())
	}
	if out.Len() != 0 {
		t.Errorf("%v: a verdict was printed after the interrupt: %q", args, out.String())
	}
	if !strings.Contains(errOut.String(), "interrupted") || strings.Count(strings.TrimSpace(errOut.String()), "\n") != 0 {
		t.Errorf("%v: stderr %q, want one line saying it was interrupted", args, errOut.String())
	}
}

// speed serve stops on the first Ctrl-C, promptly, even with a download
// and an upload in flight (it was ignored 4 times in 14).
func TestSpeedServeStopsOnFirstInterrupt(t *testing.T) {
	bin := buildBinary(t)
	for i := range 10 {
		cmd := exec.Command(bin, "speed", "serve", "--listen", "127.0.0.1:0")
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		_, after, _ := strings.Cut(line, "http://")
		base := "http://" + strings.Fields(after)[0]
		go func() {
			if resp, err := http.Get(base + "/range/0-268435455"); err == nil {
				buf := make([]byte, 1024)
				for {
					time.Sleep(10 * time.Millisecond)
					if _, err := resp.Body.Read(buf); err != nil {
						break
					}
				}
				resp.Body.Close()
			}
		}()
		go func() {
			r, w := io.Pipe()
			go func() { w.Write(make([]byte, 1<<20)); time.Sleep(5 * time.Second); w.Close() }()
			if resp, err := http.Post(base+"/range/0-268435455", "application/octet-stream", r); err == nil {
				resp.Body.Close()
			}
		}()
		time.Sleep(200 * time.Millisecond)
		start := time.Now()
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("run %d: stopped %v after Ctrl-C", i, took)
			}
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("run %d: still running 5 s after Ctrl-C", i)
		}
	}
}

// streamdoctor web prints the address to open as its first line, serves
// the page there, and stops on Ctrl-C.
func TestWebPrintsTheURLFirst(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "web", "--no-browser")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "http://127.0.0.1:") || !strings.Contains(line, "/?token=") {
		cmd.Process.Kill()
		t.Fatalf("first line %q is not the address", line)
	}
	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar, Timeout: 5 * time.Second}).Get(line)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Checking…") {
		t.Errorf("the address gave HTTP %d", resp.StatusCode)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("web did not stop on Ctrl-C")
	}
}

// Started with no arguments (a double-click in Explorer or Finder), the
// binary opens the page: its first line is the address.
func TestNoArgumentsOpensThePage(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=/nonexistent", "HOME=" + t.TempDir()} // no browser to start here
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	_ = cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if !strings.HasPrefix(line, "http://127.0.0.1:") || !strings.Contains(line, "/?token=") {
		t.Errorf("first line %q", line)
	}
}

// The browser is started on a launch file, never on the address: no
// command line (ps shows every user's) carries the token. The file is the
// user's alone, forwards to the address, opens the page once, and is gone
// once used.
func TestWebOpensThroughALaunchFile(t *testing.T) {
	bin := buildBinary(t)
	pathDir, runDir := t.TempDir(), t.TempDir()
	argv := filepath.Join(t.TempDir(), "argv")
	// A stand-in for xdg-open that only writes down what it was started with.
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + argv + "\n"
	if err := os.WriteFile(filepath.Join(pathDir, "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "web")
	cmd.Env = []string{"PATH=" + pathDir + ":/usr/bin:/bin", "HOME=" + t.TempDir(), "XDG_RUNTIME_DIR=" + runDir, "DISPLAY=:0"}
	out, _ := cmd.StdoutPipe()
	var errOut strings.Builder
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, _ := bufio.NewReader(out).ReadString('\n')
	link := strings.TrimSpace(line)
	var args string
	for range 100 {
		if b, err := os.ReadFile(argv); err == nil && len(b) > 0 {
			args = strings.TrimSpace(string(b))
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if args == "" {
		t.Fatalf("the browser was not started; stderr %q", errOut.String())
	}
	if strings.Contains(args, "token") || strings.Contains(args, "http") {
		t.Fatalf("the browser's command line carries the address: %q", args)
	}
	args = strings.TrimPrefix(args, "file://")
	if filepath.Dir(args) != runDir {
		t.Errorf("launch file %s is not in the runtime folder %s", args, runDir)
	}
	fi, err := os.Stat(args)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("launch file mode %v, want 0600", fi.Mode().Perm())
	}
	page, _ := os.ReadFile(args)
	if !strings.Contains(string(page), html.EscapeString(link)) {
		t.Fatalf("launch file does not forward to %s:\n%s", link, page)
	}
	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar, Timeout: 5 * time.Second}).Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the forwarded address gave HTTP %d", resp.StatusCode)
	}
	if _, err := os.Stat(args); !os.IsNotExist(err) {
		t.Errorf("the launch file is still there after its token was used (%v)", err)
	}
	// The token opens the page once: a second browser (no cookie) is refused.
	resp, err = (&http.Client{Timeout: 5 * time.Second}).Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("the used token gave HTTP %d to a second browser, want 403", resp.StatusCode)
	}
}
