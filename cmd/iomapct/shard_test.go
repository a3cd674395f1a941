package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/judge"
	"github.com/iomapct/iomapct/runner"
)

// runCLI runs the built command from the repository root and returns its
// stdout, stderr and exit code.
func runCLI(t *testing.T, bin, root string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return stdout.String(), stderr.String(), code
}

// TestShardsMergeLikeOneRun runs the full matrix with 50 random sequences
// per filesystem once whole and once as four shards, each a process of its
// own booting the kernel exported once (as CI jobs do), and holds the
// merged verdicts to the whole run's. A merge missing a shard must fail
// and name it.
func TestShardsMergeLikeOneRun(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds (or reuses) and boots the kernel five times")
	}
	bin, root := buildCLI(t)
	dir := t.TempDir()
	kdir := filepath.Join(dir, "kernel")
	_, stderr, code := runCLI(t, bin, root, "build", "--export", kdir)
	require.Equal(t, exitPass, code, "%s", stderr)

	verdicts := func(jsonReport string) map[string]runner.Verdict {
		var r runner.Report
		require.NoError(t, json.Unmarshal([]byte(jsonReport), &r))
		m := map[string]runner.Verdict{}
		for _, v := range r.Verdicts {
			k := v.Disk + " " + v.Case
			require.NotContains(t, m, k, "verdict %s twice", k)
			m[k] = v
		}
		return m
	}
	common := []string{"--kernel", kdir, "--random", "50", "--format", "json"}
	whole, stderr, code := runCLI(t, bin, root, append([]string{"run", "--shard", "none", "--out", filepath.Join(dir, "whole")}, common...)...)
	require.Contains(t, []int{exitPass, exitFail}, code, "%s", stderr)
	var shards []string
	for i := range 4 {
		out := filepath.Join(dir, fmt.Sprintf("shard-%d", i))
		_, stderr, code := runCLI(t, bin, root, append([]string{"run", "--shard", fmt.Sprintf("%d/4", i), "--out", out}, common...)...)
		require.Contains(t, []int{exitPass, exitFail}, code, "shard %d:\n%s", i, stderr)
		assert.Contains(t, stderr, fmt.Sprintf("shard %d/4:", i))
		shards = append(shards, out)
	}
	merged, stderr, code := runCLI(t, bin, root, append([]string{"merge", "--format", "json"}, shards...)...)
	require.Contains(t, []int{exitPass, exitFail}, code, "%s", stderr)

	want, got := verdicts(whole), verdicts(merged)
	require.Greater(t, len(want), 1000, "the full matrix with --random 50")
	flaky := map[string]bool{}
	for _, f := range judge.Findings {
		flaky[f.ID] = f.Flaky
	}
	// A flaky finding (its bytes come from recycled memory) may show in one
	// run and not the other, exactly as compare's "~" rows; nothing else
	// may differ.
	status := func(v runner.Verdict) string {
		id, _, _ := strings.Cut(v.Finding, ":")
		if v.Status == runner.Known && flaky[id] {
			return "PASS or flaky " + id
		}
		if v.Status == runner.Pass {
			return "PASS"
		}
		return string(v.Status) + " " + v.Finding
	}
	diff := 0
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: in the whole run (%s), missing from the merge", k, w.Status)
			continue
		}
		ws, gs := status(w), status(g)
		if ws != gs && !(strings.HasPrefix(ws, "PASS") && strings.HasPrefix(gs, "PASS")) {
			diff++
			t.Errorf("%s: whole run %s, shards %s", k, ws, gs)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: in the merge only", k)
		}
	}
	assert.Zero(t, diff)
	assert.Empty(t, cmp.Diff(len(want), len(got)))

	// The whole run's plan and the shards' are one.
	_, stderr, code = runCLI(t, bin, root, append([]string{"merge"}, shards[:3]...)...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "shard(s) 3 of 4 missing")
}
