package cases_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
)

// Every race of the catalogue survives the replay format unchanged, so a
// failing race replays with the very thread lists that ran.
func TestRaceReplayRoundTrip(t *testing.T) {
	for _, c := range cases.RaceCatalogue {
		for _, bs := range []int64{1024, 4096} {
			setup, err := c.Ops(bs)
			require.NoError(t, err)
			r := c.Race(bs)
			var sb strings.Builder
			require.NoError(t, cases.WriteRace(&sb, setup, r, "race "+c.Name))
			require.True(t, cases.IsRaceFile(sb.String()))
			gotSetup, got, err := cases.ReadRace(strings.NewReader(sb.String()))
			require.NoError(t, err, sb.String())
			assert.Equal(t, setup, gotSetup, c.Name)
			assert.Equal(t, r, got, c.Name)
		}
	}
}

func TestReadRaceNamesTheLineAtFault(t *testing.T) {
	for text, want := range map[string]string{
		"pwrite 0x0 0x10\n":                                          "no race line",
		"race rounds=2 stride=0x100\npwrite 0x0 0x10\n":              "line 2: op after the race line but before any thread",
		"race rounds=2 stride=0x100\nthread\nremount\n":              "remount cannot run in a race",
		"race rounds=0 stride=0x100\nthread\npwrite 0x0 0x1\n":       "race: 0 rounds",
		"race rounds=2 stride=zz\n":                                  "line 1: race: bad number",
		"race rounds=2\nthread sweep=x\npwrite 0x0 0x1\n":            "line 2: thread: unknown or bad field",
		"race rounds=2\nthread\npwrite 0x0 0x1\nactor balloon\n":     "only a balloon takes (and needs) a headroom",
		"race rounds=2\nthread\npwrite 0x0 0x1\nactor syncrange 5\n": "only a balloon takes (and needs) a headroom",
		"race rounds=2\nthread\npwrite 0x0 0x1\nactor spin\n":        "unknown kind \"spin\"",
		"thread\npwrite 0x0 0x1\n":                                   "line 1: thread before the race line",
		"race rounds=2\nrace rounds=3\n":                             "line 2: a second race line",
		"race rounds=2\nthread\npwrite 0x0\n":                        "line 3: op \"pwrite 0x0\": want 2 numbers, got 1",
		"race rounds=2 stride=0x10 seed=5 size=3\nthread\nfsync\n":   "line 1: race: unknown field \"size\"",
		"race rounds=2\nthread\nfsync\nthread\nfsync\nactor\n":       "line 6: actor needs a race line before it and a kind",
		"race rounds=1\n" + strings.Repeat("thread\nfsync\n", 9):     "race: 9 threads (want 1 to 8)",
		"race rounds=1\nthread\n" + strings.Repeat("fsync\n", 17):    "race thread 0: 17 ops (want 1 to 16)",
		"race rounds=1\nthread\nshortcopy 0x0 0x10 copied=0x1\n":     "shortcopy cannot run in a race",
		"race rounds=1 stride=-1\nthread\nfsync\n":                   "negative stride",
	} {
		_, _, err := cases.ReadRace(strings.NewReader(text))
		require.Error(t, err, text)
		assert.Contains(t, err.Error(), want, text)
	}
}

// Round k shifts offset-taking ops by k*Stride; appends and flushes stay.
func TestRaceInstancesShiftByRound(t *testing.T) {
	r := &cases.Race{Rounds: 2, Stride: 0x1000, Threads: []cases.RaceThread{
		{Ops: []cases.Op{{Kind: cases.PWrite, Off: 5, Len: 3}, {Kind: cases.Append, Len: 7}}},
		{Ops: []cases.Op{{Kind: cases.Truncate, Off: 9}, {Kind: cases.Fsync}}},
	}}
	var got []string
	for _, ro := range r.Instances() {
		got = append(got, ro.String())
	}
	assert.Equal(t, []string{
		"round 0 thread 0 op 0 (pwrite 0x5 0x3)", "round 0 thread 0 op 1 (append 0x7)",
		"round 0 thread 1 op 0 (truncate 0x9)", "round 0 thread 1 op 1 (fsync)",
		"round 1 thread 0 op 0 (pwrite 0x1005 0x3)", "round 1 thread 0 op 1 (append 0x7)",
		"round 1 thread 1 op 0 (truncate 0x1009)", "round 1 thread 1 op 1 (fsync)",
	}, got)
	assert.Equal(t, 100, cases.RaceIndex(0, 0))
	assert.Equal(t, 117, cases.RaceIndex(1, 1))
}
