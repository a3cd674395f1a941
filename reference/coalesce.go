package reference

// PredictedFlags are the iomap flags the model predicts. IOMAP_F_DIRTY
// (xfs_iomap.c:136-138, depends on the log pin count) and
// IOMAP_F_GFS2_BOUNDARY (gfs2/bmap.c:925-926, depends on where the pointer
// block ends) are not predicted: mask observed flags with this before
// comparing.
const PredictedFlags = FlagNew | FlagMerged | FlagBufferHead

// CoalesceCallouts merges consecutive callouts of one op on one folio that
// continue each other (same kind, mapping type and flags, both fully
// accepted). Filesystems split mappings at physical discontiguities the
// model cannot see (xfs extent records, gfs2_extent_length at
// gfs2/bmap.c:427-443), and iomap_write_iter then makes two write_begin
// calls on one folio where the model makes one; applying this to both the
// expected and the observed list makes them comparable.
func CoalesceCallouts(in []Callout) []Callout {
	var out []Callout
	for _, c := range in {
		c.Flags &= PredictedFlags
		if n := len(out); n > 0 {
			p := &out[n-1]
			if p.Op == c.Op && p.Kind == c.Kind && p.FolioPos == c.FolioPos && p.FolioSize == c.FolioSize &&
				p.Map == c.Map && p.Flags == c.Flags && p.Pos+p.Len == c.Pos &&
				p.Written == p.Len && p.Copied == p.Len && c.Written == c.Len && c.Copied == c.Len {
				p.Len += c.Len
				p.Copied += c.Copied
				p.Written += c.Written
				continue
			}
		}
		out = append(out, c)
	}
	return out
}
