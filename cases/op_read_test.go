package cases_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
)

// The new kinds round-trip through the replay syntax, and the fields they
// take are checked.
func TestReadShiftSyncOpsParse(t *testing.T) {
	for _, line := range []string{
		"read 0x10 0x200",
		"mapread 0x0 0x1000",
		"collapse 0x1000 0x2000",
		"insert 0x0 0x400",
		"pwrite 0x3 0x5 sync=osync",
		"pwrite 0x3 0x5 sync=odsync",
		"pwritev2 0x7 0x9 rwf=dsync",
		"pwritev2 0x7 0x9 rwf=sync,nowait",
		"pwritev2 0x0 0x9 rwf=dsync,append",
	} {
		op, err := cases.ParseOp(line)
		require.NoError(t, err, line)
		assert.Equal(t, line, op.String())
	}
	for line, why := range map[string]string{
		"read 0x0 0x0":                      "read length must be in",
		"read 0x0 0x10001":                  "read length must be in",
		"collapse 0x0 0x0":                  "positive length",
		"pwrite 0x0 0x1 sync=always":        "is not one of",
		"append 0x1 sync=osync":             "only pwrite and fallocate take sync=",
		"pwritev2 0x0 0x1":                  "needs rwf=",
		"pwritev2 0x0 0x1 rwf=nowait,dsync": "out of order",
		"pwritev2 0x0 0x1 rwf=hipri":        "unknown or out of order",
		"pwritev2 0x8 0x1 rwf=append":       "write the offset as 0",
		"pwrite 0x0 0x1 rwf=dsync":          "only pwritev2 takes rwf=",
	} {
		_, err := cases.ParseOp(line)
		require.Error(t, err, line)
		assert.Contains(t, err.Error(), why, line)
	}
	fa, err := cases.ParseOp("fallocate 0x10 0x1000 keep_size sync=odsync")
	require.NoError(t, err)
	assert.Equal(t, cases.Op{Kind: cases.Fallocate, Off: 0x10, Len: 0x1000, KeepSize: true, Sync: "odsync"}, fa)
	again, err := cases.ParseOp(fa.String())
	require.NoError(t, err)
	assert.Equal(t, fa, again, fa.String())
	op, err := cases.ParseOp("pwritev2 0x0 0x1 rwf=sync,nowait,append")
	require.NoError(t, err)
	assert.True(t, op.HasRWF("nowait"))
	assert.False(t, op.HasRWF("dsync"))
	assert.True(t, op.Writes())
}
