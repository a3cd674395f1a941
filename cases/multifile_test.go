package cases

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Shrinking a clone keeps its offsets and length block aligned, and keeps
// its source and destination files.
func TestSmallerKeepsCloneAligned(t *testing.T) {
	o := clone(1, 0x3000, 0, 0x2000, 0x4000)
	for _, v := range smaller(o) {
		assert.Zero(t, v.Off%0x1000, "%s", v)
		assert.Zero(t, v.Len%0x1000, "%s", v)
		assert.Equal(t, 1, v.Src, "%s", v)
		assert.Equal(t, int64(0x3000), v.SrcOff, "%s", v)
	}
}

// The replay syntax names the file first and the source as four numbers;
// old single-file lines read as file 0.
func TestMultiFileSyntaxRoundTrip(t *testing.T) {
	for _, line := range []string{
		"clone f=1 0 0x0 0x1000 0x2000",
		"dedupe 1 0x1000 0x1000 0x1000",
		"copyrange f=2 1 0x7 0x3 0x10",
		"unshare f=1 0x0 0x1000 keep_size",
		"pwrite f=3 0x10 0x20",
		"append f=1 0x10",
		"truncate f=1 0x100",
		"fsync f=1",
	} {
		o, err := ParseOp(line)
		require.NoError(t, err, line)
		assert.Equal(t, line, o.String())
	}
	o, err := ParseOp("pwrite 0x10 0x20")
	require.NoError(t, err)
	assert.Zero(t, o.File)
	for _, bad := range []string{"sync f=1", "pwrite f=4 0x0 0x1", "clone 0 0x0 0x0", "clone 9 0x0 0x0 0x1"} {
		_, err := ParseOp(bad)
		assert.Error(t, err, bad)
	}
	assert.Equal(t, []int{0, 1, 2}, FilesOf([]Op{copyRange(2, 0, 1, 0, 1)}))
}
