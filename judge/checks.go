package judge

// Check names the invariant a Failure is about. It is a string so the JSON
// reports (report.json, junit.xml) keep the names they always had; the
// constants below are the only names a verdict may carry, and Checks lists
// them with what each means (TestFindingsNameRealChecks holds
// judge.Findings to this list).
type Check string

// The check names. They are untyped constants so the call sites that pass
// them to Verdict.fail/errorf, or compare a Failure's Check with them, need
// no conversion.
const (
	CheckContent     = "content"
	CheckSize        = "size"
	CheckEOFTail     = "eof-tail"
	CheckStaleData   = "stale-data"
	CheckHoles       = "holes"
	CheckStuffed     = "stuffed"
	CheckShortCopy   = "short-copy"
	CheckCallouts    = "callouts"
	CheckConsole     = "console"
	CheckUnmount     = "unmount"
	CheckFsck        = "fsck"
	CheckCrash       = "crash"
	CheckGuest       = "guest"
	CheckImage       = "image"
	CheckModel       = "model"
	CheckUnsupported = "unsupported"
	CheckResults     = "results"
	CheckReturned    = "returned"
	CheckSharing     = "sharing"
	CheckRead        = "read"
	CheckDurable     = "durable"
	CheckReturn      = "return"
	CheckMount       = "mount"
	CheckAppend      = "append"
	CheckAtomicity   = "atomicity"
	CheckRace        = "race"
	// The crash-consistency checks (crash_pipeline.go): what a crash
	// point must show after recovery.
	CheckCrashContent    = "crash-content"
	CheckCrashSize       = "crash-size"
	CheckCrashDurability = "crash-durability"
	CheckRecovery        = "recovery"
)

// CheckInfo documents one check.
type CheckInfo struct {
	Name Check
	// Status is what a failure of the check makes of the verdict: Fail
	// (the kernel disagrees with the model), Error (the case could not be
	// judged) or Skip.
	Status Status
	Doc    string
}

// Checks is every check a verdict can name, in report order of importance.
var Checks = []CheckInfo{
	{CheckContent, Fail, "the file's bytes on disk equal the model's"},
	{CheckSize, Fail, "the on-disk i_size equals the model's"},
	{CheckEOFTail, Fail, "the on-disk bytes of the EOF block past i_size are zero"},
	{CheckStaleData, Fail, "the free-space poison written before mkfs never appears in the file"},
	{CheckHoles, Fail, "blocks the model keeps as holes are holes, blocks it says hold data are mapped"},
	{CheckStuffed, Fail, "gfs2's stuffed (inline) state equals the model's"},
	{CheckShortCopy, Fail, "a short-copy op's write returned the bytes the model copies"},
	{CheckReturned, Fail, "a copy_file_range/clone/dedupe op returned what the model expects (bytes copied, dedupe status)"},
	{CheckSharing, Fail, "blocks the model shares after a clone, dedupe or copy_file_range share one physical block on disk, and no others do"},
	{CheckRead, Fail, "a read op during the sequence (read, mapread) returned the model's bytes and length"},
	{CheckDurable, Fail, "a sync write's range read back from the disk right after it returned equals the model's"},
	{CheckReturn, Fail, "an op returned what the model expects (EAGAIN where RWF_NOWAIT may not write)"},
	{CheckAppend, Fail, "racing O_APPEND writes landed at positions that do not overlap (reference/race)"},
	{CheckAtomicity, Fail, "racing writes serialised by i_rwsem were not interleaved (reference/race)"},
	{CheckRace, Error, "the guest ran a race case on enough CPUs for its threads to run at once"},
	{CheckCallouts, Fail, "the per-folio callouts the kernel traced equal the model's (Error when the trace cannot be trusted)"},
	{CheckConsole, Fail, "the kernel logged no report (WARNING, BUG, oops, lockdep, hung task) while the case ran"},
	{CheckUnmount, Fail, "the filesystem unmounted cleanly"},
	{CheckFsck, Fail, "the filesystem's own fsck finds nothing"},
	{CheckCrash, Error, "the guest reported the case and unmounted its disk (it did not die or hang first)"},
	{CheckGuest, Error, "the guest ran every op of the case without an error"},
	{CheckImage, Error, "the host reader could open the image and read the file"},
	{CheckModel, Error, "the reference model could run the case"},
	{CheckUnsupported, Skip, "the filesystem supports every op of the case (else the verdict is SKIP)"},
	{CheckMount, Error, "the guest mounted the filesystem (else its cases did not run)"},
	{CheckResults, Error, "every line the guest sent decodes as a result record"},
	{CheckCrashContent, Fail, "after a power cut and recovery, every byte made durable before the cut reads back, the others hold a value they had since (never poison)"},
	{CheckCrashSize, Fail, "after a power cut and recovery, the size lies within the sizes the file had since its last durable point"},
	{CheckRecovery, Fail, "the recovery boot mounted (replayed the journal or log of) and unmounted the crash image with no kernel report"},
	{CheckCrashDurability, Fail, "the crash point's image could be recovered and read: the file exists, the filesystem mounts and fsck is clean"},
}

// IsCheck reports whether name is one of Checks.
func IsCheck(name Check) bool {
	for _, c := range Checks {
		if c.Name == name {
			return true
		}
	}
	return false
}
