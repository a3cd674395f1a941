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
