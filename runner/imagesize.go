package runner

import (
	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/filesystems"
)

// Image sizing. Every image is ImageSize unless its files could need more:
// `--random 200` puts about 200 random sequences of up to
// cases.RandomMaxSize per file (and half of them a second file) next to
// the catalogue on one image, which no longer fits in 64 MiB (xfs-4k ran
// out of space from random-xfs-186 on). The plan says how far each file
// can reach, so each disk is sized from its own files, and the default
// catalogue keeps its small, quick images.

// imageSlack is what a filesystem allocates beyond a file's bytes, in
// eighths of them (the registry's SpaceSlack).
func imageSlack(fs string) int64 {
	if e, err := filesystems.Lookup(fs); err == nil && e.SpaceSlack > 0 {
		return e.SpaceSlack
	}
	return 16 // an unknown filesystem: the roomiest known
}

// imageBase is the room the filesystem itself takes (journal or log,
// allocation groups, resource groups, inode tables) before the files
// count.
const imageBase = 24 << 20

// imageRound rounds image sizes up (mkfs geometry likes round sizes).
const imageRound = 16 << 20

// DiskImageSize is the size of the image for d: ImageSize, or, when the
// files of its plan could reach more, imageBase plus their bytes with the
// filesystem's slack, rounded up. The bytes are a bound (the largest size
// each file reaches, holes counted as data), so the estimate errs on the
// roomy side: a case that fails with ENOSPC would be an ERROR, not a
// finding.
func DiskImageSize(d cases.DiskPlan) int64 {
	var bytes int64
	for _, f := range d.Files {
		bytes += planFileBytes(f)
	}
	need := imageBase + bytes*imageSlack(d.FS)/8
	need = (need + imageRound - 1) / imageRound * imageRound
	return max(ImageSize, need)
}

// planFileBytes bounds the bytes the files of one case run can hold at
// once: for each of its files, the largest size or allocation end its ops
// can reach (a race adds its threads' ops, shifted by the stride of each
// round).
func planFileBytes(f cases.FilePlan) int64 {
	sizes := map[int]*fileReach{}
	reach := func(file int) *fileReach {
		r := sizes[file]
		if r == nil {
			r = &fileReach{}
			sizes[file] = r
		}
		return r
	}
	for _, op := range f.Ops {
		reach(op.File).apply(op)
	}
	if f.Race != nil {
		for _, th := range f.Race.Threads {
			for _, op := range th.Ops {
				r := reach(op.File)
				for k := 0; k < f.Race.Rounds; k++ {
					r.apply(cases.Shifted(op, int64(k)*f.Race.Stride))
				}
			}
		}
	}
	var total int64
	for _, r := range sizes {
		total += r.peak
	}
	return total
}

// fileReach follows one file's size through its ops, keeping the largest
// size or allocated end seen.
type fileReach struct {
	size, peak int64
}

func (r *fileReach) apply(op cases.Op) {
	end := op.Off + op.Len
	switch op.Kind {
	case cases.Append:
		r.size += op.Len
	case cases.PWritev2:
		if op.HasRWF("append") {
			r.size += op.Len
		} else {
			r.size = max(r.size, end)
		}
	case cases.Truncate:
		r.size = op.Off
	case cases.Insert:
		r.size += op.Len
	case cases.Collapse:
		r.size = max(0, r.size-op.Len)
	case cases.Fallocate, cases.ZeroRange, cases.Unshare:
		if op.KeepSize {
			// Allocates past EOF without moving it.
			r.peak = max(r.peak, end)
		} else {
			r.size = max(r.size, end)
		}
	case cases.PunchHole, cases.Read, cases.MapRead:
		// Neither grows the file.
	default:
		if op.Len > 0 {
			r.size = max(r.size, end)
		}
	}
	r.peak = max(r.peak, r.size)
}
