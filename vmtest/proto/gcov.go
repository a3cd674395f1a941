package proto

// Gcov is the record type of a coverage kernel's counters: after each step
// (a disk's mount, each case, its unmount) the guest sends the gcov data
// files whose counters changed since its previous Gcov record. Counters are
// cumulative since boot, never reset, so nothing run between two records is
// lost; the host tells what a step reached by comparing consecutive
// snapshots. Name is the step ("xfs-4k/append-series", "xfs-4k/umount").
const Gcov = "gcov"

// GcovFiles is the Data of a Gcov record.
type GcovFiles struct {
	Files []GcovFile `json:"files"`
}

// GcovFile is one .gcda file as the kernel serialised it under
// /sys/kernel/debug/gcov: Path is its path there (the build directory's
// path on the host that built the kernel, then the object's), Gz its
// gzip-compressed bytes (counters are mostly zero: about 10x smaller).
type GcovFile struct {
	Path string `json:"path"`
	Gz   []byte `json:"gz"`
}
