package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/runner"
)

// buildCLI compiles this command into a temporary directory and returns
// the binary and the repository root the tests run it from.
func buildCLI(t *testing.T) (bin, root string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	bin = filepath.Join(t.TempDir(), "iomapct")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin, root
}

// runForReport runs `iomapct run` with args plus --out in a new directory,
// requires exit status want, and returns the report the run wrote, keyed
// by case (the planted-bug tests read verdicts, not stdout).
func runForReport(t *testing.T, bin, root string, want int, args ...string) map[string]runner.Verdict {
	t.Helper()
	out := filepath.Join(t.TempDir(), "run")
	stdout, stderr, code := runCLI(t, bin, root, append(append([]string{"run"}, args...), "--out", out)...)
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Equal(t, want, code, "exit status of iomapct run %v", args)
	_, byCase := readReport(t, out)
	return byCase
}

// readReport reads the report.json of the run directory out, and its
// verdicts keyed by case.
func readReport(t *testing.T, out string) (runner.Report, map[string]runner.Verdict) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "report.json"))
	require.NoError(t, err, "report.json is written")
	var rep runner.Report
	require.NoError(t, json.Unmarshal(data, &rep))
	byCase := map[string]runner.Verdict{}
	for _, v := range rep.Verdicts {
		byCase[v.Case] = v
	}
	return rep, byCase
}
