//go:build !linux

package state

func pageOut(dir string) int64 { return 0 }

func mapsDir(dir string) string { return dir }
