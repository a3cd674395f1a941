package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/iomapct/iomapct/cases"
)

func TestOpsDriftNamesTheChangedOp(t *testing.T) {
	planned := []cases.Op{{Kind: cases.PWrite, Len: 10}, {Kind: cases.Writev, Len: 12, Segs: []int64{2, 10}}}
	same := []cases.Op{{Kind: cases.PWrite, Len: 10}, {Kind: cases.Writev, Len: 12, Segs: []int64{2, 10}}}
	assert.Empty(t, opsDrift(planned, same))
	changed := []cases.Op{{Kind: cases.PWrite, Len: 10}, {Kind: cases.Writev, Len: 12, Segs: []int64{2, 0}}}
	assert.Contains(t, opsDrift(planned, changed), "op 1 in the agent's memory (writev 0x0 0xc segs=0x2,0x0) differs from /plan.json (writev 0x0 0xc segs=0x2,0xa)")
	assert.Contains(t, opsDrift(planned, same[:1]), "ran 1 ops, /plan.json has 2")
}
