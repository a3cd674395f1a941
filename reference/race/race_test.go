package race

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/reference"
)

var geo = reference.Geometry{FS: "xfs", BlockSize: 4096, PageSize: 4096, MaxFolio: 4096}

func pw(off, n int64) cases.Op { return cases.Op{Kind: cases.PWrite, Off: off, Len: n} }
func mw(off, n int64) cases.Op { return cases.Op{Kind: cases.MmapWrite, Off: off, Len: n} }
func ap(n int64) cases.Op      { return cases.Op{Kind: cases.Append, Len: n} }
func tr(size int64) cases.Op   { return cases.Op{Kind: cases.Truncate, Off: size} }

// file is a serial outcome built by hand: the setup's bytes, then op
// instances applied one after another.
type file struct{ b []byte }

func setupFile(t *testing.T, setup []cases.Op) *file {
	m, err := reference.Run(geo, setup)
	require.NoError(t, err)
	return &file{b: m.Content()}
}

func (f *file) write(index int, off, n, base int64) {
	if end := off + n; end > int64(len(f.b)) {
		f.b = append(f.b, make([]byte, end-int64(len(f.b)))...)
	}
	cases.FillData(f.b[off:off+n], index, base)
}

func (f *file) truncate(size int64) {
	if size < int64(len(f.b)) {
		f.b = f.b[:size]
		return
	}
	f.b = append(f.b, make([]byte, size-int64(len(f.b)))...)
}

func (f *file) outcome() Outcome {
	return Outcome{Size: int64(len(f.b)), Content: append([]byte(nil), f.b...)}
}

func race(rounds int, stride int64, threads ...[]cases.Op) *cases.Race {
	r := &cases.Race{Rounds: rounds, Stride: stride}
	for _, ops := range threads {
		r.Threads = append(r.Threads, cases.RaceThread{Ops: ops})
	}
	return r
}

func check(t *testing.T, setup []cases.Op, r *cases.Race, rr *cases.RaceResult, got Outcome) []Problem {
	t.Helper()
	e, err := Expect(geo, setup, r, rr)
	require.NoError(t, err)
	return e.Check(got)
}

func checks(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Check)
	}
	return out
}

func TestDisjointWritersAreExact(t *testing.T) {
	setup := []cases.Op{pw(0, 3000)}
	r := race(1, 0, []cases.Op{pw(0, 1000)}, []cases.Op{pw(5000, 1000)})
	f := setupFile(t, setup)
	f.write(cases.RaceIndex(1, 0), 5000, 1000, 5000)
	f.write(cases.RaceIndex(0, 0), 0, 1000, 0)
	assert.Empty(t, check(t, setup, r, nil, f.outcome()))

	// Garbage inside one writer's range, where it is the only source.
	bad := f.outcome()
	bad.Content[500] ^= 0x55
	ps := check(t, setup, r, nil, bad)
	require.Equal(t, []string{"content"}, checks(ps))
	assert.Equal(t, int64(500), ps[0].Offset)

	// The setup's bytes nobody raced over must stay.
	bad = f.outcome()
	bad.Content[2000] = 0
	ps = check(t, setup, r, nil, bad)
	require.Equal(t, []string{"content"}, checks(ps))
	assert.Equal(t, int64(2000), ps[0].Offset)

	// The gap between the old EOF and the far write reads zero: nobody
	// zeroes it with data, and poison there is no legal outcome.
	bad = f.outcome()
	copy(bad.Content[4000:], "XFSPOISN")
	ps = check(t, setup, r, nil, bad)
	require.Equal(t, []string{"content"}, checks(ps))
	assert.Equal(t, int64(4000), ps[0].Offset)
	assert.True(t, ps[0].ModelZero)

	// Zero where a writer necessarily wrote (and no truncate raced).
	bad = f.outcome()
	bad.Content[5500] = 0
	require.Equal(t, []string{"content"}, checks(check(t, setup, r, nil, bad)))

	// The size follows the extending write.
	bad = f.outcome()
	bad.Size = 5999
	require.Equal(t, []string{"size"}, checks(check(t, setup, r, nil, bad)))
}

func TestOverlappingBufferedWritesOneWinsWhole(t *testing.T) {
	r := race(1, 0, []cases.Op{pw(0, 8192)}, []cases.Op{pw(4096, 8192)})
	a, b := cases.RaceIndex(0, 0), cases.RaceIndex(1, 0)
	for _, order := range [][2]int{{0, 1}, {1, 0}} {
		f := &file{}
		for _, th := range order {
			if th == 0 {
				f.write(a, 0, 8192, 0)
			} else {
				f.write(b, 4096, 8192, 4096)
			}
		}
		assert.Empty(t, check(t, nil, r, nil, f.outcome()), "order %v", order)
	}
	// Torn: the overlap's first page from B, its... wait, second half
	// from A: B ran after A at 4096, A after B at 6144+.
	f := &file{}
	f.write(a, 0, 8192, 0)
	f.write(b, 4096, 8192, 4096)
	f.write(a, 6144, 2048, 6144)
	ps := check(t, nil, r, nil, f.outcome())
	require.Equal(t, []string{"atomicity"}, checks(ps))
	assert.Contains(t, ps[0].Msg, "round 0 thread 1 op 0 (pwrite 0x1000 0x2000) ran after round 0 thread 0 op 0 (pwrite 0x0 0x2000)")
	assert.Contains(t, ps[0].Msg, "round 0 thread 0 op 0 (pwrite 0x0 0x2000) ran after round 0 thread 1 op 0 (pwrite 0x1000 0x2000)")
}

func TestThreeWayCycleIsTorn(t *testing.T) {
	// A, B, C all over [0, 3000): thirds from A, B, C in an order no
	// serial run gives only if a cycle appears; here A>B on [0,1000),
	// B>C on [1000,2000), C>A on [2000,3000) needs each pair covering
	// each third, so every third also orders the third write. Build it
	// by hand: [0,1000) A, [1000,2000) B, [2000,3000) C means A>{B,C},
	// B>{A,C}: the A/B pair is already a 2-cycle.
	r := race(1, 0, []cases.Op{pw(0, 3000)}, []cases.Op{pw(0, 3000)}, []cases.Op{pw(0, 3000)})
	f := &file{}
	f.write(cases.RaceIndex(0, 0), 0, 1000, 0)
	f.write(cases.RaceIndex(1, 0), 1000, 1000, 1000)
	f.write(cases.RaceIndex(2, 0), 2000, 1000, 2000)
	require.Equal(t, []string{"atomicity"}, checks(check(t, nil, r, nil, f.outcome())))
}

func TestMmapStoresMayInterleave(t *testing.T) {
	// mmap stores take no i_rwsem: a mix page by page is legal.
	setup := []cases.Op{pw(0, 16384)}
	r := race(1, 0, []cases.Op{mw(0, 16384)}, []cases.Op{pw(0, 16384)})
	f := setupFile(t, setup)
	f.write(cases.RaceIndex(0, 0), 0, 16384, 0)
	f.write(cases.RaceIndex(1, 0), 4096, 4096, 4096)
	f.write(cases.RaceIndex(0, 0), 4096, 2048, 4096)
	assert.Empty(t, check(t, setup, r, nil, f.outcome()))
	// But the setup's bytes are gone wherever a racer wrote.
	bad := f.outcome()
	copy(bad.Content[100:104], setupFile(t, setup).b[100:104])
	require.Equal(t, []string{"content"}, checks(check(t, setup, r, nil, bad)))
}

func TestMmapPastSetupSizeRefused(t *testing.T) {
	r := race(1, 0, []cases.Op{mw(0, 8192)})
	_, err := Expect(geo, []cases.Op{pw(0, 4096)}, r, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "must lie within the size the setup leaves (4096)")
}

func TestTruncateRacingWrite(t *testing.T) {
	r := race(2, 16384, []cases.Op{pw(0, 8192)}, []cases.Op{tr(4096)})
	a := cases.RaceIndex(0, 0)
	// Round 0: write then truncate; round 1: truncate then write.
	f := &file{}
	f.write(a, 0, 8192, 0)
	f.truncate(4096)
	f.truncate(16384 + 4096)
	f.write(a, 16384, 8192, 16384)
	assert.Empty(t, check(t, nil, r, nil, f.outcome()))
	// Round 1 the other way round: the size is the truncate's.
	g := &file{}
	g.write(a, 0, 8192, 0)
	g.truncate(4096)
	g.write(a, 16384, 8192, 16384)
	g.truncate(16384 + 4096)
	assert.Empty(t, check(t, nil, r, nil, g.outcome()))

	// A size no op could leave.
	bad := g.outcome()
	bad.Size = 16384 + 5000
	require.Equal(t, []string{"size"}, checks(check(t, nil, r, nil, bad)))
	// The last round's truncate cannot be undone by an earlier round.
	bad = g.outcome()
	bad.Size = 8192
	require.Equal(t, []string{"size"}, checks(check(t, nil, r, nil, bad)))
	// Below the truncate target the write's bytes cannot be zero.
	bad = f.outcome()
	bad.Content[16384+100] = 0
	require.Equal(t, []string{"content"}, checks(check(t, nil, r, nil, bad)))
	// Above it, zero is legal (the truncate cut it), garbage is not.
	ok := f.outcome()
	for i := 4096; i < 8192; i++ {
		ok.Content[i] = 0
	}
	assert.Empty(t, check(t, nil, r, nil, ok))
	ok.Content[5000] = 0xee
	require.Equal(t, []string{"content"}, checks(check(t, nil, r, nil, ok)))
}

func TestAppendsLandWholeAndDisjoint(t *testing.T) {
	setup := []cases.Op{pw(0, 100)}
	r := race(2, 0, []cases.Op{ap(300)}, []cases.Op{ap(500)})
	a, b := cases.RaceIndex(0, 0), cases.RaceIndex(1, 0)
	f := setupFile(t, setup)
	// Landings: a@100, b@400, b@900, a@1400.
	f.write(a, 100, 300, 0)
	f.write(b, 400, 500, 0)
	f.write(b, 900, 500, 0)
	f.write(a, 1400, 300, 0)
	rr := &cases.RaceResult{Threads: []cases.RaceThreadResult{{Appends: []int64{100, 1400}}, {Appends: []int64{400, 900}}}}
	assert.Empty(t, check(t, setup, r, rr, f.outcome()))

	// A lost zero-padding bug: zeroes inside an append.
	bad := f.outcome()
	for i := 950; i < 1000; i++ {
		bad.Content[i] = 0
	}
	require.Equal(t, []string{"content"}, checks(check(t, setup, r, rr, bad)))

	// Overlapping landings.
	over := &cases.RaceResult{Threads: []cases.RaceThreadResult{{Appends: []int64{100, 1400}}, {Appends: []int64{300, 900}}}}
	assert.Contains(t, checks(check(t, setup, r, over, f.outcome())), "append")

	// Landings missing.
	_, err := Expect(geo, setup, r, &cases.RaceResult{Threads: []cases.RaceThreadResult{{Appends: []int64{100}}, {Appends: []int64{400, 900}}}})
	require.Error(t, err)
}

func TestDirectWritesMayTearEachOtherButNotBuffered(t *testing.T) {
	dw := func(off, n int64) cases.Op { return cases.Op{Kind: cases.DirectWrite, Off: off, Len: n} }
	setup := []cases.Op{pw(0, 8192)}
	a, b := cases.RaceIndex(0, 0), cases.RaceIndex(1, 0)
	// Two O_DIRECT writes (i_rwsem shared on xfs): a block-wise mix is
	// legal.
	r := race(1, 0, []cases.Op{dw(0, 8192)}, []cases.Op{dw(0, 8192)})
	f := setupFile(t, setup)
	f.write(a, 0, 4096, 0)
	f.write(b, 4096, 4096, 4096)
	assert.Empty(t, check(t, setup, r, nil, f.outcome()))
	// O_DIRECT against a buffered write: serialised, so the same mix is
	// torn.
	r = race(1, 0, []cases.Op{dw(0, 8192)}, []cases.Op{pw(0, 8192)})
	require.Equal(t, []string{"atomicity"}, checks(check(t, setup, r, nil, f.outcome())))
}

func TestRoundsShiftOffsets(t *testing.T) {
	r := race(3, 0x10000, []cases.Op{pw(0, 100)}, []cases.Op{pw(50, 100)})
	f := &file{}
	for k := int64(0); k < 3; k++ {
		f.write(cases.RaceIndex(0, 0), k*0x10000, 100, k*0x10000)
		f.write(cases.RaceIndex(1, 0), k*0x10000+50, 100, k*0x10000+50)
	}
	assert.Empty(t, check(t, nil, r, nil, f.outcome()))
	bad := f.outcome()
	bad.Content[0x10000+10] = 0
	ps := check(t, nil, r, nil, bad)
	require.Equal(t, []string{"content"}, checks(ps))
	assert.Contains(t, ps[0].Msg, "from round 1 thread 0 op 0 (pwrite 0x10000 0x64)")
}
