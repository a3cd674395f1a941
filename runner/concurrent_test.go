package runner

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
)

func TestReproductionsCountRepeats(t *testing.T) {
	vs := []Verdict{
		{Disk: "xfs-4k", Case: "race-a", Status: Fail, Failures: []Failure{{Check: "content", Offset: 3, Msg: "x"}}},
		{Disk: "xfs-4k", Case: "race-a@2", Status: Pass},
		{Disk: "xfs-4k", Case: "race-a@3", Status: Fail, Failures: []Failure{{Check: "content", Offset: 3, Msg: "x"}}},
		{Disk: "xfs-4k", Case: "race-b", Status: Pass},
		{Disk: "xfs-4k", Case: "(unmount+fsck)", Status: Pass},
	}
	rs := Reproductions(vs)
	require.Len(t, rs, 1)
	assert.Equal(t, Reproduction{Disk: "xfs-4k", Case: "race-a", Failed: 2, Runs: 3, First: vs[0].Line()}, rs[0])
	assert.Equal(t, "race-a@3", RepeatName("race-a", 2))
	assert.Equal(t, "race-a", RepeatName("race-a", 0))
}

// A VM runs on two vCPUs exactly when its plan holds a race.
func TestPlanCPUs(t *testing.T) {
	p := &cases.Plan{Disks: []cases.DiskPlan{{Files: []cases.FilePlan{{Case: "a"}}}}}
	assert.Equal(t, 1, planCPUs(p))
	p.Disks[0].Files = append(p.Disks[0].Files, cases.FilePlan{Case: "r", Race: &cases.Race{}})
	assert.Equal(t, RaceCPUs, planCPUs(p))
}
