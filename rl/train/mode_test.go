package train

import "testing"

// The kind is written into manifests and run ids, and resume finds the mode
// again from the manifest: the round trip must hold for every mode.
func TestModeOfAndKind(t *testing.T) {
	tests := []struct {
		kind        string
		fromSamples bool
		want        Mode
		name        string
	}{
		{"sft", false, SFT, "sft"},
		{"sft", true, RFT, "rft"},
		{"train", false, GRPO, "grpo"},
		{"train", true, GRPO, "grpo"},
	}
	for _, tc := range tests {
		m := ModeOf(tc.kind, tc.fromSamples)
		if m != tc.want || m.String() != tc.name || m.Kind() != tc.kind {
			t.Errorf("ModeOf(%q, %v) = %v (kind %q): want %v (kind %q)", tc.kind, tc.fromSamples, m, m.Kind(), tc.want, tc.kind)
		}
	}
}
