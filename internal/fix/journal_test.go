package fix

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func siteEnv(t *testing.T) (*Env, []string) {
	h, ps := home(t)
	var stores []string
	for _, p := range ps {
		stores = append(stores, p.Cookies)
	}
	return &Env{OS: "linux", Home: h, Journal: &Journal{Dir: t.TempDir()}, Domains: []string{"netflix.com"}, Running: func() map[string]bool { return nil }}, stores
}

// Two fixes in the same second: undo --all takes them back newest first,
// so the original state returns (the old ids, second + random hex, sorted
// as strings, restored in random order: 4 of 10 left every cookie deleted).
func TestUndoAllOrderWithinOneSecond(t *testing.T) {
	for range 10 {
		env, stores := siteEnv(t)
		before := sum(t, stores[0])
		frozen := time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)
		timeNow = func() time.Time { return frozen }
		for range 2 {
			if _, err := planApply(env, "clear_site_data"); err != nil {
				t.Fatal(err)
			}
		}
		timeNow = time.Now
		res, err := UndoAll(context.Background(), env)
		if err != nil || len(res) != 2 || res[0].ID != "0002" || res[1].ID != "0001" {
			t.Fatalf("undo all: %v %+v", err, res)
		}
		if sum(t, stores[0]) != before {
			t.Fatal("after undo --all the store is not as it was before both fixes")
		}
	}
}

func cookieRows(t *testing.T, store, where string) int {
	db, err := sql.Open("sqlite", store)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM cookies WHERE " + where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A cookie written after the fix survives its undo; the deleted ones come back.
func TestUndoKeepsLaterChanges(t *testing.T) {
	env, stores := siteEnv(t)
	en, err := planApply(env, "clear_site_data")
	if err != nil {
		t.Fatal(err)
	}
	db, _ := sql.Open("sqlite", stores[0])
	if _, err := db.Exec(`INSERT INTO cookies VALUES(1,'.bank.example','','later','v',x'','/',1,1,1,1,1,1,1,0,2,443,1,0,0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Undo(context.Background(), env, en.ID); err != nil {
		t.Fatal(err)
	}
	if n := cookieRows(t, stores[0], "host_key = '.bank.example'"); n != 1 {
		t.Errorf("a cookie added after the fix: %d after undo, want 1 (kept)", n)
	}
	if n := cookieRows(t, stores[0], "host_key IN ('netflix.com', '.netflix.com') OR host_key LIKE '%.netflix.com'"); n != 6 {
		t.Errorf("%d netflix cookies after undo, want the 6 deleted", n)
	}
}

// A damaged backup stops the undo before anything is replaced, and side
// files that appeared are not removed either.
func TestUndoChecksTheBackupFirst(t *testing.T) {
	env, stores := siteEnv(t)
	en, err := planApply(env, "clear_site_data")
	if err != nil {
		t.Fatal(err)
	}
	after := sum(t, stores[0])
	os.WriteFile(filepath.Join(en.dir, en.Files[0].Copy), []byte("damaged"), 0o600)
	if _, err := Undo(context.Background(), env, en.ID); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("undo with a damaged backup: %v", err)
	}
	if sum(t, stores[0]) != after {
		t.Error("a failed undo changed the store")
	}
	es, _ := env.Journal.List()
	if es[0].State != Applied {
		t.Errorf("a failed undo left the entry %s", es[0].State)
	}
}

// --all goes on past an entry that fails, and says which.
func TestUndoAllGoesOnPastAFailure(t *testing.T) {
	env, _ := siteEnv(t)
	var ids []string
	for range 3 {
		en, err := planApply(env, "clear_site_data")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, en.ID)
	}
	os.WriteFile(filepath.Join(env.Journal.Dir, ids[1], "entry.json"), []byte(`{"schema":`), 0o600)
	res, err := UndoAll(context.Background(), env)
	if err != nil || len(res) != 3 {
		t.Fatalf("%v %+v", err, res)
	}
	for _, r := range res {
		if (r.Err != nil) != (r.ID == ids[1]) {
			t.Errorf("%s: %v", r.ID, r.Err)
		}
	}
}

// Damaged records are listed as such; a record naming commands (the old
// format, or one edited by hand) never gets them run.
func TestDamagedAndLegacyEntries(t *testing.T) {
	j := &Journal{Dir: t.TempDir()}
	for name, body := range map[string]string{
		"0001":                     `not json`,
		"0002":                     `{"schema":"streamdoctor.journal/v2","id":"0002","fix":"disable_proxy","state":"applied","settings":[{"kind":"gnome_proxy_mode","prev":{"s":"manual; rm -rf ~"},"next":{"s":"none"}}]}`,
		"0003":                     `{"schema":"streamdoctor.journal/v2","id":"0003","fix":"clear_site_data","state":"applied","files":[{"original":"/x","target":"/x","copy":"../../etc/passwd","sha256":"` + strings.Repeat("a", 64) + `"}]}`,
		"20261126-180000-abcd1234": `{"id":"20261126-180000-abcd1234","fix":"disable_proxy","state":"applied","undo_commands":[[]]}`,
	} {
		os.MkdirAll(filepath.Join(j.Dir, name), 0o700)
		os.WriteFile(filepath.Join(j.Dir, name, "entry.json"), []byte(body), 0o600)
	}
	es, err := j.List()
	if err != nil || len(es) != 4 {
		t.Fatalf("%v %d", err, len(es))
	}
	corrupt := 0
	for _, e := range es {
		if e.Corrupt != "" {
			corrupt++
		}
	}
	if corrupt != 3 {
		t.Errorf("%d entries listed as damaged, want 3", corrupt)
	}
	r := &script{}
	res, err := UndoAll(context.Background(), &Env{OS: "linux", Journal: j, Runner: r})
	if err != nil || len(res) != 4 {
		t.Fatalf("%v %+v", err, res)
	}
	for _, x := range res {
		if x.Err == nil {
			t.Errorf("%s undone", x.ID)
		}
	}
	if len(r.ran) != 0 {
		t.Errorf("commands ran from a record: %q", r.ran)
	}
}

// A store reached through a symbolic link: the link stays a link and the
// file it names is restored, with its mode.
func TestSymlinkedStoreAndMode(t *testing.T) {
	env, stores := siteEnv(t)
	real := filepath.Join(t.TempDir(), "Cookies-real")
	b, _ := os.ReadFile(stores[0])
	os.WriteFile(real, b, 0o640)
	os.Remove(stores[0])
	if err := os.Symlink(real, stores[0]); err != nil {
		t.Skip("no symbolic links here")
	}
	before := sum(t, real)
	en, err := planApply(env, "clear_site_data")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Undo(context.Background(), env, en.ID); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(stores[0]); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced by a plain file")
	}
	if sum(t, real) != before {
		t.Error("the linked file is not restored byte-identical")
	}
	if fi, _ := os.Stat(real); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	for _, f := range en.Files {
		if fi, err := os.Stat(filepath.Join(en.dir, f.Copy)); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("backup %s is %v, want 0600", f.Copy, fi.Mode().Perm())
		}
	}
}

func TestUndoRefusesARunningBrowser(t *testing.T) {
	env, _ := siteEnv(t)
	en, err := planApply(env, "clear_site_data")
	if err != nil {
		t.Fatal(err)
	}
	env.Running = func() map[string]bool { return map[string]bool{"chrome": true} }
	if _, err := Undo(context.Background(), env, en.ID); !errors.Is(err, ErrBrowserRunning) {
		t.Errorf("undo with Chrome running: %v", err)
	}
	env.Running = nil
	if _, err := Undo(context.Background(), env, en.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := Undo(context.Background(), env, en.ID); !errors.Is(err, ErrAlreadyUndone) {
		t.Errorf("second undo: %v, want already undone", err)
	}
}

// Concurrent fixes are serialised by the journal's lock, and a run that
// cannot get it in time says so.
func TestOneFixAtATime(t *testing.T) {
	env, _ := siteEnv(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := PlanFix(context.Background(), env, "clear_site_data")
			if err == nil {
				_, err = Apply(context.Background(), env, p)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	es, _ := env.Journal.List()
	applied := 0
	for i, e := range es {
		if e.Corrupt != "" || e.Seq != int64(i+1) {
			t.Errorf("entry %d: %+v", i, e)
		}
		if e.State == Applied {
			applied++
		}
	}
	for _, err := range errs {
		var ch *ChangedError
		if err != nil && !errors.As(err, &ch) {
			t.Errorf("a concurrent fix: %v", err)
		}
	}
	if applied < 1 {
		t.Error("no fix applied")
	}
	unlock, err := env.Journal.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	old := LockWait
	LockWait = 100 * time.Millisecond
	defer func() { LockWait = old }()
	if _, err := planApply(env, "clear_site_data"); !errors.Is(err, ErrBusy) {
		t.Errorf("with the journal locked: %v, want busy", err)
	}
}

// What the person approved runs, or nothing does: a different default
// route since the plan was shown means a different connection, so the
// approved plan is refused and the new one returned.
func TestConsentIsBinding(t *testing.T) {
	answers := map[string]string{
		"nmcli -t -f NAME,UUID,TYPE,DEVICE connection show --active": "Home:5b3f2a1c-0000-4000-8000-000000000004:802-11-wireless:wlan0\nCable:5b3f2a1c-0000-4000-8000-000000000005:802-3-ethernet:eth0\n",
		"ip -4 route show default":                                   "default via 192.168.1.1 dev wlan0 metric 600\n",
	}
	r := &script{answers: answers}
	env := &Env{OS: "linux", Runner: r, DNSServers: []string{"1.1.1.1"}, Journal: &Journal{Dir: t.TempDir()}}
	plan, err := PlanFix(context.Background(), env, "change_dns")
	if err != nil {
		t.Fatal(err)
	}
	answers["ip -4 route show default"] = "default via 10.0.0.1 dev eth0 metric 100\n"
	r.ran = nil
	_, err = Apply(context.Background(), env, plan)
	var ch *ChangedError
	if !errors.As(err, &ch) || !strings.Contains(strings.Join(ch.Now.Changes, " "), `"Cable"`) {
		t.Fatalf("apply after the route moved: %v", err)
	}
	for _, c := range r.ran {
		if c[0] == "nmcli" && len(c) > 1 && c[1] == "connection" && c[2] != "show" {
			t.Errorf("a change ran: %q", c)
		}
	}
}

func TestSplitNMTerse(t *testing.T) {
	got := SplitNMTerse(`My\:Net\\work:5b3f2a1c-0000-4000-8000-000000000004:802-11-wireless:wlan0`)
	want := []string{`My:Net\work`, "5b3f2a1c-0000-4000-8000-000000000004", "802-11-wireless", "wlan0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%q, want %q", got, want)
	}
}

func TestShellQuote(t *testing.T) {
	got := ShellQuote([]string{"nmcli", "connection", "modify", "Home Wi-Fi", "ipv4.dns", "8.8.8.8 8.8.4.4", "it's"})
	want := `nmcli connection modify 'Home Wi-Fi' ipv4.dns '8.8.8.8 8.8.4.4' 'it'\''s'`
	if got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
}

// Backups of an undone change go BackupDays later; the history stays.
func TestBackupsDeletedAfterUndo(t *testing.T) {
	env, _ := siteEnv(t)
	en, err := planApply(env, "clear_site_data")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Undo(context.Background(), env, en.ID); err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(en.dir, en.Files[0].Copy)
	if _, err := os.Stat(copyPath); err != nil {
		t.Fatal("backup gone at once")
	}
	timeNow = func() time.Time { return time.Now().Add((BackupDays + 1) * 24 * time.Hour) }
	defer func() { timeNow = time.Now }()
	env.Journal.prune(timeNow())
	if _, err := os.Stat(copyPath); !errors.Is(err, os.ErrNotExist) {
		t.Error("backup kept past BackupDays after the undo")
	}
	if es, _ := env.Journal.List(); len(es) != 1 || !es[0].Pruned || es[0].State != Undone {
		t.Errorf("history after pruning: %+v", es)
	}
}

func FuzzParseEntry(f *testing.F) {
	f.Add([]byte(`{"schema":"streamdoctor.journal/v2","seq":1,"id":"0001","fix":"disable_proxy","state":"applied","settings":[{"kind":"gnome_proxy_mode","prev":{"s":"manual"},"next":{"s":"none"}}]}`), "0001")
	f.Add([]byte(`{"id":"x","fix":"flush_dns","state":"applied","undo_commands":[[]]}`), "x")
	f.Add([]byte(`{"schema":"streamdoctor.journal/v2","id":"0002","fix":"clear_site_data","state":"prepared","files":[{"original":"/a","target":"/a","copy":"backup-0-a","sha256":"`+strings.Repeat("0", 64)+`"}]}`), "0002")
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		e, err := ParseEntry(b, name)
		if err != nil {
			return
		}
		for _, s := range e.Settings {
			if _, err := s.Commands(s.Prev); err != nil {
				t.Fatalf("accepted a setting undo cannot build: %v", err)
			}
		}
		for _, fb := range e.Files {
			if strings.ContainsAny(fb.Copy, `/\`) || fb.Copy == ".." {
				t.Fatalf("accepted a backup outside the entry: %q", fb.Copy)
			}
		}
	})
}

// An approved plan saved and read back (a resumed session, a web page)
// still runs: empty lists read back as none and are the same plan.
func TestApprovedPlanSurvivesSaving(t *testing.T) {
	answers := map[string]string{
		"nmcli -t -f NAME,UUID,TYPE,DEVICE connection show --active": "Home:5b3f2a1c-0000-4000-8000-000000000004:802-11-wireless:wlan0\n",
		"ip -4 route show default":                                   "default via 192.168.1.1 dev wlan0\n",
	}
	env := &Env{OS: "linux", Runner: &script{answers: answers}, DNSServers: []string{"1.1.1.1"}, Journal: &Journal{Dir: t.TempDir()}}
	plan, err := PlanFix(context.Background(), env, "change_dns")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(plan)
	var back Plan
	json.Unmarshal(b, &back)
	if _, err := Apply(context.Background(), env, back); err != nil {
		t.Fatalf("the saved plan was refused: %v", err)
	}
}

// Windows commands are shown as cmd.exe takes them: double quotes, not a
// POSIX shell's single quotes (cmd.exe would pass those on as part of the
// word), and read back word for word by the program's own parser.
func TestWindowsQuote(t *testing.T) {
	got := CommandLine("windows", []string{"reg", "add", `HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings`, "/v", "ProxyEnable", "/t", "REG_DWORD", "/d", "0", "/f"})
	want := `reg add "HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings" /v ProxyEnable /t REG_DWORD /d 0 /f`
	if got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
	got = CommandLine("windows", []string{"netsh", "interface", "ip", "set", "dns", `name=Wi-Fi 2`, "static", "8.8.8.8"})
	if want := `netsh interface ip set dns "name=Wi-Fi 2" static 8.8.8.8`; got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
	for in, want := range map[string]string{
		`say "hi"`:   `"say \"hi\""`,
		`C:\dir\`:    `C:\dir\`,
		`C:\my dir\`: `"C:\my dir\\"`,
		`a\"b`:       `"a\\\"b"`,
		"":           `""`,
		"a&b":        `"a&b"`,
	} {
		if got := WindowsQuote([]string{in}); got != want {
			t.Errorf("WindowsQuote(%q) = %s, want %s", in, got, want)
		}
	}
	if got := CommandLine("linux", []string{"nmcli", "connection", "modify", "Home Wi-Fi"}); got != `nmcli connection modify 'Home Wi-Fi'` {
		t.Errorf("linux: %s", got)
	}
}
