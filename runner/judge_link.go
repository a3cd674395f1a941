package runner

import (
	"github.com/iomapct/iomapct/judge"
	"github.com/iomapct/iomapct/reference"
)

// Judging lives in package judge (it imports no VM or kernel code, so a
// saved run is judged on the host alone); runner runs the kernel and calls
// it. The names below keep runner's reports, and the commands and tests
// that read them, spelling the verdict types as runner's own: a Report
// holds judge's Verdicts.
type (
	Target       = judge.Target
	Status       = judge.Status
	Verdict      = judge.Verdict
	Failure      = judge.Failure
	Check        = judge.Check
	CalloutCheck = judge.CalloutCheck
)

// The verdict statuses (judge.Pass, ...).
const (
	Pass  = judge.Pass
	Fail  = judge.Fail
	Error = judge.Error
	Skip  = judge.Skip
	Known = judge.Known
)

// RaceCPUs is judge.RaceCPUs: the vCPUs a VM running a race gets.
const RaceCPUs = judge.RaceCPUs

// fsckCase is the verdict judge adds per image for its unmount and fsck.
const fsckCase = judge.FsckCase

func imagePath(out, disk string) string { return judge.ImagePath(out, disk) }

func geometry(t Target, largeFolios bool) reference.Geometry {
	return judge.Geometry(t, largeFolios)
}

func sortVerdicts(vs []Verdict) { judge.SortVerdicts(vs) }

// judgeConfig is what judge.Judge needs of o.
func (o Options) judgeConfig() judge.Config {
	return judge.Config{Out: o.Out, Revision: o.Revision, LargeFolios: o.largeFolios,
		CorruptExpected: o.CorruptExpected, CorruptExpectedLast: o.CorruptExpectedLast}
}
