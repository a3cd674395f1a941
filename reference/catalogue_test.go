package reference

import (
	"fmt"
	"testing"

	"github.com/iomapct/iomapct/cases"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every catalogue case must run on every geometry it applies to, and its
// content must match the POSIX oracle.
func TestCatalogueRunsOnEveryGeometry(t *testing.T) {
	for _, c := range cases.Catalogue {
		for _, g := range geometries {
			if !c.AppliesTo(g.FS) {
				continue
			}
			t.Run(fmt.Sprintf("%s/%s-%d", c.Name, g.FS, g.BlockSize), func(t *testing.T) {
				ops, err := c.Ops(g.BlockSize)
				require.NoError(t, err)
				checkAgainstOracle(t, g, ops)
			})
		}
	}
}

// straddle-beyond-eof: the two blocks the write straddles hold data, the
// gap before them stays a hole (xfs: may be preallocated).
func TestCatalogueStraddleBeyondEOF(t *testing.T) {
	c, ok := cases.Lookup("straddle-beyond-eof")
	require.True(t, ok)
	for _, g := range []Geometry{gfs2_1k, ext2_1k, ext4_1k, xfs1k} {
		ops, err := c.Ops(g.BlockSize)
		require.NoError(t, err)
		m := mustRun(t, g, ops...)
		hole := "MustBeHole"
		if g.FS == "xfs" {
			hole += "?"
		}
		assert.Equal(t, []string{hole, hole, "Data", "Data"}, states(m), g.FS)
		st, _ := m.Stuffed()
		assert.False(t, st, g.FS)
	}
}
