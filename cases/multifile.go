package cases

import "fmt"

// Several files per case, and the ops that share extents between them.
//
// An op names its file with Op.File: 0 is the case's own file (what every
// op meant before files were numbered, so old replay files read the same),
// N > 0 the file "<name>.<N>" in the same directory. The guest creates every
// file a case names before its first op; the host judges each of them.

// MaxFiles bounds the files of one case.
const MaxFiles = 4

// The shared-extent ops. Src/SrcOff is the source range, File/Off the
// destination, Len the length in bytes.
const (
	// Clone is ioctl(FICLONERANGE) (xfs with reflink only; others refuse
	// it with EOPNOTSUPP or EXDEV): the destination range shares the
	// source's blocks.
	Clone Kind = "clone"
	// Dedupe is ioctl(FIDEDUPERANGE) with one destination: the ranges
	// share blocks if their bytes are equal, else nothing changes and the
	// kernel reports FILE_DEDUPE_RANGE_DIFFERS. The guest returns the
	// status (0 same, 1 differs) as the op's value.
	Dedupe Kind = "dedupe"
	// CopyRange is copy_file_range(2), repeated while it makes progress
	// (as cp does): xfs remaps what it can, everything else is copied
	// through splice into ->write_iter. The guest returns the bytes copied.
	CopyRange Kind = "copyrange"
	// Unshare is fallocate(FALLOC_FL_UNSHARE_RANGE), optionally with
	// KEEP_SIZE (xfs only): shared blocks of the range get their own copy.
	Unshare Kind = "unshare"
)

// CrossFile reports whether the op reads another file (Src).
func (o Op) CrossFile() bool {
	return o.Kind == Clone || o.Kind == Dedupe || o.Kind == CopyRange
}

// Global reports whether the op acts on the whole filesystem rather than
// on one file.
func (o Op) Global() bool {
	return o.Kind == Sync || o.Kind == DropCaches || o.Kind == Remount
}

func (o Op) validateFiles() error {
	if o.File < 0 || o.File >= MaxFiles {
		return fmt.Errorf("op %s: file %d is not in [0, %d)", o, o.File, MaxFiles)
	}
	if o.File != 0 && o.Global() {
		return fmt.Errorf("op %s: %s acts on the whole filesystem and names no file", o, o.Kind)
	}
	if !o.CrossFile() && (o.Src != 0 || o.SrcOff != 0) {
		return fmt.Errorf("op %s: only clone, dedupe and copyrange take a source", o.Kind)
	}
	if o.CrossFile() && (o.Src < 0 || o.Src >= MaxFiles || o.SrcOff < 0) {
		return fmt.Errorf("op %s: bad source file or offset", o)
	}
	return nil
}

// FilesOf lists the file indexes a sequence uses, ascending; file 0 is
// always among them.
func FilesOf(ops []Op) []int {
	used := make([]bool, MaxFiles)
	used[0] = true
	for _, o := range ops {
		used[o.File] = true
		if o.CrossFile() {
			used[o.Src] = true
		}
	}
	var out []int
	for i, u := range used {
		if u {
			out = append(out, i)
		}
	}
	return out
}

// FileName is the name of file index i of a case whose file is name.
func FileName(name string, i int) string {
	if i == 0 {
		return name
	}
	return fmt.Sprintf("%s.%d", name, i)
}

func clone(src int, srcOff int64, dst int, off, n int64) Op {
	return Op{Kind: Clone, Src: src, SrcOff: srcOff, File: dst, Off: off, Len: n}
}
func dedupe(src int, srcOff int64, dst int, off, n int64) Op {
	return Op{Kind: Dedupe, Src: src, SrcOff: srcOff, File: dst, Off: off, Len: n}
}
func copyRange(src int, srcOff int64, dst int, off, n int64) Op {
	return Op{Kind: CopyRange, Src: src, SrcOff: srcOff, File: dst, Off: off, Len: n}
}
func unshare(off, n int64) Op { return Op{Kind: Unshare, Off: off, Len: n, KeepSize: true} }

// on returns op o acting on file f.
func on(f int, o Op) Op { o.File = f; return o }
