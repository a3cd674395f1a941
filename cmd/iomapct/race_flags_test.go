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

// --races with --cases runs the races the list names, not every race: the
// list reaches the race catalogue on its own.
func TestRacesWithCasesRunsOnlyTheNamedRaces(t *testing.T) {
	named := cases.RaceCatalogue[len(cases.RaceCatalogue)-1].Name
	for _, args := range [][]string{
		{"--races", "--cases", named},
		{"--cases", named},
	} {
		var rf runFlags
		fs := flag.NewFlagSet("run", flag.ContinueOnError)
		rf.register(fs)
		require.NoError(t, fs.Parse(append(args, "--fs", "xfs", "--bs", "4096", "--out", t.TempDir())))
		opts, err := rf.options(context.Background(), "t")
		require.NoError(t, err)
		var names []string
		for _, c := range opts.Cases {
			names = append(names, c.Name)
		}
		assert.Equal(t, []string{named}, names, "%v", args)
	}

	var rf runFlags
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	rf.register(fs)
	require.NoError(t, fs.Parse([]string{"--races", "--fs", "xfs", "--bs", "4096", "--out", t.TempDir()}))
	opts, err := rf.options(context.Background(), "t")
	require.NoError(t, err)
	assert.Len(t, opts.Cases, len(cases.Catalogue)+len(cases.RaceCatalogue)-countRaces(cases.Catalogue),
		"without --cases, --races adds every race to the default catalogue")
}

func countRaces(cs []cases.Case) int {
	n := 0
	for _, c := range cs {
		if c.Race != nil {
			n++
		}
	}
	return n
}
