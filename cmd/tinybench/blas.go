package main

import (
	"fmt"
	"path/filepath"
	"strings"
)

// blasReport is what bench/torch_bench.py says about the BLAS its process
// loaded and the threads it runs (blas_report there), read after a matmul.
type blasReport struct {
	Sgemm           string            `json:"sgemm"`            // real path of the library whose sgemm_ libtorch calls; "" when unknown
	Libs            []mappedLib       `json:"libs"`             // mapped files named like a BLAS or LAPACK
	OpenBLASConfig  string            `json:"openblas_config"`  // openblas_get_config(); "" without OpenBLAS
	OpenBLASThreads int               `json:"openblas_threads"` // openblas_get_num_threads(); -1 without OpenBLAS
	TorchThreads    int               `json:"torch_threads"`    // torch.get_num_threads()
	TorchBLASInfo   string            `json:"torch_blas_info"`  // BLAS_INFO of torch's build ("generic": libblas.so.3; "mkl")
	Affinity        []int             `json:"affinity"`         // the CPUs the process may run on
	Env             map[string]string `json:"env"`              // the thread variables set
}

type mappedLib struct {
	Mapped string `json:"mapped"`
	Real   string `json:"real"`
}

// blasFix is how to give PyTorch an optimized BLAS on Debian.
const blasFix = "install OpenBLAS (as root: apt-get install libopenblas0-pthread; the libblas.so.3 alternative then points to it, " +
	"see update-alternatives --display libblas.so.3-x86_64-linux-gnu) and run again"

// kind names the BLAS behind torch's sgemm_: OpenBLAS, MKL, BLIS, ATLAS,
// "reference" (netlib, Debian's libblas3) or "" when the report does not
// tell.
func (b *blasReport) kind() string {
	p := strings.ToLower(b.Sgemm)
	switch {
	case strings.Contains(p, "openblas"):
		return "OpenBLAS"
	case strings.Contains(p, "mkl"):
		return "MKL"
	case strings.Contains(p, "blis"):
		return "BLIS"
	case strings.Contains(p, "atlas"):
		return "ATLAS"
	case p != "" && (strings.Contains(p, "/blas/") || strings.HasPrefix(filepath.Base(p), "libblas.so")):
		return "reference"
	case p == "" && strings.EqualFold(b.TorchBLASInfo, "mkl"):
		return "MKL" // linked into libtorch (pip wheels): no sgemm_ to look up
	}
	return ""
}

// threads is the configuration's label: "torch 2 x OpenBLAS 1".
func (b *blasReport) label() string {
	k := b.kind()
	if k == "OpenBLAS" {
		return fmt.Sprintf("torch %d x OpenBLAS %d", b.TorchThreads, b.OpenBLASThreads)
	}
	return fmt.Sprintf("torch %d x %s", b.TorchThreads, k)
}

// checkTorch refuses a PyTorch result that is not PyTorch at its best or
// not the configuration asked for: no BLAS report, the reference BLAS, a
// BLAS it cannot name, or thread counts other than torchThreads and
// blasThreads (0: not checked).
func checkTorch(r *Result, torchThreads, blasThreads int) error {
	b := r.BLAS
	if b == nil {
		return fmt.Errorf("tinybench: the PyTorch twin reported no BLAS (an older bench/torch_bench.py?): cannot tell whether it ran on an optimized one")
	}
	switch b.kind() {
	case "reference":
		return fmt.Errorf("tinybench: PyTorch ran on the reference BLAS (sgemm_ from %s), many times slower than an optimized one, "+
			"so its column would flatter tinyr1: %s", b.Sgemm, blasFix)
	case "":
		return fmt.Errorf("tinybench: cannot tell which BLAS PyTorch's sgemm_ comes from (%q, BLAS_INFO %q): want OpenBLAS, MKL, BLIS or ATLAS; %s",
			b.Sgemm, b.TorchBLASInfo, blasFix)
	case "OpenBLAS":
		if blasThreads > 0 && b.OpenBLASThreads != blasThreads {
			return fmt.Errorf("tinybench: PyTorch's OpenBLAS runs %d threads: want %d (OPENBLAS_NUM_THREADS=%q)",
				b.OpenBLASThreads, blasThreads, b.Env["OPENBLAS_NUM_THREADS"])
		}
	}
	if torchThreads > 0 && b.TorchThreads != torchThreads {
		return fmt.Errorf("tinybench: torch.get_num_threads() is %d: want %d", b.TorchThreads, torchThreads)
	}
	return nil
}
