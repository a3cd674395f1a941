package cases_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/reference"
)

// At least 15 crash cases per filesystem, names unique and apart from the
// main catalogue's, every one valid and runnable in the model at both block
// sizes, and every one with a persistence call to check.
func TestCrashCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range cases.Catalogue {
		seen[c.Name] = true
	}
	for _, fs := range []string{"ext2", "ext4", "xfs", "gfs2"} {
		n := 0
		for _, c := range cases.CrashCatalogue {
			if c.AppliesTo(fs) {
				n++
			}
		}
		assert.GreaterOrEqual(t, n, 15, fs)
	}
	for _, c := range cases.CrashCatalogue {
		require.False(t, seen[c.Name], "duplicate name %s", c.Name)
		seen[c.Name] = true
		for _, bs := range []int64{1024, 4096} {
			ops, err := c.Ops(bs)
			require.NoError(t, err, c.Name)
			durable := false
			for _, o := range ops {
				durable = durable || reference.WholeDurable(o.Kind)
			}
			assert.True(t, durable, "%s has no persistence call", c.Name)
			for _, fs := range []string{"ext2", "ext4", "xfs", "gfs2"} {
				if !c.AppliesTo(fs) {
					continue
				}
				_, err := reference.NewCrashOracle(reference.Geometry{FS: fs, BlockSize: bs, PageSize: 4096}, ops)
				assert.NoError(t, err, "%s on %s-%d", c.Name, fs, bs)
			}
		}
	}
}

func TestCrashQuickIsInTheCatalogue(t *testing.T) {
	q := cases.CrashQuick()
	require.NotEmpty(t, q)
	for _, c := range q {
		_, ok := cases.LookupCrash(c.Name)
		assert.True(t, ok, c.Name)
	}
}
