package cases_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/filesystems"
	"github.com/iomapct/iomapct/ondisk/mkfs"
	"github.com/iomapct/iomapct/reference"
)

var allFS = filesystems.Names()

// geometryFor is the runner's geometry on a kernel with large folios
// (reference.GeometryFor).
func geometryFor(fs string, bs int64) reference.Geometry {
	return reference.GeometryFor(fs, bs, true)
}

func TestCatalogueIsLargeEnoughAndNamesAreUnique(t *testing.T) {
	assert.GreaterOrEqual(t, len(cases.Catalogue), 60)
	seen := map[string]bool{}
	for _, c := range cases.Catalogue {
		assert.False(t, seen[c.Name], "duplicate case name %q", c.Name)
		seen[c.Name] = true
		assert.Regexp(t, `^[a-z0-9][a-z0-9+-]*$`, c.Name, "case names become file names in the guest")
		assert.NotEmpty(t, c.Doc, "case %s has no Doc", c.Name)
		found, ok := cases.Lookup(c.Name)
		require.True(t, ok, c.Name)
		assert.Equal(t, c.Doc, found.Doc)
		for _, fs := range c.Only {
			assert.Contains(t, allFS, fs, "case %s: Only names an unknown filesystem", c.Name)
		}
	}
}

// Every case validates at every supported block size of every filesystem it
// applies to, keeps the file modest, and only uses ops the filesystem has.
func TestCatalogueValidatesEverywhere(t *testing.T) {
	for _, c := range cases.Catalogue {
		applies := 0
		for _, fs := range allFS {
			if !c.AppliesTo(fs) {
				continue
			}
			applies++
			for _, bs := range mkfs.Supported[fs] {
				ops, err := c.Ops(bs)
				require.NoError(t, err, "%s %s-%d", c.Name, fs, bs)
				require.NotEmpty(t, ops, "%s %s-%d", c.Name, fs, bs)
				for i, o := range ops {
					where := fmt.Sprintf("%s %s-%d op %d (%s)", c.Name, fs, bs, i, o)
					assert.LessOrEqual(t, o.Off+o.Len, int64(8<<20), where)
					if o.Kind == cases.DirectWrite {
						assert.Zero(t, o.Off%bs, "%s: dwrite offset not block-aligned", where)
						assert.Zero(t, o.Len%bs, "%s: dwrite length not block-aligned", where)
					}
					if o.Kind == cases.JournalData {
						assert.Equal(t, "gfs2", fs, where)
						assert.Zero(t, i, "%s: chattr +j must come first, on the empty file", where)
					}
					// A round trip through the replay syntax is lossless:
					// the parsed op is the op, field for field.
					back, err := cases.ParseOp(o.String())
					require.NoError(t, err, where)
					if d := cmp.Diff(o, back, cmpopts.EquateEmpty()); d != "" {
						t.Errorf("%s: replay syntax loses something (-op +parsed):\n%s", where, d)
					}
				}
			}
		}
		assert.NotZero(t, applies, "case %s applies to no filesystem", c.Name)
	}
}

// The model accepts every case wherever it applies; ErrUnsupported would mean
// the case's Only list is wrong.
func TestCatalogueRunsInTheModel(t *testing.T) {
	for _, c := range cases.Catalogue {
		for _, fs := range allFS {
			if !c.AppliesTo(fs) {
				continue
			}
			for _, bs := range mkfs.Supported[fs] {
				ops, err := c.Ops(bs)
				require.NoError(t, err)
				s, err := reference.RunSet(geometryFor(fs, bs), ops)
				if errors.Is(err, reference.ErrUnsupported) {
					t.Errorf("%s on %s-%d: the model says unsupported (%v): fix the case's Only list", c.Name, fs, bs, err)
					continue
				}
				if !assert.NoError(t, err, "%s on %s-%d", c.Name, fs, bs) {
					continue
				}
				for _, f := range s.Files() {
					assert.LessOrEqual(t, s.File(f).Size(), int64(8<<20), "%s on %s-%d", c.Name, fs, bs)
				}
			}
		}
	}
}

// The total data of a run must fit the 64 MiB image with room for metadata
// and the gfs2 journal.
func TestCatalogueFitsOneImage(t *testing.T) {
	for _, fs := range allFS {
		for _, bs := range mkfs.Supported[fs] {
			var total int64
			for _, c := range cases.Catalogue {
				if !c.AppliesTo(fs) {
					continue
				}
				ops, err := c.Ops(bs)
				require.NoError(t, err)
				s, err := reference.RunSet(geometryFor(fs, bs), ops)
				require.NoError(t, err, c.Name)
				for _, f := range s.Files() {
					total += s.File(f).Size()
				}
			}
			assert.Less(t, total, int64(40<<20), "%s-%d: catalogue files add up to %d bytes", fs, bs, total)
		}
	}
}

// Case-specific expectations that pin down what a case is for, so a later
// edit of the op list cannot silently defeat its purpose.
func TestGFS2StuffedBoundaryCases(t *testing.T) {
	want := map[string]bool{
		"gfs2-stuffed-exact-max":                  true,
		"gfs2-unstuff-max-plus-one":               false,
		"gfs2-stuffed-max-minus-one-then-unstuff": false,
		"gfs2-stuffed-grow-to-max":                true,
		"gfs2-unstuff-by-truncate-up":             false,
		"gfs2-stuffed-truncate-up-to-max":         true,
		"gfs2-restuff-after-truncate-zero":        true,
		"gfs2-unstuffed-shrink-below-max":         false,
		"gfs2-stuffed-write-at-offset":            true,
		"gfs2-stuffed-gap-unstuff":                false,
	}
	for name, stuffed := range want {
		c, ok := cases.Lookup(name)
		require.True(t, ok, name)
		for _, bs := range mkfs.Supported["gfs2"] {
			ops, err := c.Ops(bs)
			require.NoError(t, err)
			m, err := reference.Run(geometryFor("gfs2", bs), ops)
			require.NoError(t, err, name)
			got, applicable := m.Stuffed()
			require.True(t, applicable)
			assert.Equal(t, stuffed, got, "%s at bs %d", name, bs)
		}
	}
}
