//go:build !linux

package media

func lockThread() {}

func lowerThreadPriority(int) {}
