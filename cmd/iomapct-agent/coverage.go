//go:build linux

package main

import "github.com/iomapct/iomapct/vmtest/guest"

// cov sends a coverage kernel's gcov counters after each step (a disk's
// mount, each case, its unmount); nil on any other kernel, where Send does
// nothing.
var cov *guest.Gcov
