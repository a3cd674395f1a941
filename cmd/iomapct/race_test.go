package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/runner"
)

// plantedRaceCases are the races that must catch the planted stale-mapping
// bug: a long write whose cached mapping goes stale under writeback.
var plantedRaceCases = []string{"race-long-write-over-dirty-tail", "race-long-write-over-dirty-tail-delalloc"}

// runRaces runs the CLI on xfs-4k with --repeat and returns its exit code
// and report.
func runRaces(t *testing.T, bin, root string, repeat string, args ...string) (int, runner.Report) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(bin, append([]string{"run", "--fs", "xfs", "--bs", "4096", "--vms", "1",
		"--repeat", repeat, "--cases", strings.Join(plantedRaceCases, ","), "--out", out}, args...)...)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	data, err := os.ReadFile(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	var rep runner.Report
	require.NoError(t, json.Unmarshal(data, &rep))
	return code, rep
}

// TestPlantedStaleMappingRaceIsCaught runs the planted race
// (runner/testdata/planted-races/stale-iomap: iomap_write_begin never asks
// ->iomap_valid, the check xfs needs since 6.2) on the real kernel, each
// races ten times in one boot: at least nine of the ten runs must fail,
// and for the planted reason (zeroes where the dirtied block's bytes must
// be, found by the race checker, not a kernel report); each race on its
// own in at least half. The unpatched kernel passes the same races.
func TestPlantedStaleMappingRaceIsCaught(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a planted kernel and boots it twice")
	}
	bin, root := buildCLI(t)

	code, rep := runRaces(t, bin, root, "3", "--revision", "baseline")
	require.Equal(t, exitPass, code, "the unpatched kernel passes the races")
	for _, v := range rep.Verdicts {
		assert.Equal(t, runner.Pass, v.Status, "%s", v.Line())
	}

	code, rep = runRaces(t, bin, root, "10", "--revision", "planted-stale",
		"--series", filepath.Join("runner", "testdata", "planted-races", "stale-iomap"))
	require.Equal(t, exitFail, code)
	// caught[c] counts the runs in which race c caught the plant; a run
	// (repetition k: case, case@2, ...) caught it if either race did.
	caught := map[string]int{}
	runs := map[string]bool{}
	for _, v := range rep.Verdicts {
		if v.Case == "(unmount+fsck)" {
			continue
		}
		base, k, _ := strings.Cut(v.Case, "@")
		for _, f := range v.Failures {
			if f.Check == "content" && strings.Contains(f.Msg, "got 00 00") {
				caught[base]++
				runs[k] = true
				break
			}
		}
	}
	t.Logf("runs that caught the plant: %d of 10; per race: %v", len(runs), caught)
	assert.GreaterOrEqual(t, len(runs), 9, "the planted stale mapping was caught in %d of 10 runs", len(runs))
	for _, c := range plantedRaceCases {
		assert.GreaterOrEqual(t, caught[c], 5, "%s caught the planted stale mapping in only %d of 10 runs", c, caught[c])
	}
}
