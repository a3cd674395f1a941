// Package runner turns a kernel, a series and the case catalogue into
// verdicts: it builds and boots, lets the guest write, and hands the plan,
// the guest's records and the images to package judge, which reads the
// images on the host and holds the bytes against the reference model.
// runner then writes the reports, and compares, bisects, shards and
// re-judges runs.
package runner
