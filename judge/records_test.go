package judge

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/vmtest/proto"
)

func record(t *testing.T, typ, name string, data any) proto.Record {
	b, err := json.Marshal(data)
	require.NoError(t, err)
	return proto.Record{Type: typ, Name: name, Data: b}
}

// A case named "umount" is a case; the disk's unmount record is the
// Unmount type, or (from an older agent) a Result named <disk>/umount
// without a case in it.
func TestUnmountRecordIsTyped(t *testing.T) {
	g := readRecords([]proto.Record{
		record(t, proto.Result, "xfs-4k/umount", cases.Result{Disk: "xfs-4k", Case: "umount", Ino: 7}),
		record(t, proto.Unmount, "xfs-4k", cases.DiskResult{Disk: "xfs-4k", UnmountErr: "busy"}),
		record(t, proto.Result, "ext4-1k/umount", cases.DiskResult{Disk: "ext4-1k"}), // an older agent's
	})
	assert.Empty(t, g.bad)
	assert.Equal(t, uint64(7), g.cases["xfs-4k/umount"].Ino)
	assert.Len(t, g.cases, 1)
	assert.Equal(t, "busy", g.unmounted["xfs-4k"].UnmountErr)
	assert.Contains(t, g.unmounted, "ext4-1k")
}

// A record whose data does not decode, and a line that is no record at
// all, become ERROR verdicts that quote them: on the case the record
// names, else on a verdict of their own.
func TestUndecodableResultsAreErrors(t *testing.T) {
	s, err := proto.Read(jsonLines(
		`{"type":"result","name":"ext4-1k/a","t":1,"data":{"disk":"ext4-1k","case":"a","ino":"seven"}}`,
		`{"type":"unmount","name":"ext4-1k","t":2,"data":[1]}`,
		`{"type":"resu`,
	), nil)
	require.NoError(t, err)
	o := Config{Out: t.TempDir(), Revision: "v1"}
	p := &cases.Plan{Disks: []cases.DiskPlan{{Name: "ext4-1k", FS: "ext4", BlockSize: 1024,
		Files: []cases.FilePlan{{Case: "a", File: "a"}, {Case: "b", File: "b"}}}}}
	vs := Judge(t.Context(), o, p, s.Records, NewCalloutCheck(nil))
	require.Len(t, vs, 3, "b never started: not run, reported once by the run")
	byCase := map[string]Verdict{}
	for _, v := range vs {
		byCase[v.Case] = v
		assert.Equal(t, Error, v.Status, "%s: %v", v.Case, v.Failures)
	}
	a := byCase["a"].Failures[0]
	assert.Equal(t, Check(CheckResults), a.Check)
	assert.Contains(t, a.Msg, `undecodable result line (json: cannot unmarshal string into Go struct field Result.ino of type uint64): "{\"type\":\"result\",\"name\":\"ext4-1k/a\"`)
	assert.NotContains(t, byCase, "b")
	assert.Contains(t, byCase["(unmount+fsck)"].Failures[0].Msg, "the unmount record did not decode")
	torn := byCase["(result line 1)"].Failures[0]
	assert.Equal(t, Check(CheckResults), torn.Check)
	assert.Contains(t, torn.Msg, `"{\"type\":\"resu"`)
}

func jsonLines(lines ...string) *strings.Reader {
	return strings.NewReader(strings.Join(lines, "\n") + "\n")
}
