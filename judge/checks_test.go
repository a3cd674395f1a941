package judge

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/iomapct/iomapct/cases"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every Finding names checks a verdict can carry and catalogue cases that
// exist: a finding that misspells one silently covers nothing.
func TestFindingsNameRealChecks(t *testing.T) {
	for _, f := range Findings {
		assert.NotEmpty(t, f.Checks, "finding %s lists no checks", f.ID)
		for _, c := range f.Checks {
			assert.True(t, IsCheck(Check(c)), "finding %s names check %q, which is not in judge.Checks", f.ID, c)
		}
		for _, name := range f.Cases {
			_, ok := cases.Lookup(name)
			assert.True(t, ok, "finding %s names case %q, which is not in the catalogue", f.ID, name)
		}
	}
}

// The list has no duplicates and every name the judging code can produce
// is in it (the judge test tables below make each fail).
func TestChecksAreUnique(t *testing.T) {
	seen := map[Check]bool{}
	for _, c := range Checks {
		assert.False(t, seen[c.Name], "check %q listed twice", c.Name)
		seen[c.Name] = true
		assert.NotEmpty(t, c.Doc, c.Name)
	}
	assert.False(t, IsCheck("contents"))
}

// Every check name the judge's code, and runner's (the crash pipeline
// judges crash points), spells out is in Checks (the call sites pass
// untyped constants or literals, which the compiler cannot hold to the
// list).
func TestCodeUsesOnlyListedChecks(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	runner, err := filepath.Glob("../runner/*.go")
	require.NoError(t, err)
	require.NotEmpty(t, runner)
	files = append(files, runner...)
	race, err := filepath.Glob("../reference/race/*.go") // its Problems become failures (concurrent.go)
	require.NoError(t, err)
	require.NotEmpty(t, race)
	files = append(files, race...)
	use := regexp.MustCompile(`(\w+)\.(?:Failf|Errorf)\("([^"]*)"|Check: "([^"]*)"`)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range use.FindAllStringSubmatch(string(b), -1) {
			if m[1] == "fmt" {
				continue // fmt.Errorf, not a verdict's
			}
			name := m[2] + m[3]
			n++
			assert.True(t, IsCheck(Check(name)), "%s uses check %q, which is not in judge.Checks", f, name)
		}
	}
	assert.Greater(t, n, 10, "the pattern found the call sites")
}
