package judge

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/reference"
)

// putFolioTrace renders steps the way v3 traces them: a begin naming the
// file system's get_folio, the end, and iomap_put_folio (same format as
// iomap_write_end) after each step whose folioDone is set.
func putFolioTrace(steps ...step) []string {
	var out []string
	for _, l := range traceOf(steps...) {
		l = strings.Replace(l, "fn iomap_write_begin", "fn gfs2_iomap_get_folio", 1)
		l = strings.Replace(l, "iomap_folio_done:", "iomap_put_folio:", 1)
		out = append(out, strings.Replace(l, "fn gfs2_iomap_folio_done", "fn gfs2_iomap_put_folio", 1))
	}
	return out
}

func TestPostFolioHookFromEvents(t *testing.T) {
	assert.Equal(t, reference.PostFolioNone, postFolioHook(nil))
	assert.Equal(t, reference.PostFolioNone, postFolioHook([]string{evBegin, evEnd}))
	assert.Equal(t, reference.PostFolioDone, postFolioHook([]string{evBegin, evEnd, evFolioDone}))
	assert.Equal(t, reference.PostFolioPut, postFolioHook([]string{evBegin, evEnd, evPutFolio}))
	c := NewCalloutCheck([]string{evBegin, evEnd, evPutFolio})
	assert.True(t, c.Applies)
	assert.Equal(t, "compared with the model (iomap_write_begin, iomap_write_end, iomap_put_folio)", c.Note)
}

// v3's gfs2 passes its put_folio for every file, so the event follows every
// gfs2 step, a plain file's too; v2's folio_done would not be there.
func TestCalloutsPutFolioAfterEveryGfs2Step(t *testing.T) {
	m, ops := model(t, "gfs2", 4096, "pwrite 0x2f9c 0x12c\n")
	steps := []step{
		{pos: 0x2f9c, beginLen: 0x64, len: 0x64, copied: 0x64, written: 0x64, typ: "MAPPED", flags: "NEW|MERGED", op: "WRITE", folioDone: true},
		{pos: 0x3000, beginLen: 0xc8, len: 0xc8, copied: 0xc8, written: 0xc8, typ: "MAPPED", flags: "NEW|MERGED", op: "WRITE", folioDone: true},
	}
	v := Verdict{Status: Pass}
	checkCalloutsWith(&v, m, ops, putFolioTrace(steps...), reference.PostFolioPut)
	assert.Equal(t, Pass, v.Status, "%v", v.Failures)

	// The same trace against v2's model: no folio_done on a plain file.
	v = Verdict{Status: Pass}
	checkCalloutsWith(&v, m, ops, putFolioTrace(steps...), reference.PostFolioDone)
	require.Equal(t, Fail, v.Status)

	// A step without its put_folio is a difference (the report marks the
	// post-step hook "+folio_done" in every revision). Steps merge only if
	// both ran the hook, so the first step is where it shows.
	steps[1].folioDone = false
	v = Verdict{Status: Pass}
	checkCalloutsWith(&v, m, ops, putFolioTrace(steps...), reference.PostFolioPut)
	require.Equal(t, Fail, v.Status)
	assert.Contains(t, v.Failures[0].Msg, "differs in len: kernel 0x64, model 0x12c")
	assert.Contains(t, v.Failures[0].Msg, "the model's step: write pos=0x2f9c len=0x12c copied=0x12c written=0x12c map=MAPPED flags=NEW|MERGED +folio_done")

	// A put_folio that follows no end cannot be read.
	tr := putFolioTrace(steps...)
	v = Verdict{Status: Pass}
	checkCalloutsWith(&v, m, ops, []string{tr[0], tr[2]}, reference.PostFolioPut)
	require.Equal(t, Fail, v.Status)
	assert.Contains(t, v.Failures[0].Msg, "put_folio at pos 0x2f9c does not follow a write_end there")
}

// On xfs v3 traces no hook (only ->iomap_valid, which shows as a stale
// begin only when it fails): the v1 sequence is expected.
func TestCalloutsPutFolioNotOnXFS(t *testing.T) {
	m, ops := model(t, "xfs", 4096, "pwrite 0x2f9c 0x12c\n")
	v := Verdict{Status: Pass}
	checkCalloutsWith(&v, m, ops, traceOf(straddleXFS...), reference.PostFolioPut)
	assert.Equal(t, Pass, v.Status, "%v", v.Failures)
}
