//go:build !amd64 || purego

package main

// fmaLoops is empty off amd64 and with -tags purego: no FMA peak is
// measured and the report says so.
func fmaLoops() []fmaLoop { return nil }
