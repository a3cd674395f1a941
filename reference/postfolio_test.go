package reference

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/iomapct/iomapct/cases"
)

// hooked lists, per step of the model, whether each hook runs after it.
func hooked(m *Model, h PostFolioHook) []bool {
	var out []bool
	for _, c := range m.Callouts() {
		out = append(out, h.Runs(m.Geometry().FS, c))
	}
	return out
}

// v2's folio_done runs only after steps in unstuffed jdata mappings (gfs2
// installs it in gfs2_iomap_begin_write for !stuffed && jdata, v2 0002);
// v3's put_folio runs after every gfs2 step, stuffed, plain or jdata
// (gfs2 passes gfs2_iomap_write_ops for every file, v3 0002, and
// __iomap_put_folio calls it after each step, buffered-io.c:1022 and
// 1440 in 6.12).
func TestPostFolioHook_gfs2_v2_jdata_only_v3_every_file(t *testing.T) {
	jdata := cases.Op{Kind: cases.JournalData}
	// A stuffed write (inline), then one that unstuffs (mapped, not jdata).
	plain := mustRun(t, gfs2_4k, pw(0, 100), pw(100, 5000))
	// The same on a jdata file.
	jd := mustRun(t, gfs2_4k, jdata, pw(0, 100), pw(100, 5000))

	for _, m := range []*Model{plain, jd} {
		assert.NotEmpty(t, m.Callouts())
		assert.Equal(t, MapInline, m.Callouts()[0].Map, "the first write stays stuffed")
		for _, on := range hooked(m, PostFolioPut) {
			assert.True(t, on, "put_folio runs after every gfs2 step")
		}
		for _, on := range hooked(m, PostFolioNone) {
			assert.False(t, on)
		}
	}
	for _, on := range hooked(plain, PostFolioDone) {
		assert.False(t, on, "no folio_done on a file without jdata")
	}
	done := hooked(jd, PostFolioDone)
	assert.False(t, done[0], "no folio_done for the stuffed step")
	for i, c := range jd.Callouts()[1:] {
		assert.Equal(t, c.Map == MapMapped, done[i+1], "folio_done after each mapped jdata step: %v", c)
	}
	assert.Contains(t, done, true)
}

// No hook is traced on xfs (v3 passes only ->iomap_valid) or on the
// buffer-head path of ext2/ext4.
func TestPostFolioHook_none_on_xfs_ext(t *testing.T) {
	for _, g := range []Geometry{xfs4k, ext4_1k, ext2_1k} {
		m := mustRun(t, g, pw(0, 100), pw(5000, 10000))
		assert.NotEmpty(t, m.Callouts(), g.FS)
		for _, h := range []PostFolioHook{PostFolioNone, PostFolioDone, PostFolioPut} {
			for _, on := range hooked(m, h) {
				assert.False(t, on, "%s %s", g.FS, h)
			}
		}
	}
}
