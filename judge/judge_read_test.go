package judge

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/reference"
)

// A read that got other bytes than the model's fails check "read" at the
// first differing offset and names the op that wrote the expected bytes;
// a pread of the wrong length fails too; a matching read passes.
func TestCheckReadsNamesOffsetAndWriter(t *testing.T) {
	ops := []cases.Op{{Kind: cases.PWrite, Off: 0, Len: 4096}, {Kind: cases.Read, Off: 1024, Len: 100}}
	m, err := reference.Run(reference.Geometry{FS: "xfs", BlockSize: 1024, PageSize: 4096}, ops)
	require.NoError(t, err)
	good := cases.Data(0, 1024, 100)
	res := cases.Result{OpsDone: 2, Returned: []int64{4096, 100}, ReadData: [][]byte{nil, good}}
	var v Verdict
	checkReads(&v, m, ops, res)
	assert.Empty(t, v.Failures)

	bad := append([]byte(nil), good...)
	bad[10] ^= 0xff
	res.ReadData[1] = bad
	v = Verdict{}
	checkReads(&v, m, ops, res)
	require.Len(t, v.Failures, 1)
	assert.Equal(t, Check("read"), v.Failures[0].Check)
	assert.Equal(t, int64(1034), v.Failures[0].Offset)
	assert.Contains(t, v.Failures[0].Msg, "op 1 (read 0x400 0x64): 1 byte(s) differ in [1034, 1035)")
	assert.Contains(t, v.Failures[0].Msg, "last written by op 0 (pwrite 0x0 0x1000)")

	res.ReadData[1] = good[:50]
	v = Verdict{}
	checkReads(&v, m, ops, res)
	require.NotEmpty(t, v.Failures)
	assert.Contains(t, v.Failures[0].Msg, "read 50 byte(s), the model expects 100")
}
