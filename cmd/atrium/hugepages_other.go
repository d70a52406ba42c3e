//go:build !linux

package main

func growHeapInHugePages(n int64) {}
