package race

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/ondisk/mkfs"
	"github.com/iomapct/iomapct/reference"
)

// serial runs a race with no overlap at all, each round's threads one
// after another in the given thread order, through the model, and returns
// the outcome and the append landings the guest would report. Every serial
// run is a legal outcome, so the checker must accept it.
func serial(t *testing.T, g reference.Geometry, setup []cases.Op, r *cases.Race, order []int) (Outcome, *cases.RaceResult) {
	m, err := reference.New(g)
	require.NoError(t, err)
	m.RecordCallouts(false)
	for i, o := range setup {
		require.NoError(t, m.Apply(i, o))
	}
	rr := &cases.RaceResult{Threads: make([]cases.RaceThreadResult, len(r.Threads))}
	type landing struct {
		at, n int64
		index int
	}
	var appends []landing
	for k := 0; k < r.Rounds; k++ {
		for _, th := range order {
			for j, o := range r.Threads[th].Ops {
				o = cases.Shifted(o, int64(k)*r.Stride)
				if o.Kind == cases.Append {
					rr.Threads[th].Appends = append(rr.Threads[th].Appends, m.Size())
					appends = append(appends, landing{m.Size(), o.Len, cases.RaceIndex(th, j)})
				}
				require.NoError(t, m.Apply(cases.RaceIndex(th, j), o), "%s", o)
			}
		}
	}
	got := m.Content()
	// The guest fills an append from offset 0 (it cannot know where it
	// lands); the model fills it from where it lands. Bytes that still
	// hold the model's append bytes get the guest's.
	for _, a := range appends {
		for p := a.at; p < min(a.at+a.n, int64(len(got))); p++ {
			var model, guest [1]byte
			cases.FillData(model[:], a.index, p)
			cases.FillData(guest[:], a.index, p-a.at)
			if got[p] == model[0] {
				got[p] = guest[0]
			}
		}
	}
	return Outcome{Size: m.Size(), Content: got}, rr
}

// Every race of the catalogue, on every filesystem and block size it runs
// on: its serial outcomes (threads in order, and reversed) are legal, and
// one flipped byte in the middle of the race's bytes is not.
func TestCatalogueSerialOutcomesAreLegal(t *testing.T) {
	for _, c := range cases.RaceCatalogue {
		for _, fs := range []string{"ext2", "ext4", "xfs", "gfs2"} {
			if !c.AppliesTo(fs) {
				continue
			}
			for _, bs := range []int64{1024, 4096} {
				if testing.Short() && bs != 4096 {
					continue // -short: one block size (the model runs megabytes per race)
				}
				require.True(t, slices.Contains(mkfs.Supported[fs], bs))
				g := reference.Geometry{FS: fs, BlockSize: bs, PageSize: 4096, MaxFolio: 4096}
				t.Run(fmt.Sprintf("%s/%s-%d", c.Name, fs, bs), func(t *testing.T) {
					setup, err := c.Ops(bs)
					require.NoError(t, err)
					r := c.Race(bs)
					require.NoError(t, r.Validate())
					for _, ro := range r.Instances() {
						if ro.O.Kind == cases.DirectWrite {
							assert.Zero(t, ro.O.Off%bs, "%s: dwrite not block-aligned", ro)
							assert.Zero(t, ro.O.Len%bs, "%s: dwrite not block-aligned", ro)
						}
					}
					fwd := make([]int, len(r.Threads))
					for i := range fwd {
						fwd[i] = i
					}
					rev := slices.Clone(fwd)
					slices.Reverse(rev)
					orders := [][]int{fwd, rev}
					if testing.Short() {
						orders = orders[1:]
					}
					for _, order := range orders {
						got, rr := serial(t, g, setup, r, order)
						e, err := Expect(g, setup, r, rr)
						require.NoError(t, err)
						require.Empty(t, e.Check(got), "order %v", order)
						// Flip a byte the first thread's first write
						// wrote in the last round: no longer legal.
						if len(e.writers) == 0 {
							continue
						}
						w := e.writers[len(e.writers)-1]
						p := (w.lo + w.hi) / 2
						if p >= int64(len(got.Content)) {
							continue
						}
						bad := Outcome{Size: got.Size, Content: slices.Clone(got.Content)}
						bad.Content[p] ^= 0x5a
						assert.NotEmpty(t, e.Check(bad), "flipped byte %d (%s)", p, w.ro)
					}
				})
			}
		}
	}
}

// A race catalogue of at least twenty cases, all named race-*, all racing
// at least two threads.
func TestRaceCatalogueShape(t *testing.T) {
	assert.GreaterOrEqual(t, len(cases.RaceCatalogue), 20)
	for _, c := range cases.RaceCatalogue {
		assert.Regexp(t, "^race-", c.Name)
		r := c.Race(4096)
		assert.GreaterOrEqual(t, len(r.Threads), 2, c.Name)
		_, ok := cases.Lookup(c.Name)
		assert.True(t, ok, "%s is not in the catalogue", c.Name)
	}
}

// Random races, as the generator draws them on every filesystem and block
// size: valid, and their serial outcomes legal.
func TestRandomRaceSerialOutcomesAreLegal(t *testing.T) {
	for _, fs := range []string{"ext2", "ext4", "xfs", "gfs2"} {
		for _, bs := range []int64{1024, 4096} {
			g := reference.Geometry{FS: fs, BlockSize: bs, PageSize: 4096, MaxFolio: 4096}
			seeds := int64(12)
			if testing.Short() {
				seeds = 4
			}
			for seed := int64(1); seed <= seeds; seed++ {
				setup, r := cases.RandomRace(seed, fs, bs)
				require.NoError(t, r.Validate(), "seed %d", seed)
				for _, ro := range r.Instances() {
					if ro.O.Kind == cases.DirectWrite {
						require.Zero(t, ro.O.Off%bs, "seed %d %s", seed, ro)
						require.Zero(t, ro.O.Len%bs, "seed %d %s", seed, ro)
					}
					if fs == "ext2" {
						require.NotContains(t, []cases.Kind{cases.PunchHole, cases.ZeroRange, cases.Fallocate}, ro.O.Kind)
					}
					if fs == "gfs2" {
						require.NotEqual(t, cases.ZeroRange, ro.O.Kind)
					}
				}
				order := make([]int, len(r.Threads))
				for i := range order {
					order[i] = len(order) - 1 - i
				}
				got, rr := serial(t, g, setup, r, order)
				e, err := Expect(g, setup, r, rr)
				require.NoError(t, err, "seed %d", seed)
				require.Empty(t, e.Check(got), "%s-%d seed %d:\n%s", fs, bs, seed, cases.RaceLines(r))
			}
		}
	}
	// The same seed gives the same race.
	_, a := cases.RandomRace(7, "xfs", 4096)
	_, b := cases.RandomRace(7, "xfs", 4096)
	assert.Equal(t, a, b)
}
