package cases

// Plan is what the host asks the guest agent to do: for each disk, mount it
// and run each file's ops. The host builds it from the catalogue (or a
// random sequence) and the model runs the very same ops.
type Plan struct {
	Disks []DiskPlan `json:"disks"`
	// Shell, if set, asks for an interactive session instead of a run: the
	// agent mounts every disk, runs its files' ops, then starts a shell on
	// the console (iomapct shell).
	Shell *ShellPlan `json:"shell,omitempty"`
}

// ShellPlan is an interactive session in the guest.
type ShellPlan struct {
	// Shell is the shell's path in the initramfs, Args its arguments;
	// Path is its PATH.
	Shell string   `json:"shell"`
	Args  []string `json:"args,omitempty"`
	Path  string   `json:"path"`
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
}

// FilePlan is one case run: a file in the root of the filesystem.
type FilePlan struct {
	Case string `json:"case"`
	File string `json:"file"`
	Ops  []Op   `json:"ops"`
	// Race, if set, makes this a concurrent case: Ops set the file up,
	// then the race runs (cases/concurrent.go).
	Race *Race `json:"race,omitempty"`
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
	// ReadData holds, per op index, the bytes a read or mapread op got
	// (nil for other ops); the judge compares them with the model.
	ReadData [][]byte `json:"read_data,omitempty"`
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
	// Race is the race's account (concurrent cases only).
	Race *RaceResult `json:"race,omitempty"`
	// Files are the case's other files (index 1 and up, see FilesOf);
	// Ino, Size and Trace above are file 0's.
	Files []FileResult `json:"files,omitempty"`
}

// FileResult is the end state of one more file of a case.
type FileResult struct {
	Index int      `json:"index"`
	Ino   uint64   `json:"ino"`
	Size  int64    `json:"size"`
	Trace []string `json:"trace,omitempty"`
}

// DiskResult is what the guest reports when it unmounts a disk.
type DiskResult struct {
	Disk       string `json:"disk"`
	UnmountErr string `json:"unmount_err,omitempty"`
	// MountErr says the disk could not be mounted, with the kernel's
	// console lines that explain it; none of its cases ran.
	MountErr string `json:"mount_err,omitempty"`
	// Kernel holds warnings and worse logged by the unmount.
	Kernel []string `json:"kernel,omitempty"`
}
