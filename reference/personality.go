package reference

import (
	"fmt"
	"sort"
	"strings"
)

// personality is how the 6.12 kernel's write path treats files of one
// filesystem, as far as the model needs to know beyond the rule files'
// fsKind switches: the block sizes and folio geometry it gives the page
// cache, whether new files start stuffed, which hooks of the series under
// test it installs, and what of its callouts the model can predict. It is
// model policy: runner asks for it (GeometryFor, PredictsMapping,
// ExpectedTrace) rather than deciding by filesystem name.
//
// The filesystem registry (package filesystems) holds the facts outside
// the model — mkfs, fsck, reader, capabilities — keyed by the same names;
// reference's tests hold the two lists equal.
type personality struct {
	kind fsKind
	// minBlock and maxBlock bound the block size the model takes;
	// maxBlock 0 means the page size (no blocks above PAGE_SIZE in 6.12
	// except on xfs, with large folios).
	minBlock, maxBlock int64
	// largeFolios: the filesystem asks for large folios
	// (mapping_set_large_folios), so the page cache may hold folios up to
	// MAX_PAGECACHE_ORDER when the kernel has THP.
	largeFolios bool
	// stuffed: a new file keeps its data in the inode (gfs2_create_inode
	// makes di_height 0).
	stuffed bool
	// postFolioHooks: the series' post-step hooks (folio_done, put_folio)
	// run on this filesystem's iomap steps (gfs2's iomap_folio_ops and
	// write ops; see PostFolioHook).
	postFolioHooks bool
	// mappingUnpredicted: the model does not predict the mapping type and
	// IOMAP_F_NEW of the filesystem's callouts (see PredictsMapping).
	mappingUnpredicted bool
	// shortCopyPlain: a short copy is a plain write of the copied bytes,
	// never a refused step (gfs2_file_buffered_write cuts the iov_iter to
	// the readable part), so the short-copy deviation has no tails.
	shortCopyPlain bool
}

// personalities are the model's filesystems. Block-size bounds: ext2_fill_super
// and ext4_load_super take 1024..PAGE_SIZE; xfs 512..65536 with large block
// sizes (xfs_super.c:1653-1670); gfs2 512..PAGE_SIZE.
var personalities = map[string]personality{
	"ext2": {kind: fsExt2, minBlock: 1024},
	"ext4": {kind: fsExt4, minBlock: 1024},
	"xfs":  {kind: fsXFS, minBlock: 512, maxBlock: 65536, largeFolios: true, mappingUnpredicted: true},
	"gfs2": {kind: fsGFS2, minBlock: 512, stuffed: true, postFolioHooks: true, shortCopyPlain: true},
}

// Personalities lists the filesystems the model knows, sorted.
func Personalities() []string {
	var out []string
	for name := range personalities {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func personalityOf(fs string) (personality, error) {
	p, ok := personalities[fs]
	if !ok {
		return p, fmt.Errorf("geometry: FS %q is not one of %s", fs, strings.Join(Personalities(), ", "))
	}
	return p, nil
}

// GeometryFor is the geometry of a file on filesystem fs with blocks of bs
// bytes on the 6.12 x86-64 kernel (4 KiB pages), whose page cache gives
// large folios or not (largeFolios: the kernel has
// CONFIG_TRANSPARENT_HUGEPAGE, without which mapping_set_folio_order_range,
// include/linux/pagemap.h:408-413, sets no order). A filesystem that asks
// for large folios (xfs, mapping_set_large_folios) then gets folios up to
// MAX_PAGECACHE_ORDER, PMD order on x86-64: 2 MiB; every other folio is
// one page. An unknown fs gets one-page folios; New refuses it.
func GeometryFor(fs string, bs int64, largeFolios bool) Geometry {
	g := Geometry{FS: fs, BlockSize: bs, PageSize: 4096, MaxFolio: 4096}
	if p, ok := personalities[fs]; ok && p.largeFolios && largeFolios {
		g.MaxFolio = g.PageSize << 9
	}
	return g
}

// PredictsMapping says whether the model predicts the mapping type and
// IOMAP_F_NEW of a filesystem's callouts. Not on xfs: the model leaves out
// speculative post-EOF preallocation (xfs_buffered_write_iomap_begin,
// xfs_iomap.c:1114-1145, sized by file size, previous extent and free
// space) and writeback's conversion of a whole delalloc extent into
// unwritten extents (xfs_bmapi_convert_delalloc, libxfs/xfs_bmap.c:
// 4685-4689), so where it says "hole, new delalloc" xfs may legitimately
// hold delalloc, unwritten or written blocks, with other extent edges. On
// v1 and v2 that was 95 of the 98 xfs callout differences left after the
// gfs2 and EOF fixes; the other 3 were the lengths of short-copied steps,
// which end at the mapping's end where that comes first (iomap_length).
// The bytes are judged by the content, hole and fsck checks either way;
// the callouts' kind, position, copied and written bytes, and the length
// of every fully copied step, are still compared on xfs. An unknown
// filesystem is predicted (New refuses it anyway).
func PredictsMapping(fs string) bool { return !personalities[fs].mappingUnpredicted }

// TracedCallout is one step of the expected trace: the model's callout
// and whether the revision's post-step hook traces an event after it.
type TracedCallout struct {
	Callout
	// Done: the post-step hook's event (v2's iomap_folio_done, v3's
	// iomap_put_folio) follows the step's iomap_write_end.
	Done bool
}

// ExpectedTrace is the model's callout sequence as the kernel's iomap
// trace events would show it on a revision whose post-step hook is hook:
// the buffer-head path of ext2/ext4 (CalloutAops) goes through
// ->write_begin/->write_end of the address space, never through iomap, so
// it leaves no iomap events; unshare steps are left out too (runner
// compares them as byte ranges); and a step is Done where hook.Runs.
func (m *Model) ExpectedTrace(hook PostFolioHook) []TracedCallout {
	var out []TracedCallout
	for _, c := range m.Callouts() {
		if c.Kind == CalloutAops || c.Kind == CalloutUnshare {
			continue
		}
		out = append(out, TracedCallout{Callout: c, Done: hook.Runs(m.g.FS, c)})
	}
	return out
}
