// Package arch checks that the import graph keeps the shape
// docs/architecture.md describes: every package on its floor, arrows only
// downwards, the forbidden arrows absent, and nothing of the lab in the
// shipped binary on any OS.
package arch

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/streamdoctor/streamdoctor/"

// tables reads docs/architecture.md's two tables: the floors, and the
// arrows that must never exist.
func tables(t *testing.T) (floors map[string]string, never [][2]string) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	floors = map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			section = line
			continue
		}
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		switch {
		case strings.Contains(section, "The parts"):
			floors[ticks(cells[1])[0]] = strings.TrimSpace(cells[2])
		case strings.Contains(section, "must never exist"):
			for _, to := range ticks(cells[2]) {
				never = append(never, [2]string{ticks(cells[1])[0], to})
			}
		}
	}
	if len(floors) < 20 || len(never) < 10 {
		t.Fatalf("docs/architecture.md: read %d floors and %d forbidden arrows; its tables changed shape", len(floors), len(never))
	}
	return floors, never
}

// ticks returns the `quoted` words of a table cell.
func ticks(cell string) []string {
	var out []string
	for i, part := range strings.Split(cell, "`") {
		if i%2 == 1 {
			out = append(out, part)
		}
	}
	return out
}

// goList runs go list in the module's root with GOOS set.
func goList(t *testing.T, goos string, args ...string) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH; the architecture is checked where it is")
	}
	cmd := exec.Command(goBin, append([]string{"list"}, args...)...)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func short(p string) string { return strings.TrimPrefix(p, module) }

func TestEveryPackageOnItsFloorAndArrowsDown(t *testing.T) {
	floors, _ := tables(t)
	for _, line := range goList(t, "linux", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./internal/...", "./cmd/...") {
		f := strings.Fields(line)
		pkg := short(f[0])
		floor, ok := floors[pkg]
		if !ok {
			t.Errorf("%s is not in docs/architecture.md's table of parts: give it a floor", pkg)
			continue
		}
		for _, imp := range f[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := short(imp)
			df, known := floors[dep]
			switch {
			case !known:
				t.Errorf("%s imports %s, which has no floor", pkg, dep)
			case floor == "lab":
			case df == "lab":
				t.Errorf("%s (floor %s) imports the lab's %s", pkg, floor, dep)
			default:
				a, _ := strconv.Atoi(floor)
				b, _ := strconv.Atoi(df)
				if b >= a {
					t.Errorf("%s (floor %d) imports %s (floor %d): arrows point down", pkg, a, dep, b)
				}
			}
		}
	}
}

func TestForbiddenArrows(t *testing.T) {
	_, never := tables(t)
	for _, goos := range []string{"linux", "windows", "darwin"} {
		deps := map[string][]string{}
		for _, arrow := range never {
			from := arrow[0]
			if _, ok := deps[from]; !ok {
				deps[from] = goList(t, goos, "-deps", "./"+from)
			}
			to := arrow[1]
			if !strings.Contains(to, ".") || strings.HasPrefix(to, "internal/") {
				to = module + to
			}
			if slices.ContainsFunc(deps[from], func(d string) bool { return d == to || strings.HasPrefix(d, to+"/") }) {
				t.Errorf("GOOS=%s: %s depends on %s, an arrow docs/architecture.md forbids", goos, from, short(to))
			}
		}
	}
}
