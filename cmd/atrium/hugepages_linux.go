package main

import (
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page over 4 KiB pages
// (x86-64, most arm64 kernels).
const hugePage = 2 << 20

// maxHugeReserve bounds the memory growHeapInHugePages allocates (only
// addresses until touched), so that a very large file cannot have it
// refused.
const maxHugeReserve = 1 << 30

// growHeapInHugePages has the next n bytes the heap grows into come from
// the kernel in 2 MiB pages rather than 4 KiB ones, where the kernel gives
// them on request (transparent huge pages "madvise", the default of many
// distributions; "always" needs nothing, "never" ignores it). An import
// or export builds its heap at once, and a fault costs a few microseconds
// per 4 KiB page, ten on some virtual machines: importing 100,000 users
// took 115,000 faults, a fifth of the command's CPU. It allocates n bytes
// the process has not touched, asks for huge pages on them and frees them,
// so that the runtime hands the same addresses out next. It must run
// before the heap grows. n is capped at maxHugeReserve, and the request
// left out where addresses are scarce (32-bit).
func growHeapInHugePages(n int64) {
	if strconv.IntSize < 64 || n <= 0 {
		return
	}
	adviseHugePages(make([]byte, min(n, maxHugeReserve)))
	runtime.GC() // frees the pages for the heap to reuse
}

// adviseHugePages asks for huge pages on the whole huge pages inside b.
func adviseHugePages(b []byte) {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := int((p+hugePage-1)&^(hugePage-1) - p)
	end := int((p+uintptr(len(b)))&^(hugePage-1) - p)
	if start < end {
		_ = unix.Madvise(b[start:end], unix.MADV_HUGEPAGE) // only a hint
	}
}
