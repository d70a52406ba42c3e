//go:build !linux

package password

import (
	"os"
	"syscall"
)

func selfExe() (string, error) { return os.Executable() }

// runIdle lowers this process to nice 10, as on Linux.
func runIdle() error { return syscall.Setpriority(syscall.PRIO_PROCESS, 0, 10) }
