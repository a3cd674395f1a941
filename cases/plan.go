package cases

// Plan is what the host asks the guest agent to do: for each disk, mount it
// and run each file's ops. The host builds it from the catalogue (or a
// random sequence) and the model runs the very same ops.
type Plan struct {
	Disks []DiskPlan `json:"disks"`
}

// DiskPlan is one filesystem image attached to the VM.
type DiskPlan struct {
	// Name is unique in the plan, e.g. "xfs-4k".
	Name      string     `json:"name"`
	FS        string     `json:"fs"`
	BlockSize int64      `json:"block_size"`
	Device    string     `json:"device"` // /dev/vda, ...
	MountOpts string     `json:"mount_opts,omitempty"`
	Files     []FilePlan `json:"files"`
	// Crash runs the disk for a power cut (iomapct crash): each file is
	// created durably first, a marker (vmtest/logwrites.Marker) is written
	// to the raw device at MarkerOffset after every op, and the disk is
	// never unmounted; the host cuts the power after the last op.
	Crash        bool  `json:"crash,omitempty"`
	MarkerOffset int64 `json:"marker_offset,omitempty"`
	// Recover only mounts the disk (journal or log recovery) and unmounts
	// it, reporting both in its DiskResult; a crash image gets this.
	Recover bool `json:"recover,omitempty"`
}

// FilePlan is one case run: a file in the root of the filesystem.
type FilePlan struct {
	Case string `json:"case"`
	File string `json:"file"`
	Ops  []Op   `json:"ops"`
}

// Result is what the guest reports for one FilePlan.
type Result struct {
	Disk string `json:"disk"`
	Case string `json:"case"`
	File string `json:"file"`
	// Ino and Size are fstat's view at the end (the host does not trust
	// them beyond using Ino to find the file in the image).
	Ino  uint64 `json:"ino"`
	Size int64  `json:"size"`
	// OpsDone counts ops that completed; on error the failing op is
	// OpsDone (0-based).
	OpsDone int    `json:"ops_done"`
	Err     string `json:"err,omitempty"`
	// Returned holds each op's return value (bytes written for writes).
	Returned []int64 `json:"returned,omitempty"`
	// Trace holds the file's iomap callout trace events, in order, where
	// the kernel exports them (the series under test adds them).
	Trace []string `json:"trace,omitempty"`
	// TraceErr says why Trace cannot be trusted (it could not be read, or
	// the ring buffer dropped events); the callout check then reports that
	// instead of comparing.
	TraceErr string `json:"trace_err,omitempty"`
	// Kernel holds the kernel log records of level KERN_WARNING or worse
	// logged while the case ran (read from /dev/kmsg in the guest).
	Kernel []string `json:"kernel,omitempty"`
}

// DiskResult is what the guest reports when it unmounts a disk.
type DiskResult struct {
	Disk       string `json:"disk"`
	UnmountErr string `json:"unmount_err,omitempty"`
	// MountErr is set when a Recover disk did not mount.
	MountErr string `json:"mount_err,omitempty"`
	// Kernel holds warnings and worse logged by the unmount.
	Kernel []string `json:"kernel,omitempty"`
}
