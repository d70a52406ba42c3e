// Package packaging holds how Atrium is installed: the systemd unit here,
// the Containerfile and the release build at the top of the repository.
// It has no code; its tests check those files with the tools that use them
// (systemd-analyze, podman, the Go cross-compiler).
package packaging
