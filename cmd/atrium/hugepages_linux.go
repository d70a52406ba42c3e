package main

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on x86-64 and most
// arm64 kernels; on others the request below is refused or covers less.
const hugePage = 2 << 20

// growHeapInHugePages has the next n bytes the heap grows into come from
// the kernel in 2 MiB pages rather than 4 KiB ones, where the kernel gives
// them on request (transparent huge pages "madvise", the default of many
// distributions; "always" needs nothing, "never" ignores it). An import
// builds a heap of a few times its file at once, and a fault costs a few
// microseconds per 4 KiB page, ten on some virtual machines: 100,000 users
// took 115,000 faults, a fifth of the command's CPU. It allocates n bytes
// the process has not touched, asks for huge pages on them and frees them,
// so that the runtime hands the same addresses out next. It must run
// before the heap grows.
func growHeapInHugePages(n int64) {
	b := make([]byte, n)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := int((p+hugePage-1)&^(hugePage-1) - p)
	end := int((p+uintptr(n))&^(hugePage-1) - p)
	if start < end {
		_ = unix.Madvise(b[start:end], unix.MADV_HUGEPAGE) // only a hint
	}
	b = nil
	runtime.GC()
}
