package main

import (
	"context"
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
)

// --no-races drops the core races of the default catalogue and refuses
// to be combined with the flags that add races.
func TestNoRacesFlag(t *testing.T) {
	var rf runFlags
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	rf.register(fs)
	require.NoError(t, fs.Parse([]string{"--no-races", "--fs", "xfs", "--bs", "4096", "--out", t.TempDir()}))
	opts, err := rf.options(context.Background(), "t")
	require.NoError(t, err)
	for _, c := range opts.Cases {
		assert.Nil(t, c.Race, c.Name)
	}
	assert.Less(t, len(opts.Cases), len(cases.Catalogue))

	rf = runFlags{}
	fs = flag.NewFlagSet("run", flag.ContinueOnError)
	rf.register(fs)
	require.NoError(t, fs.Parse([]string{"--no-races", "--races"}))
	_, err = rf.options(context.Background(), "t")
	require.ErrorContains(t, err, "--no-races contradicts")
}
