package coverage

// Group is a named set of functions the report tabulates on its own,
// with every unreached line listed.
type Group struct {
	Name  string
	Funcs []GroupFunc
}

// GroupFunc is a function of a group, in a source file.
type GroupFunc struct {
	Source, Name string
}

func group(name, source string, funcs ...string) Group {
	g := Group{Name: name}
	for _, f := range funcs {
		g.Funcs = append(g.Funcs, GroupFunc{source, f})
	}
	return g
}

func join(name string, gs ...Group) Group {
	out := Group{Name: name}
	for _, g := range gs {
		out.Funcs = append(out.Funcs, g.Funcs...)
	}
	return out
}

// WritePathGroups are the functions issue 14's "Done when" measures:
// iomap's buffered-write functions and the folio-state helpers they call
// (fs/iomap/buffered-io.c, 6.12), and the gfs2 and xfs write paths
// (buffered write, page fault, zeroing, fallocate, writeback mapping,
// copy-on-write).
var WritePathGroups = []Group{
	group("iomap buffered write (fs/iomap/buffered-io.c)", "fs/iomap/buffered-io.c",
		// named in the issue
		"iomap_write_begin", "__iomap_write_begin", "iomap_write_end", "__iomap_write_end",
		"iomap_write_iter", "iomap_unshare_iter", "iomap_zero_iter", "iomap_page_mkwrite",
		"iomap_writepage_handle_eof",
		// what they call: folio state, reads of partial blocks, folio get/put, inline data
		"ifs_alloc", "ifs_is_fully_uptodate", "ifs_block_is_uptodate", "ifs_set_range_uptodate",
		"iomap_set_range_uptodate", "ifs_set_range_dirty", "iomap_set_range_dirty",
		"iomap_adjust_read_range", "iomap_block_needs_zeroing", "iomap_read_folio_sync",
		"iomap_write_failed", "__iomap_get_folio", "__iomap_put_folio",
		"iomap_write_begin_inline", "iomap_write_end_inline",
		"iomap_folio_mkwrite_iter", "iomap_zero_iter_flush_and_stale"),
	join("gfs2 write path",
		group("", "fs/gfs2/file.c", "gfs2_file_write_iter", "gfs2_file_buffered_write", "gfs2_page_mkwrite",
			"gfs2_allocate_folio_backing", "__gfs2_fallocate", "fallocate_chunk"),
		group("", "fs/gfs2/bmap.c", "gfs2_iomap_begin", "gfs2_iomap_begin_write", "gfs2_iomap_end",
			"gfs2_iomap_get_folio", "gfs2_iomap_put_folio", "__gfs2_iomap_get", "__gfs2_iomap_alloc",
			"gfs2_unstuff_dinode", "__gfs2_unstuff_inode", "gfs2_unstuffer_folio",
			"gfs2_write_alloc_required", "gfs2_block_zero_range", "gfs2_map_blocks"),
		group("", "fs/gfs2/aops.c", "gfs2_writepages")),
	join("xfs write path",
		group("", "fs/xfs/xfs_file.c", "xfs_file_write_iter", "xfs_file_buffered_write", "xfs_file_write_checks",
			"xfs_file_write_zero_eof", "xfs_write_fault", "xfs_filemap_page_mkwrite", "xfs_file_fallocate",
			"xfs_falloc_zero_range", "xfs_falloc_allocate_range", "xfs_falloc_unshare_range"),
		group("", "fs/xfs/xfs_iomap.c", "xfs_buffered_write_iomap_begin", "xfs_buffered_write_iomap_end",
			"xfs_buffered_write_delalloc_punch", "xfs_iomap_valid", "xfs_bmbt_to_iomap",
			"xfs_iomap_prealloc_size", "xfs_zero_range", "xfs_truncate_page"),
		group("", "fs/xfs/xfs_aops.c", "xfs_vm_writepages", "xfs_map_blocks", "xfs_imap_valid",
			"xfs_prepare_ioend", "xfs_end_ioend", "xfs_setfilesize"),
		group("", "fs/xfs/xfs_reflink.c", "xfs_reflink_allocate_cow", "xfs_find_trim_cow_extent",
			"xfs_reflink_convert_cow_locked", "xfs_reflink_end_cow", "xfs_reflink_cancel_cow_range",
			"xfs_reflink_unshare")),
}
