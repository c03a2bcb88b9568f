// Package openblas links the OpenBLAS library into a binary built with
// -tags openblas (Debian: apt-get install libopenblas-dev). It holds no code:
// its only job is the cgo linker flag, kept out of package model because a
// package with cgo files cannot also have Go assembly files. Without the tag
// it is empty and the build stays pure Go.
package openblas
