package runner

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/iomapct/iomapct/judge"
)

// The report says when the callout sequences were not compared (the
// judge's side of this is judge.TestCalloutCheckIsVisibleWhereTheKernelExportsNone).
func TestCalloutCheckNoteIsInTheReport(t *testing.T) {
	var buf bytes.Buffer
	PrintHuman(&buf, &Report{Revision: "baseline", Callouts: judge.NewCalloutCheck(nil),
		Verdicts: []Verdict{{Case: "c", Disk: "xfs-4k", FS: "xfs", Status: Pass}}})
	assert.Contains(t, buf.String(), "\ncallout sequence: NOT CHECKED: this kernel exports no iomap_write_begin/iomap_write_end trace events")
}
