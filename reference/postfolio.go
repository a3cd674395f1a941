package reference

// PostFolioHook names the file system hook that a revision of the series
// under test runs after each per-folio write or zero step, and whose trace
// event follows that step's iomap_write_end (kernel/patches/
// iomap-write-ops/README.md, "Trace events"). The unpatched kernel and v1
// trace no such hook.
type PostFolioHook uint8

const (
	// PostFolioNone: no post-step hook is traced (baseline, v1).
	PostFolioNone PostFolioHook = iota
	// PostFolioDone: v2's iomap_folio_ops->folio_done, which gfs2 installs
	// in gfs2_iomap_begin_write only for mappings of journaled-data files
	// that are not stuffed (v2 0002), so only after steps in such a
	// mapping: MAPPED, with IOMAP_F_BUFFER_HEAD (gfs2_iomap_begin sets it
	// for jdata, bmap.c:1100-1101).
	PostFolioDone
	// PostFolioPut: v3's iomap_write_ops->put_folio (traced as
	// iomap_put_folio). gfs2 passes gfs2_iomap_write_ops for every file
	// from gfs2_file_buffered_write and gfs2_block_zero_range (v3 0002),
	// and iomap calls ->put_folio after every step that reached its end
	// (__iomap_put_folio in iomap_write_iter and iomap_zero_iter), so it
	// runs after every gfs2 step, whatever the mapping; it returns early
	// unless the file is stuffed or journaled, which the trace does not
	// show. xfs passes only ->iomap_valid, which never shows in the trace
	// while it returns true (v3 0003: holes included), and ext2/ext4 write
	// through buffer heads, not iomap.
	PostFolioPut
)

var postFolioHookNames = [...]string{"none", "folio_done", "put_folio"}

func (h PostFolioHook) String() string {
	if int(h) < len(postFolioHookNames) {
		return postFolioHookNames[h]
	}
	return "PostFolioHook(?)"
}

// Runs says whether the hook runs after step c of a file on filesystem fs:
// only where fs installs the series' hooks (gfs2, personality.go).
func (h PostFolioHook) Runs(fs string, c Callout) bool {
	if !personalities[fs].postFolioHooks || c.Kind == CalloutAops {
		return false
	}
	switch h {
	case PostFolioDone:
		return c.Map == MapMapped && c.Flags&FlagBufferHead != 0
	case PostFolioPut:
		return true
	}
	return false
}
