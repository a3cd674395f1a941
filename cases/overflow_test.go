package cases

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// An offset plus a length past the largest file offset is refused, so the
// model's size check cannot be fooled by a wrapped sum.
func TestValidateRejectsOffsetOverflow(t *testing.T) {
	for _, line := range []string{"pwrite 0x10 0x7ffffffffffffff8", "pwrite 0x7fffffffffffffff 0x10", "writev 0x10 0x7ffffffffffffff8 segs=0x7ffffffffffffff0,0x8"} {
		_, err := ParseOp(line)
		assert.ErrorContains(t, err, "overflow", line)
	}
	_, err := ParseOp("writev 0 0x10 segs=0x7fffffffffffffff,0x7fffffffffffffff,0x12")
	assert.ErrorContains(t, err, "overflow")
	assert.NoError(t, Op{Kind: PWrite, Off: math.MaxInt64 - 1, Len: 1}.Validate())
}

// A negative op count makes no ops rather than a makeslice panic.
func TestRandomNegativeCountIsEmpty(t *testing.T) {
	assert.Empty(t, Random(1, -3, 4096, "xfs"))
}
