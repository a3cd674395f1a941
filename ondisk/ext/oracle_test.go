package ext

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/iomapct/iomapct/ondisk"
	"github.com/stretchr/testify/require"
)

// oracleInode is debugfs's view of one inode, parsed from "stat".
type oracleInode struct {
	Ino     uint64
	Size    int64
	Flags   uint64
	Mode    uint32
	Extents []ondisk.Extent // data mappings, merged; Inline for inline data
	Meta    []uint64        // IND/DIND/TIND and ETBn blocks
	// InlineSize is "Size of inline data" (0 if absent).
	InlineSize int
	FastLink   bool
}

var (
	reIno       = regexp.MustCompile(`Inode: (\d+)\s+Type: (.+?)\s+Mode:\s+(\d+)\s+Flags: (0x[0-9a-f]+)`)
	reSize      = regexp.MustCompile(`Size: (\d+)\n`)
	reInline    = regexp.MustCompile(`Size of inline data: (\d+)`)
	reMapEntry  = regexp.MustCompile(`^\((\w+|\d+(?:-\d+)?)(\[u\])?\):(\d+)(?:-(\d+))?$`)
	typeModeBit = map[string]uint32{
		"regular": modeReg, "directory": modeDir, "symlink": modeLnk,
		"FIFO": modeFIFO, "socket": modeSock, "character": modeChr, "block": modeBlk,
	}
)

// parseStat decodes debugfs "stat" output.
func parseStat(t testing.TB, out string) oracleInode {
	t.Helper()
	m := reIno.FindStringSubmatch(out)
	require.NotNil(t, m, "no Inode line in debugfs stat output:\n%s", out)
	var o oracleInode
	o.Ino, _ = strconv.ParseUint(m[1], 10, 64)
	perm, _ := strconv.ParseUint(m[3], 8, 32)
	o.Mode = typeModeBit[m[2]] | uint32(perm)
	o.Flags, _ = strconv.ParseUint(m[4], 0, 64)
	sm := reSize.FindStringSubmatch(out)
	require.NotNil(t, sm, "no Size in debugfs stat output:\n%s", out)
	o.Size, _ = strconv.ParseInt(sm[1], 10, 64)
	if im := reInline.FindStringSubmatch(out); im != nil {
		o.InlineSize, _ = strconv.Atoi(im[1])
	}
	o.FastLink = strings.Contains(out, "Fast link dest:")
	for _, hdr := range []string{"BLOCKS:\n", "EXTENTS:\n"} {
		i := strings.Index(out, hdr)
		if i < 0 {
			continue
		}
		body := out[i+len(hdr):]
		if j := strings.Index(body, "\nTOTAL"); j >= 0 {
			body = body[:j]
		}
		body = strings.TrimSpace(body)
		if body == "" {
			continue
		}
		for _, item := range strings.Split(body, ", ") {
			mm := reMapEntry.FindStringSubmatch(strings.TrimSpace(item))
			require.NotNil(t, mm, "cannot parse debugfs block map item %q", item)
			p0, _ := strconv.ParseUint(mm[3], 10, 64)
			p1 := p0
			if mm[4] != "" {
				p1, _ = strconv.ParseUint(mm[4], 10, 64)
			}
			label := mm[1]
			if label[0] < '0' || label[0] > '9' {
				// IND, DIND, TIND, ETBn: one mapping-metadata block.
				o.Meta = append(o.Meta, p0)
				continue
			}
			l := strings.SplitN(label, "-", 2)
			l0, _ := strconv.ParseUint(l[0], 10, 64)
			l1 := l0
			if len(l) == 2 {
				l1, _ = strconv.ParseUint(l[1], 10, 64)
			}
			require.Equal(t, l1-l0, p1-p0, "debugfs map item %q: logical and physical lengths differ", item)
			kind := ondisk.Data
			if mm[2] != "" {
				kind = ondisk.Unwritten
			}
			o.Extents = append(o.Extents, ondisk.Extent{Logical: l0, Physical: p0, Count: l1 - l0 + 1, Kind: kind})
		}
	}
	o.Extents = mergeExtents(o.Extents)
	return o
}

// mergeExtents sorts extents and joins logically and physically adjacent
// runs of the same kind, so maps from different walkers compare equal.
func mergeExtents(in []ondisk.Extent) []ondisk.Extent {
	ex := append([]ondisk.Extent(nil), in...)
	sort.Slice(ex, func(i, j int) bool { return ex[i].Logical < ex[j].Logical })
	var out []ondisk.Extent
	for _, e := range ex {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.Kind == e.Kind && e.Kind != ondisk.Inline && last.Logical+last.Count == e.Logical && last.Physical+last.Count == e.Physical {
				last.Count += e.Count
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

func sortedCopy(in []uint64) []uint64 {
	out := append([]uint64{}, in...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
