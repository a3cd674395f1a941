package main

import (
	"context"
	"flag"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/runner"
)

// The VM count and make's -j are separate flags of every command that
// runs cases; neither needs a kernel to be parsed.
func TestVMsFlagIsNotMakeJobs(t *testing.T) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var rf runFlags
	rf.register(fs)
	require.NoError(t, fs.Parse([]string{"--vms", "2", "-j", "3"}))
	assert.Equal(t, 2, rf.vms)
	assert.Equal(t, 3, rf.jobs)

	fs = flag.NewFlagSet("run", flag.ContinueOnError)
	rf = runFlags{}
	rf.register(fs)
	require.NoError(t, fs.Parse(nil))
	assert.Equal(t, runner.DefaultVMs, rf.vms)
}

func TestVMsFlagRejectsNoVMs(t *testing.T) {
	for _, n := range []string{"0", "-1"} {
		fs := flag.NewFlagSet("run", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var rf runFlags
		rf.register(fs)
		require.NoError(t, fs.Parse([]string{"--vms", n}))
		_, err := rf.options(context.Background(), "test")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "--vms: "+n+" is not a number of VMs")
	}
}

// --case-timeout reaches the runner, where vmtest's watchdog reads it.
func TestCaseTimeoutFlagReachesTheRunner(t *testing.T) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var rf runFlags
	rf.register(fs)
	require.NoError(t, fs.Parse([]string{"--case-timeout", "7s", "--out", t.TempDir()}))
	o, err := rf.options(context.Background(), "test")
	require.NoError(t, err)
	assert.Equal(t, 7*time.Second, o.CaseTimeout)
}

// --cases takes names and globs over the catalogue and the races outside
// the default run; a word matching nothing is an error that names it.
func TestSelectCases(t *testing.T) {
	cs, err := selectCases("gfs2-*,race-long-write-over-dirty-tail-delalloc,gfs2-jdata-partial-writes")
	require.NoError(t, err)
	names := map[string]int{}
	for _, c := range cs {
		names[c.Name]++
	}
	assert.Equal(t, 1, names["race-long-write-over-dirty-tail-delalloc"], "a --races race is named too")
	assert.Equal(t, 1, names["gfs2-jdata-partial-writes"], "named and globbed, listed once")
	assert.Greater(t, len(cs), 10)
	_, err = selectCases("gfs2-*,nope*")
	assert.ErrorContains(t, err, `no case named or matching "nope*"`)
	_, err = selectCases("[")
	assert.ErrorContains(t, err, "bad pattern")
}
