package fake

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/ondisk"
)

func TestReaderServesCopies(t *testing.T) {
	r := &Reader{FS: "ext4", Block: 1024, Paths: map[string]uint64{"/f": 12}, Files: map[uint64]*File{
		12: {Inode: ondisk.Inode{Size: 3, Extents: []ondisk.Extent{{Count: 1, Kind: ondisk.Data}}}, Data: []byte("abc"), Tail: []byte{0, 1}},
	}}
	ino, err := r.Lookup("/f")
	require.NoError(t, err)
	in, err := r.Inode(ino)
	require.NoError(t, err)
	assert.Equal(t, uint64(12), in.Ino)
	in.Extents[0].Kind = ondisk.Hole
	again, _ := r.Inode(ino)
	assert.Equal(t, ondisk.Data, again.Extents[0].Kind, "the caller's copy is its own")
	b, _ := r.ReadFile(ino)
	b[0] = 'x'
	b, _ = r.ReadFile(ino)
	assert.Equal(t, "abc", string(b))
	tail, _ := r.EOFTail(ino)
	assert.Equal(t, []byte{0, 1}, tail)
	raw, _ := r.RawBlock(7)
	assert.Len(t, raw, 1024)
	_, err = r.Inode(13)
	assert.ErrorContains(t, err, "no inode 13")
	_, err = r.Lookup("/g")
	assert.ErrorContains(t, err, "/g: no such file")
}
