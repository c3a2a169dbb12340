// Package labtest starts fault-lab worlds from the repository's scenario
// files, for the tests of other packages.
package labtest

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/streamdoctor/streamdoctor/internal/lab"
)

// Dir is the repository's scenarios/ folder.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "scenarios")
}

// Scenario loads scenarios/file.
func Scenario(tb testing.TB, file string) *lab.Scenario {
	tb.Helper()
	sc, err := lab.LoadFile(filepath.Join(Dir(), file))
	if err != nil {
		tb.Fatal(err)
	}
	return sc
}

// World starts scenarios/file's world, closed when the test ends.
func World(tb testing.TB, file string) *lab.World {
	tb.Helper()
	w, err := lab.Start(Scenario(tb, file))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(w.Close)
	return w
}
