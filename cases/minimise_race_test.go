package cases_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/iomapct/iomapct/cases"
)

// The failure needs thread 1's pwrite 0x10 and the syncrange actor, and
// at least 3 rounds: everything else goes, threads first.
func TestMinimiseRaceKeepsWhatTheFailureNeeds(t *testing.T) {
	pw := func(off int64) cases.Op { return cases.Op{Kind: cases.PWrite, Off: off, Len: 1} }
	r := &cases.Race{Rounds: 16, Stride: 0x100, Threads: []cases.RaceThread{
		{Ops: []cases.Op{pw(1), pw(2)}},
		{Ops: []cases.Op{pw(3), pw(0x10), pw(4)}},
		{Ops: []cases.Op{pw(5)}},
	}, Actors: []cases.Actor{{Kind: cases.FadviseDrop}, {Kind: cases.SyncRange}}}
	setup := []cases.Op{pw(0), {Kind: cases.Fsync}}
	calls := 0
	fails := func(s []cases.Op, c *cases.Race) bool {
		calls++
		if c.Rounds < 3 {
			return false
		}
		hasOp, hasActor := false, false
		for _, th := range c.Threads {
			for _, o := range th.Ops {
				hasOp = hasOp || o.Off == 0x10
			}
		}
		for _, a := range c.Actors {
			hasActor = hasActor || a.Kind == cases.SyncRange
		}
		return hasOp && hasActor
	}
	gotSetup, got := cases.MinimiseRace(setup, r, fails)
	assert.Empty(t, gotSetup)
	assert.Equal(t, "race rounds=4 stride=0x100\nthread\npwrite 0x10 0x1\nactor syncrange\n", cases.RaceLines(got))
	assert.Len(t, r.Threads, 3, "the input race is left alone")
	assert.Less(t, calls, 30)
}
