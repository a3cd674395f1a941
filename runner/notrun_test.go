package runner

import (
	"bytes"
	"context"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/judge"
	"github.com/iomapct/iomapct/vmtest"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// A guest stopped in the middle of a disk (here: an interrupt): the case it
// was running is the one error; the cases after it and the disks it never
// reached are listed once, as not run, with the cause, and are neither
// verdicts nor repro files.
func TestUnrunCasesAreReportedOnceWithTheCause(t *testing.T) {
	file := func(n string) cases.FilePlan {
		return cases.FilePlan{Case: n, File: n, Ops: []cases.Op{{Kind: cases.PWrite, Off: 0, Len: 1}}}
	}
	p := &cases.Plan{Disks: []cases.DiskPlan{
		{Name: "ext4-4k", FS: "ext4", BlockSize: 4096, Files: []cases.FilePlan{file("a"), file("b"), file("c")}},
		{Name: "xfs-4k", FS: "xfs", BlockSize: 4096, Files: []cases.FilePlan{file("a")}},
	}}
	o := Options{Out: t.TempDir(), Revision: "baseline", Matrix: []Target{{FS: "ext4", BlockSize: 4096}, {FS: "xfs", BlockSize: 4096}}}
	records := []proto.Record{
		{Type: proto.Ready},
		{Type: proto.Start, Name: "ext4-4k/a", T: 1},
		{Type: proto.Result, Name: "ext4-4k/a", T: 1.25, Data: []byte(`{"disk":"ext4-4k","case":"a"}`)},
		{Type: proto.Start, Name: "ext4-4k/b", T: 1.5},
	}
	vs := judge.Judge(context.Background(), o.judgeConfig(), p, records, judge.NewCalloutCheck(nil))
	got := map[string]Verdict{}
	for _, v := range vs {
		got[v.Disk+"/"+v.Case] = v
	}
	assert.Len(t, vs, 3, "a, b and ext4's unmount+fsck; nothing for what never started")
	assert.Equal(t, 0.25, got["ext4-4k/a"].Seconds)
	assert.Contains(t, got["ext4-4k/b"].Failures[0].Msg, "it was running when the guest stopped")

	nrs := notRun(p, records, notRunCause(context.Canceled, ""))
	require.Len(t, nrs, 1)
	nr := nrs[0]
	assert.Equal(t, []string{"ext4-4k/c", "xfs-4k/a", "xfs-4k/(unmount+fsck)"}, nr.Cases)
	assert.Equal(t, "context canceled", nr.Because)
	assert.Equal(t, "NOT RUN 3 case(s) on ext4-4k, xfs-4k, because context canceled", nr.line())

	rep := &Report{Revision: "baseline", Verdicts: vs, NotRun: nrs}
	assert.False(t, rep.Passed(), "unrun cases never pass")
	var human bytes.Buffer
	PrintHuman(&human, rep)
	assert.Equal(t, 1, bytes.Count(human.Bytes(), []byte("NOT RUN")))
	assert.Nil(t, notRun(p, append(records,
		proto.Record{Type: proto.Result, Name: "ext4-4k/b"}, proto.Record{Type: proto.Result, Name: "ext4-4k/c"},
		proto.Record{Type: proto.Result, Name: "xfs-4k/a"}, proto.Record{Type: proto.Result, Name: "xfs-4k/umount"}), "x"))
}

// A disk the guest could not mount: one ERROR for the disk naming the
// mount error and the kernel's line, its cases not run with that cause.
func TestMountFailureIsOneErrorWithTheKernelsReason(t *testing.T) {
	p := &cases.Plan{Disks: []cases.DiskPlan{{Name: "ext2-64k", FS: "ext2", BlockSize: 65536, Files: []cases.FilePlan{
		{Case: "a", File: "a"}, {Case: "b", File: "b"}}}}}
	o := Options{Out: t.TempDir(), Revision: "baseline", Matrix: []Target{{FS: "ext2", BlockSize: 65536}}}
	why := "mount -t ext2 /dev/vda /mnt/ext2-64k -o \"\": invalid argument; kernel: EXT2-fs (vda): error: bad blocksize 65536"
	records := []proto.Record{{Type: proto.Ready},
		{Type: proto.Result, Name: "ext2-64k/umount", Data: []byte(`{"disk":"ext2-64k","mount_err":"` + strings.ReplaceAll(why, `"`, `\"`) + `"}`)}}
	vs := judge.Judge(context.Background(), o.judgeConfig(), p, records, judge.NewCalloutCheck(nil))
	require.Len(t, vs, 1)
	assert.Equal(t, Error, vs[0].Status)
	assert.Equal(t, "mount: "+why, vs[0].Failures[0].String())
	nrs := notRun(p, records, "x")
	require.Len(t, nrs, 1)
	assert.Equal(t, []string{"ext2-64k/a", "ext2-64k/b"}, nrs[0].Cases)
	assert.Equal(t, "the guest could not mount ext2-64k: "+why, nrs[0].Because)
}

// junit.xml gives every testcase and suite a time.
func TestJUnitCarriesTimes(t *testing.T) {
	rep := &Report{Revision: "v1", Verdicts: []Verdict{
		{Case: "a", Disk: "xfs-4k", Status: Pass, Seconds: 0.5},
		{Case: "b", Disk: "xfs-4k", Status: Pass, Seconds: 0.25},
	}}
	var b bytes.Buffer
	require.NoError(t, WriteJUnit(&b, rep))
	var doc struct {
		Suites []struct {
			Time  string `xml:"time,attr"`
			Cases []struct {
				Time string `xml:"time,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(b.Bytes(), &doc))
	require.Len(t, doc.Suites, 1)
	assert.Equal(t, "0.750", doc.Suites[0].Time)
	assert.Equal(t, "0.500", doc.Suites[0].Cases[0].Time)
	assert.Equal(t, "0.250", doc.Suites[0].Cases[1].Time)
}

// A panic of the guest agent is the crash's cause, with its message.
func TestCrashSummaryNamesAgentPanic(t *testing.T) {
	out := &vmtest.Outcome{Ready: time.Now(), ConsoleLog: "console.log", Results: "results.jsonl", Stream: &proto.Stream{Records: []proto.Record{
		{Type: proto.Ready},
		{Type: proto.Start, Name: "xfs-4k/a"},
		{Type: proto.Log, Name: proto.AgentPanic, Error: "runtime error: index out of range [3] with length 3\ngoroutine 1 [running]:\n..."},
	}}}
	assert.Equal(t, "the guest agent panicked while running xfs-4k/a: runtime error: index out of range [3] with length 3 (stack in results.jsonl and on the console)", crashSummary(out))
}
