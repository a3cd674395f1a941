package cases_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/ondisk/mkfs"
	"github.com/iomapct/iomapct/reference"
)

func TestRandomIsDeterministic(t *testing.T) {
	a := cases.Random(7, 300, 1024, "xfs")
	b := cases.Random(7, 300, 1024, "xfs")
	require.Len(t, a, 300)
	if d := cmp.Diff(a, b); d != "" {
		t.Fatalf("same seed, different ops (-first +second):\n%s", d)
	}
	c := cases.Random(8, 300, 1024, "xfs")
	assert.NotEqual(t, a, c, "different seeds should give different sequences")
}

// Every generated op is valid for its filesystem: the kinds it lacks never
// appear, O_DIRECT is block-aligned, the file stays bounded.
func TestRandomOpsAreValidForTheFilesystem(t *testing.T) {
	forbidden := map[string][]cases.Kind{
		"ext2": {cases.Fallocate, cases.PunchHole, cases.ZeroRange, cases.JournalData},
		"ext4": {cases.JournalData},
		"xfs":  {cases.JournalData},
		"gfs2": {cases.ZeroRange},
	}
	for fs, sizes := range mkfs.Supported {
		for _, bs := range sizes {
			kinds := map[cases.Kind]int{}
			for seed := int64(0); seed < 20; seed++ {
				ops := cases.Random(seed, 200, bs, fs)
				require.Len(t, ops, 200)
				for i, o := range ops {
					where := fmt.Sprintf("%s-%d seed %d op %d (%s)", fs, bs, seed, i, o)
					require.NoError(t, o.Validate(), where)
					kinds[o.Kind]++
					assert.NotContains(t, forbidden[fs], o.Kind, where)
					assert.LessOrEqual(t, o.Off+o.Len, int64(cases.RandomMaxSize), where)
					if o.Writes() || o.Kind == cases.Fallocate || o.Kind == cases.PunchHole || o.Kind == cases.ZeroRange {
						assert.Positive(t, o.Len, where)
					}
					if o.Kind == cases.DirectWrite {
						assert.Zero(t, o.Off%bs, where)
						assert.Zero(t, o.Len%bs, where)
					}
					if o.Kind == cases.JournalData {
						assert.Zero(t, i, "%s: chattr +j only on the empty file", where)
					}
				}
			}
			// The generator covers its menu: each allowed write kind shows up.
			for _, k := range []cases.Kind{cases.PWrite, cases.Writev, cases.Append, cases.DirectWrite,
				cases.ShortCopy, cases.MmapWrite, cases.PolluteEOF, cases.Truncate} {
				assert.Positive(t, kinds[k], "%s-%d: no %s in 4000 random ops", fs, bs, k)
			}
		}
	}
}

// The model runs every random sequence: the generator produces nothing the
// kernel would reject (EINVAL, SIGBUS) or the filesystem lacks.
func TestRandomSequencesRunInTheModel(t *testing.T) {
	for fs, sizes := range mkfs.Supported {
		for _, bs := range sizes {
			for seed := int64(0); seed < 8; seed++ {
				ops := cases.Random(seed, 150, bs, fs)
				_, err := reference.RunSet(geometryFor(fs, bs), ops)
				if err != nil {
					assert.False(t, errors.Is(err, reference.ErrUnsupported), "%s-%d seed %d: %v", fs, bs, seed, err)
					assert.False(t, errors.Is(err, reference.ErrInvalid), "%s-%d seed %d: %v", fs, bs, seed, err)
					assert.NoError(t, err, "%s-%d seed %d", fs, bs, seed)
				}
			}
		}
	}
}

func BenchmarkRandom(b *testing.B) {
	for i := 0; i < b.N; i++ {
		cases.Random(int64(i), 1000, 4096, "xfs")
	}
}

func TestRandomCasesAreRunnable(t *testing.T) {
	cs := cases.RandomCases("gfs2", []int64{3, 4}, 50)
	require.Len(t, cs, 2)
	assert.Equal(t, "random-gfs2-3", cs[0].Name)
	assert.True(t, cs[0].AppliesTo("gfs2"))
	assert.False(t, cs[0].AppliesTo("xfs"))
	ops, err := cs[1].Ops(512)
	require.NoError(t, err)
	if d := cmp.Diff(cases.Random(4, 50, 512, "gfs2"), ops); d != "" {
		t.Fatalf("RandomCases differs from Random:\n%s", d)
	}
}

// gfs2 jdata files refuse O_DIRECT (gfs2/file.c:636) and fallocate/punch
// (file.c:1388): a sequence that starts with chattr +j never uses them.
func TestRandomJdataSequencesAvoidWhatJdataRefuses(t *testing.T) {
	withJdata := 0
	for seed := int64(0); seed < 40; seed++ {
		ops := cases.Random(seed, 200, 1024, "gfs2")
		if ops[0].Kind != cases.JournalData {
			continue
		}
		withJdata++
		for i, o := range ops {
			assert.NotContains(t, []cases.Kind{cases.DirectWrite, cases.Fallocate, cases.PunchHole}, o.Kind,
				"seed %d op %d (%s) on a jdata file", seed, i, o)
		}
	}
	assert.Positive(t, withJdata, "no jdata sequence among 40 seeds")
}
