package judge

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/iomapct/iomapct/ondisk"
	"github.com/iomapct/iomapct/reference"
)

// Two files whose block maps use one physical block are fine only where the
// model puts both blocks in one share group.
func TestSharedOutsideGroups(t *testing.T) {
	maps := map[int]*ondisk.Inode{
		0: {Extents: []ondisk.Extent{{Logical: 0, Physical: 100, Count: 4, Kind: ondisk.Data}}},
		1: {Extents: []ondisk.Extent{{Logical: 2, Physical: 102, Count: 2, Kind: ondisk.Data}, {Logical: 4, Physical: 500, Count: 1, Kind: ondisk.Unwritten}}},
	}
	groups := map[reference.BlockRef]int32{{File: 0, Block: 2}: 7, {File: 1, Block: 2}: 7, {File: 0, Block: 3}: 8, {File: 1, Block: 3}: 8}
	group := func(f int, b int64) int32 { return groups[reference.BlockRef{File: f, Block: b}] }
	_, _, _, found := sharedOutsideGroups(maps, group)
	assert.False(t, found, "blocks 2 and 3 are shared as the model says")

	groups[reference.BlockRef{File: 1, Block: 3}] = 0 // the model says file 1 block 3 got its own copy
	a, b, p, found := sharedOutsideGroups(maps, group)
	assert.True(t, found)
	assert.Equal(t, reference.BlockRef{File: 0, Block: 3}, a)
	assert.Equal(t, reference.BlockRef{File: 1, Block: 3}, b)
	assert.Equal(t, uint64(103), p)
}
